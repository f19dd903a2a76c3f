# AIM, Perception Encoder PE-Core B/16 (timm `vit_pe_core_base_patch16_224.fb`,
# Meta, 2025), at its native 224 px, 8 frames (8x16x1), Kinetics-400, the
# Kinetics recipe (everything but the image model as
# configs/aim_vitb-in21k-augreg_k400.py).
# Not in the paper: no published number, not trained here.
# The image model: a class token, absolute positions and 2-D rotary
# embeddings, a LayerNorm before the blocks (norm_pre), an attention-pool
# head (its output, before PE's projection to the text space, is each
# frame's feature). Rotary embeddings in the spatial attention; the temporal
# attention runs without them (AIM's temporal embedding orders time).
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_pecore-vitb16_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmEva',
                         model_name='vit_pe_core_base_patch16_224.fb'),
        pretrained='checkpoints/timm/'
        'vit_pe_core_base_patch16_224.fb.safetensors'))
