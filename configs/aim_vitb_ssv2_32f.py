# AIM, CLIP ViT-B/16, 32 frames (uniform), Something-Something v2.
# Yang et al., "AIM: Adapting Image Models for Efficient Video Action
# Recognition", ICLR 2023.
# Published top-1 69.1 (1 clip x 3 crops).
# The SSv2 recipe: a fourth adapter before the temporal attention
# (num_tadapter=2), adapter_scale 1.0, label smoothing 0.1, 50 epochs.
_base_ = [
    './_base_/models/aim_vit_b16.py',
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
        pretrained='checkpoints/clip/ViT-B-16.pt'),
    cls_head=dict(num_classes=174,
                  label_smooth_eps=0.1))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
