# AIM, ImageNet-21K ViT-B/16 (timm `vit_base_patch16_224.augreg_in21k`),
# 8 frames (8x16x1), Kinetics-400.
# The paper's "ViT-B/16 IN-21K" row. The original loaded timm's
# IN-21K ViT-B/16 and normalised with ImageNet statistics, although that
# model was trained with mean = std = 0.5; here the normalisation comes
# from the image model (mean = std = 127.5 on the 0-255 scale).
# Train: `bash tools/dist_train.sh configs/aim_vitb-in21k_k400.py 8`.
_base_ = [
    './_base_/models/aim_timm_vit_b16.py',
    './_base_/datasets/kinetics400_8x16x1.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        image_model=dict(model_name='vit_base_patch16_224.augreg_in21k'),
        pretrained='checkpoints/timm/'
        'vit_base_patch16_224.augreg_in21k.safetensors',
        num_frames=8,),
    cls_head=dict(num_classes=400))

# timm's names of the embeddings without weight decay (LayerNorms:
# norm_decay_mult of the schedule).
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'cls_token': dict(decay_mult=0.),
            'reg_token': dict(decay_mult=0.),
            'pos_embed': dict(decay_mult=0.),
        }))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
