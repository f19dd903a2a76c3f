# AIM, SigLIP 2 So400m/14 (timm `vit_so400m_patch14_siglip_224.v2_webli`,
# Google, 2025), at its native 224 px, 8 frames (8x16x1), Kinetics-400, the
# Kinetics recipe (as configs/aim_siglip2-vitb16_k400.py) with the
# original's ViT-L additions (below).
# Not in the paper: no published number, not trained here.
# The image model: SigLIP's shape-optimised ViT (width 1152, 27 blocks,
# MLP 4304), no class token; each frame's feature is its attention-pool
# head's output.
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_siglip2-so400m14_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='vit_so400m_patch14_siglip_224.v2_webli'),
        pretrained='checkpoints/timm/'
        'vit_so400m_patch14_siglip_224.v2_webli.safetensors'),
    cls_head=dict(in_channels=1152))

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
