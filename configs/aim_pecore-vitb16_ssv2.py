# AIM, Perception Encoder PE-Core B/16 (timm `vit_pe_core_base_patch16_224.fb`,
# Meta, 2025), at its native 224 px, 8 frames (uniform),
# Something-Something v2, the SSv2 recipe (everything but the image model as
# configs/aim_vitb-in21k-augreg_ssv2.py).
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_pecore-vitb16_k400.py.
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_pecore-vitb16_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmEva',
                         model_name='vit_pe_core_base_patch16_224.fb'),
        pretrained='checkpoints/timm/'
        'vit_pe_core_base_patch16_224.fb.safetensors'))
