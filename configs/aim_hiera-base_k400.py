# AIM, Hiera-B (timm `hiera_base_224.mae_in1k_ft_in1k`, Meta, 2023), 224 px,
# 8 frames (8x16x1), Kinetics-400, the Kinetics recipe (everything but the
# image model as configs/aim_vitb-in21k-augreg_k400.py).
# Not in the paper: no published number, not trained here.
# The image model is hierarchical: its blocks pool their tokens (2x2 query
# pooling at three stage transitions, the width doubling each time), in
# mask units in its first stages. AIM's attention along time runs in the 21
# blocks that keep their tokens (not in the 3 that pool); the spatial and
# joint adapters are in all 24, at each block's width. Each frame's feature
# is Hiera's own: the average of its last tokens, then the head's norm
# (trained, as the other configs' final norms).
# Licence of the weights (timm: cc-by-nc-4.0): non-commercial use only.
# Train: `bash tools/dist_train.sh configs/aim_hiera-base_k400.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_k400.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmHiera',
                         model_name='hiera_base_224.mae_in1k_ft_in1k'),
        pretrained='checkpoints/timm/'
        'hiera_base_224.mae_in1k_ft_in1k.safetensors'),
    cls_head=dict(in_channels=768))
