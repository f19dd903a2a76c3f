# AIM, AIMv2 L/14 (timm `aimv2_large_patch14_224.apple_pt`, Apple, 2024),
# at its native 224 px, 8 frames (uniform), Something-Something v2, the SSv2
# recipe (as configs/aim_vitb-in21k-augreg_ssv2.py) with the original's
# ViT-L 0.1 x lr on the backbone.
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_aimv2-vitl14_k400.py.
# Licence of the weights (timm: 'apple-ascl'): the Apple Sample Code
# License, Apple's own terms, not an open-source licence. Read them before
# using these weights.
# Train: `bash tools/dist_train.sh configs/aim_aimv2-vitl14_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='aimv2_large_patch14_224.apple_pt'),
        pretrained='checkpoints/timm/'
        'aimv2_large_patch14_224.apple_pt.safetensors'),
    cls_head=dict(in_channels=1024))

# As the CLIP ViT-L SSv2 config (configs/aim_vitl_ssv2_32f.py: the
# original's ViT-L setting), for this large image model too: every
# backbone parameter that trains at 0.1 x lr.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

