# AIM, EVA-02 ViT-B/16 (timm `eva02_base_patch16_clip_224.merged2b`),
# 8 frames (uniform), Something-Something v2, the SSv2 recipe
# (everything but the image model as configs/aim_vitb-in21k-augreg_ssv2.py).
# Not in the paper: no published number. Rotary embeddings in the
# spatial attention; the temporal attention runs without them.
# Train: `bash tools/dist_train.sh configs/aim_eva02-vitb16_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmEva',
                         model_name='eva02_base_patch16_clip_224.merged2b'),
        pretrained='checkpoints/timm/'
        'eva02_base_patch16_clip_224.merged2b.safetensors'))
