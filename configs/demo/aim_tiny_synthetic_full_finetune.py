# Demo ablation: full fine-tuning of the image model, no adapters, no
# temporal embedding; temporal pooling is the head's mean over frames (the
# paper's full fine-tuning "space-only" baseline). Lower lr: every weight of
# the pre-trained model moves.
_base_ = ['./aim_tiny_synthetic.py']

model = dict(
    backbone=dict(adapters=(), temporal_embedding=False,
                  freeze_image_model=False))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
