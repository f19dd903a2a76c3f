# AIM, SigLIP ViT-B/16 (timm `vit_base_patch16_siglip_224.webli`),
# 8 frames (uniform), Something-Something v2, the SSv2 recipe
# (everything but the image model as configs/aim_vitb-in21k-augreg_ssv2.py).
# Not in the paper: no published number. SigLIP has no class token:
# each frame's feature is its attention-pool head's output.
# Train: `bash tools/dist_train.sh configs/aim_siglip-vitb16_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(model_name='vit_base_patch16_siglip_224.webli'),
        pretrained='checkpoints/timm/'
        'vit_base_patch16_siglip_224.webli.safetensors'))
