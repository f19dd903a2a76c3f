# AIM, DINOv3 ViT-B/16 (timm `vit_base_patch16_dinov3.lvd1689m`, Meta,
# 2025), at its native 256 px (timm's pretrained input size), 8 frames
# (8x16x1), Kinetics-400, the Kinetics recipe (everything but the image
# model and the frame size as configs/aim_vitb-in21k-augreg_k400.py; the
# pipelines keep the recipe's proportions: short side 292 = 256 x 8/7
# before cropping, 256 for the test crops).
# Not in the paper: no published number, not trained here.
# The image model: a class token, 4 register tokens, 2-D rotary embeddings
# and no absolute positions (any frame size), layer scale. Each frame's
# feature is its class token (global_pool='token', as upstream DINOv3;
# timm's default averages the patch tokens). Rotary embeddings in the
# spatial attention; the temporal attention runs without them.
# Licence of the weights (timm: 'dinov3-license'): Meta's DINOv3 License,
# https://ai.meta.com/resources/models-and-libraries/dinov3-license/ : not
# an open-source licence; its terms restrict use. Read them before using
# these weights.
# Train: `bash tools/dist_train.sh configs/aim_dinov3-vitb16_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmEva',
                         model_name='vit_base_patch16_dinov3.lvd1689m',
                         timm_kwargs=dict(img_size=256,
                                          global_pool='token')),
        pretrained='checkpoints/timm/'
        'vit_base_patch16_dinov3.lvd1689m.safetensors'))

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
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='CentredSampleFrames', clip_len=8, frame_interval=16,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 292)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='CentredSampleFrames', clip_len=8, frame_interval=16,
         num_clips=3, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
