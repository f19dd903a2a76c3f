# Ablation: adapters only in the last 6 of the 12 blocks (the first 6 are the
# plain frozen CLIP blocks).
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(adapter_layers=[6, 7, 8, 9, 10, 11]))
