# Ablation: num_tadapter=2 on Kinetics-400 (a fourth adapter, T_Adapter_in,
# before the temporal attention; the SSv2 recipe's choice).
_base_ = ['../aim_vitb_k400.py']

model = dict(backbone=dict(num_tadapter=2))
