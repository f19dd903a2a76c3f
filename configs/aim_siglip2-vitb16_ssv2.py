# AIM, SigLIP 2 ViT-B/16 (timm `vit_base_patch16_siglip_224.v2_webli`,
# Google, 2025), at its native 224 px, 8 frames (uniform),
# Something-Something v2, the SSv2 recipe (everything but the image model as
# configs/aim_vitb-in21k-augreg_ssv2.py).
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_siglip2-vitb16_k400.py.
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_siglip2-vitb16_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='vit_base_patch16_siglip_224.v2_webli'),
        pretrained='checkpoints/timm/'
        'vit_base_patch16_siglip_224.v2_webli.safetensors'))
