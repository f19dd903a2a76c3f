# AIM, DINOv2 ViT-B/14 (timm `vit_base_patch14_dinov2.lvd142m`), at 224 px,
# 8 frames (8x16x1), Kinetics-400.
# Not in the paper: no published number.
# Train: `bash tools/dist_train.sh configs/aim_dinov2-vitb14_k400.py 8`.
_base_ = [
    './_base_/models/aim_timm_vit_b16.py',
    './_base_/datasets/kinetics400_8x16x1.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        model_name='vit_base_patch14_dinov2.lvd142m',
        # DINOv2's native 518 px, used at 224 (positions resized on load).
        timm_kwargs=dict(img_size=224),
        pretrained='checkpoints/timm/vit_base_patch14_dinov2.lvd142m.safetensors',
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
