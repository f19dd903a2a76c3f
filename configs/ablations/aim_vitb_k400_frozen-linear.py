# Ablation: the frozen CLIP image model with only a linear head (no adapters,
# no temporal embedding, ln_post frozen); frames are pooled by the head.
_base_ = ['../aim_vitb_k400.py']

model = dict(
    backbone=dict(
        adapters=(),
        temporal_embedding=False,
        freeze_ln_post=True))
