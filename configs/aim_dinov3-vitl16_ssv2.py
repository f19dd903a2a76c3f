# AIM, DINOv3 ViT-L/16 (timm `vit_large_patch16_dinov3.lvd1689m`, Meta,
# 2025), at its native 256 px, 8 frames (uniform), Something-Something v2:
# as configs/aim_dinov3-vitb16_ssv2.py (the SSv2 recipe, the pipelines at
# 256) with the original's ViT-L 0.1 x lr on the backbone.
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_dinov3-vitb16_k400.py (width 1024, 24
# blocks).
# Licence of the weights (timm: 'dinov3-license'): Meta's DINOv3 License,
# https://ai.meta.com/resources/models-and-libraries/dinov3-license/ : not
# an open-source licence; its terms restrict use. Read them before using
# these weights.
# Train: `bash tools/dist_train.sh configs/aim_dinov3-vitl16_ssv2.py 8`.
_base_ = ['./aim_dinov3-vitb16_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(model_name='vit_large_patch16_dinov3.lvd1689m'),
        pretrained='checkpoints/timm/'
        'vit_large_patch16_dinov3.lvd1689m.safetensors'),
    cls_head=dict(in_channels=1024))

# As the CLIP ViT-L SSv2 config (configs/aim_vitl_ssv2_32f.py: the
# original's ViT-L setting), for this large image model too: every
# backbone parameter that trains at 0.1 x lr.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

