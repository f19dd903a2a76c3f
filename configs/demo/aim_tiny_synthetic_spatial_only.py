# Demo ablation: spatial adaptation only (S_Adapter after each block's
# attention), no temporal embedding: frames are processed independently and
# averaged by the head, the paper's "space-only" model plus spatial adapters.
# Blind to frame order by construction, so at chance on the time-reversed twins.
_base_ = ['./aim_tiny_synthetic.py']

model = dict(backbone=dict(adapters=('spatial', ), temporal_embedding=False))
