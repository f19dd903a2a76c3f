# AIM, SigLIP 2 So400m/14 (timm `vit_so400m_patch14_siglip_224.v2_webli`,
# Google, 2025), at its native 224 px, 8 frames (uniform),
# Something-Something v2, the SSv2 recipe (as
# configs/aim_siglip2-vitb16_ssv2.py) with the original's ViT-L 0.1 x lr on
# the backbone.
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_siglip2-so400m14_k400.py.
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_siglip2-so400m14_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='vit_so400m_patch14_siglip_224.v2_webli'),
        pretrained='checkpoints/timm/'
        'vit_so400m_patch14_siglip_224.v2_webli.safetensors'),
    cls_head=dict(in_channels=1152))

# As the CLIP ViT-L SSv2 config (configs/aim_vitl_ssv2_32f.py: the
# original's ViT-L setting), for this large image model too: every
# backbone parameter that trains at 0.1 x lr.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

