# AIM, EVA-02 ViT-B/16 (timm `eva02_base_patch16_clip_224.merged2b`),
# 8 frames (8x16x1), Kinetics-400.
# Not in the paper: no published number. Rotary embeddings in the
# spatial attention; the temporal attention runs without them.
# Train: `bash tools/dist_train.sh configs/aim_eva02-vitb16_k400.py 8`.
_base_ = [
    './_base_/models/aim_timm_vit_b16.py',
    './_base_/datasets/kinetics400_8x16x1.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        model_name='eva02_base_patch16_clip_224.merged2b',
        pretrained='checkpoints/timm/eva02_base_patch16_clip_224.merged2b.safetensors',
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
