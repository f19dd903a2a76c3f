# AIM, DINOv3 ViT-L/16 (timm `vit_large_patch16_dinov3.lvd1689m`, Meta,
# 2025), at its native 256 px, 8 frames (8x16x1), Kinetics-400: as
# configs/aim_dinov3-vitb16_k400.py (the Kinetics recipe, the pipelines at
# 256) with the original's ViT-L additions (below).
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_dinov3-vitb16_k400.py (width 1024, 24
# blocks); 8 frames of 261 tokens, as many as CLIP ViT-L/14 at 224.
# Licence of the weights (timm: 'dinov3-license'): Meta's DINOv3 License,
# https://ai.meta.com/resources/models-and-libraries/dinov3-license/ : not
# an open-source licence; its terms restrict use. Read them before using
# these weights.
# Train: `bash tools/dist_train.sh configs/aim_dinov3-vitl16_k400.py 8`.
_base_ = ['./aim_dinov3-vitb16_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(model_name='vit_large_patch16_dinov3.lvd1689m'),
        pretrained='checkpoints/timm/'
        'vit_large_patch16_dinov3.lvd1689m.safetensors'),
    cls_head=dict(in_channels=1024))

# As the CLIP ViT-L configs (configs/aim_vitl_k400.py: the original's ViT-L
# setting, its author in original issue #7: "For ViT-L on K400, we use
# ColorJitter and 0.1x backbone lr to alleviate overfitting"), for this
# large image model too: every backbone parameter that trains at 0.1 x lr
# and the original's 0.x ColorJitter (PCA lighting noise, PCALighting).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=8, frame_interval=16,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 292)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PCALighting', alpha_std=0.1),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
