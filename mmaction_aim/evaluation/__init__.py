"""Evaluation: several view protocols from one decode."""
from ..utils.views import protocol_arg
from .protocols import ViewProtocolAccMetric, with_protocols

__all__ = ['ViewProtocolAccMetric', 'protocol_arg', 'with_protocols']
