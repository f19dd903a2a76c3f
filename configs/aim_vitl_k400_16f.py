# AIM, CLIP ViT-L/14, 16 frames (16x8x1), Kinetics-400.
# Yang et al., "AIM: Adapting Image Models for Efficient Video Action
# Recognition", ICLR 2023.
# Published top-1 87.3 (3 clips x 1 crop).
# Train: `bash tools/dist_train.sh configs/aim_vitl_k400_16f.py 8`.
_base_ = [
    './_base_/models/aim_vit_l14.py',
    './_base_/datasets/kinetics400_16x8x1.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        num_frames=16,
        with_cp=True,
        pretrained='checkpoints/clip/ViT-L-14.pt'),
    cls_head=dict(num_classes=400))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
