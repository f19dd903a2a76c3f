"""Evaluation: several view protocols from one decode."""
from .protocols import ViewProtocolAccMetric, with_protocols

__all__ = ['ViewProtocolAccMetric', 'with_protocols']
