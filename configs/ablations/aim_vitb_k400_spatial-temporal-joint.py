# Ablation: spatial + temporal + joint adaptation, i.e. AIM itself; the last
# row of the component ablation, spelled out.
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(adapters=('temporal', 'spatial', 'joint')))
