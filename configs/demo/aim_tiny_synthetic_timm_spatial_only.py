# Demo ablation on the timm image model: spatial adaptation only, no
# temporal embedding (as aim_tiny_synthetic_spatial_only.py for CLIP): blind
# to frame order by construction, so at chance on the time-reversed twins.
_base_ = ['./aim_tiny_synthetic_timm.py']

model = dict(backbone=dict(adapters=('spatial', ), temporal_embedding=False))
