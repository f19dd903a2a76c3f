# Ablation: adapter bottleneck ratio 0.5 (AIM uses 0.25): hidden width
# = int(768 * 0.5).
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(adapter_mlp_ratio=0.5))
