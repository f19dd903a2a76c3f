# AIM, AIMv2 L/14 (timm `aimv2_large_patch14_224.apple_pt`, Apple, 2024),
# at its native 224 px, 8 frames (8x16x1), Kinetics-400, the Kinetics
# recipe (as configs/aim_vitb-in21k-augreg_k400.py) with the original's
# ViT-L additions (below).
# Not in the paper: no published number, not trained here.
# The image model: width 1024, 24 blocks, RMSNorm (also on the patch
# embedding), SwiGLU MLPs, no biases in the attention, no class token;
# each frame's feature is the average of its patch tokens after the final
# norm.
# Licence of the weights (timm: 'apple-ascl'): the Apple Sample Code
# License, Apple's own terms, not an open-source licence. Read them before
# using these weights.
# Train: `bash tools/dist_train.sh configs/aim_aimv2-vitl14_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='aimv2_large_patch14_224.apple_pt'),
        pretrained='checkpoints/timm/'
        'aimv2_large_patch14_224.apple_pt.safetensors'),
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
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PCALighting', alpha_std=0.1),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
