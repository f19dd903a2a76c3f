# AIM, SigLIP 2 ViT-B/16 (timm `vit_base_patch16_siglip_224.v2_webli`,
# Google, 2025), at its native 224 px, 8 frames (8x16x1), Kinetics-400, the
# Kinetics recipe (everything but the image model as
# configs/aim_vitb-in21k-augreg_k400.py).
# Not in the paper: no published number, not trained here.
# The image model: SigLIP's ViT (no class token; each frame's feature is
# its attention-pool head's output), SigLIP 2 weights.
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_siglip2-vitb16_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='vit_base_patch16_siglip_224.v2_webli'),
        pretrained='checkpoints/timm/'
        'vit_base_patch16_siglip_224.v2_webli.safetensors'))
