# Ablation: full fine-tuning of the CLIP image model, no adapters, frames
# pooled by the head (temporal pooling), the paper's full fine-tuning baseline.
_base_ = ['../aim_vitb_k400.py']

model = dict(
    backbone=dict(
        adapters=(),
        temporal_embedding=False,
        freeze_image_model=False))
