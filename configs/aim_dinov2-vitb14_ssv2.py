# AIM, DINOv2 ViT-B/14 (timm `vit_base_patch14_dinov2.lvd142m`), at 224 px,
# 8 frames (uniform), Something-Something v2, the SSv2 recipe
# (everything but the image model as configs/aim_vitb-in21k-augreg_ssv2.py).
# Not in the paper: no published number.
# Train: `bash tools/dist_train.sh configs/aim_dinov2-vitb14_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(
            model_name='vit_base_patch14_dinov2.lvd142m',
            # DINOv2's native 518 px, used at 224 (positions resized on load).
            timm_kwargs=dict(img_size=224)),
        pretrained='checkpoints/timm/'
        'vit_base_patch14_dinov2.lvd142m.safetensors'))
