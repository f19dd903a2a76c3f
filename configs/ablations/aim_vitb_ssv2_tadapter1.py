# Ablation: num_tadapter=1 on Something-Something v2 (AIM's SSv2 recipe uses
# 2).
_base_ = ['../aim_vitb_ssv2.py']

model = dict(backbone=dict(num_tadapter=1))
