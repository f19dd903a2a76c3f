# AIM, CLIP ViT-L/14, 32 frames (uniform), Something-Something v2.
# Yang et al., "AIM: Adapting Image Models for Efficient Video Action
# Recognition", ICLR 2023.
# Published top-1 about 70.6 (1 clip x 3 crops).
# The SSv2 recipe: a fourth adapter before the temporal attention
# (num_tadapter=2), adapter_scale 1.0, label smoothing 0.1, 50 epochs.
_base_ = [
    './_base_/models/aim_vit_l14.py',
    './_base_/datasets/sthv2_u32.py',
    './_base_/schedules/adamw_warmup_cosine_50e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        num_frames=32,
        num_tadapter=2,
        adapter_scale=1.0,
        with_cp=True,
        pretrained='checkpoints/clip/ViT-L-14.pt'),
    cls_head=dict(num_classes=174,
                  label_smooth_eps=0.1))

# As the original's ViT-L SSv2 config (not in the paper; the same setting
# its author gives for ViT-L on K400 in original issue #7, "0.1x backbone lr
# to alleviate overfitting"): every backbone parameter that trains
# (adapters, temporal embedding, ln_post) at 0.1 x lr; ln_post, matched by
# 'backbone' (MMEngine applies the longest matching key alone), keeps weight
# decay 0.05, as in the original.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
