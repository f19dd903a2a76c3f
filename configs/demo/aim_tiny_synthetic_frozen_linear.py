# Demo ablation: the frozen image model with a linear head only (no adapters,
# no temporal embedding, ln_post frozen); the head averages the frames.
_base_ = ['./aim_tiny_synthetic.py']

model = dict(
    backbone=dict(adapters=(), temporal_embedding=False, freeze_ln_post=True))
