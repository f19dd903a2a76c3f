# Ablation: spatial + temporal adaptation (no joint MLP adapter).
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(adapters=('temporal', 'spatial')))
