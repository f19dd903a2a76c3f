# AIM, Swin-B (timm `swin_base_patch4_window7_224.ms_in1k`), 32 frames
# (uniform), Something-Something v2, the original's recipe
# (swin2d_adapter_patch244_window7_sthv2_1k.py): the SSv2 data recipe
# (configs/_base_/datasets/sthv2_u32.py: imgaug's RandAugment, random
# erasing with the mean colour), label smoothing 0.1, drop-path 0.4, AdamW
# lr 3e-4 with lr_mult 0.1 on the backbone (adapters 3e-5, head 3e-4), 60
# epochs, tested on 1 clip x 3 crops.
# Train: `bash tools/dist_train.sh configs/aim_swinb_ssv2_32f.py 8`.
_base_ = [
    './_base_/models/aim_swin_b.py',
    './_base_/datasets/sthv2_u32.py',
    './_base_/schedules/adamw_warmup_cosine_50e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(num_frames=32, drop_path_rate=0.4),
    cls_head=dict(num_classes=174, label_smooth_eps=0.1))

max_epochs = 60
warmup_epochs = 2.5
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    optimizer=dict(lr=3e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
# The schedule of configs/_base_/schedules/ over 60 epochs.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.,
         by_epoch=True, begin=0, end=max_epochs),
]

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
