# Ablation: adapters only in the last 3 of the 12 blocks.
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(adapter_layers=[9, 10, 11]))
