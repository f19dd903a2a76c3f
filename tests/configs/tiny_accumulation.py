# The tiny recognizer for checking the recipe's batch per optimiser step
# (clips_per_step) across process counts: deterministic (no random
# augmentation, no dropout or drop-path, fixed order), float32, and plain
# SGD, whose update is proportional to the gradient (AdamW's first steps
# are not: a wrongly scaled gradient would give the same update).
_base_ = ['./tiny_recognizer.py']

clips_per_step = 4
model = dict(backbone=dict(drop_path_rate=0.),
             cls_head=dict(dropout_ratio=0.))
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len={{_base_.num_frames}},
         frame_interval=2, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_epochs=1, val_begin=2)
optim_wrapper = dict(_delete_=True,
                     optimizer=dict(type='SGD', lr=0.5, momentum=0.9))
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=1, save_last=True))
