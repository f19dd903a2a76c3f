# AIM, CLIP ViT-B/16, 32 frames (32x4x1), Kinetics-700.
# Yang et al., "AIM: Adapting Image Models for Efficient Video Action
# Recognition", ICLR 2023.
# Published top-1 76.9 (3 clips x 3 crops, ThreeCrop, as the original
# README's 32x3x3).
_base_ = [
    './_base_/models/aim_vit_b16.py',
    './_base_/datasets/kinetics700_32x4x1.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        num_frames=32,
        pretrained='checkpoints/clip/ViT-B-16.pt'),
    cls_head=dict(num_classes=700))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
