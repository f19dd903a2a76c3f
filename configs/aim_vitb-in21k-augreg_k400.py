# AIM, ImageNet-21K ViT-B/16 (timm `vit_base_patch16_224.augreg_in21k`),
# 8 frames (8x16x1), Kinetics-400.
# The sensible sibling of the paper's "ViT-B/16 IN-21K" row
# (configs/aim_vitb-in21k_k400.py, which does what the original did): the
# IN-21K-only AugReg weights, normalised as that model was trained (mean =
# std = 127.5 on the 0-255 scale, from the image model). Drop-path: one mask
# per frame (drop_path_axis='frame'), which is also the original's unit for
# this family (its ViT_ImageNet runs batch-first).
# Train: `bash tools/dist_train.sh configs/aim_vitb-in21k-augreg_k400.py 8`.
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
