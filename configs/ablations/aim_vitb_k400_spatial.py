# Ablation: spatial adaptation only (S_Adapter after the spatial attention).
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(adapters=('spatial', )))
