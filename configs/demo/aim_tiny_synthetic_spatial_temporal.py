# Demo ablation: spatial + temporal adaptation (no joint adapter beside the
# MLP), with the temporal embedding.
_base_ = ['./aim_tiny_synthetic.py']

model = dict(backbone=dict(adapters=('spatial', 'temporal')))
