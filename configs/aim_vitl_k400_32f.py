# AIM, CLIP ViT-L/14, 32 frames (32x4x1), Kinetics-400.
# Yang et al., "AIM: Adapting Image Models for Efficient Video Action
# Recognition", ICLR 2023.
# Published top-1 87.5 (3 clips x 1 crop).
# Train: `bash tools/dist_train.sh configs/aim_vitl_k400_32f.py 8`.
_base_ = [
    './_base_/models/aim_vit_l14.py',
    './_base_/datasets/kinetics400_32x4x1.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        num_frames=32,
        with_cp=True,
        pretrained='checkpoints/clip/ViT-L-14.pt'),
    cls_head=dict(num_classes=400))

# As the original's ViT-L configs (not in the paper; its author in original
# issue #7: "For ViT-L on K400, we use ColorJitter and 0.1x backbone lr to
# alleviate overfitting"): every backbone parameter that trains (adapters,
# temporal embedding, ln_post) at 0.1 x lr. MMEngine applies the longest
# matching key alone, so ln_post, matched by 'backbone', keeps weight decay
# 0.05, as in the original.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

# The original's ViT-L Kinetics augmentation: its 0.x ColorJitter() after
# the flip, which with its defaults is PCA lighting noise only.
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=32, frame_interval=4,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PCALighting', alpha_std=0.1),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
