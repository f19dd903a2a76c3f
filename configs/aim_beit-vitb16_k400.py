# AIM, BEiT ViT-B/16 (timm `beit_base_patch16_224.in22k_ft_in22k_in1k`),
# 8 frames (8x16x1), Kinetics-400, the Kinetics recipe
# (everything but the image model as configs/aim_vitb-in21k-augreg_k400.py).
# Not in the paper: no published number. BEiT's relative position bias
# stays in the spatial attention; the temporal attention runs without it.
# Train: `bash tools/dist_train.sh configs/aim_beit-vitb16_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmBeit',
                         model_name='beit_base_patch16_224.'
                         'in22k_ft_in22k_in1k'),
        pretrained='checkpoints/timm/'
        'beit_base_patch16_224.in22k_ft_in22k_in1k.safetensors'))
