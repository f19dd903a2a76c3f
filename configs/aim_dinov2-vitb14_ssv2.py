# AIM, DINOv2 ViT-B/14 (timm `vit_base_patch14_dinov2.lvd142m`), at 224 px,
# 8 frames (uniform), Something-Something v2.
# Not in the paper: no published number.
# The SSv2 recipe: a fourth adapter before the temporal attention
# (num_tadapter=2), adapter_scale 1.0, label smoothing 0.1, 50 epochs.
# Train: `bash tools/dist_train.sh configs/aim_dinov2-vitb14_ssv2.py 8`.
_base_ = [
    './_base_/models/aim_timm_vit_b16.py',
    './_base_/datasets/sthv2_u8.py',
    './_base_/schedules/adamw_warmup_cosine_50e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        model_name='vit_base_patch14_dinov2.lvd142m',
        # DINOv2's native 518 px, used at 224 (positions resized on load).
        timm_kwargs=dict(img_size=224),
        pretrained='checkpoints/timm/vit_base_patch14_dinov2.lvd142m.safetensors',
        num_frames=8,
        num_tadapter=2,
        adapter_scale=1.0),
    cls_head=dict(num_classes=174,
                  label_smooth_eps=0.1))

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
