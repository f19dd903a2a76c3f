# AIM, Swin-B (timm `swin_base_patch4_window7_224.ms_in22k`), 32 frames
# (uniform), Something-Something v2: everything as aim_swinb_k400_32f.py but
# the SSv2 data recipe (configs/_base_/datasets/sthv2_u32.py: no flip,
# RandAugment, random erasing), label smoothing 0.1, 50 epochs and the
# original's drop-path 0.4 for SSv2.
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

# MMEngine applies only the longest custom key a parameter's name
# contains, so the entries below spell out lr_mult for every trained
# backbone part that also takes no weight decay.
optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.1),
            'temporal_position_bias_table': dict(lr_mult=0.1,
                                                 decay_mult=0.),
            'image_model.norm': dict(lr_mult=0.1, decay_mult=0.),
        }))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))
