# A tiny AIM recognizer trained on the fixture videos of tests/conftest.py.
# It exercises the whole stack (AIMVideoDataset, DecordInit, SampleFrames,
# DecordDecode, Resize, ..., Runner, checkpoints) in seconds on a CPU.
# `ann_file` / `data_prefix` are overridden by the tests through
# --cfg-options.
_base_ = ['mmaction::_base_/default_runtime.py']

runner_type = 'AIMRunner'
custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

num_frames = 4
model = dict(
    type='AIMRecognizer',
    backbone=dict(
        type='AIMBackbone',
        image_model=dict(type='CLIPViT',
                         arch=dict(patch_size=8, width=32, layers=2, heads=2),
                         input_resolution=32),
        num_frames=num_frames, drop_path_rate=0.1,
        freeze_image_model=True),
    cls_head=dict(
        type='AIMHead', num_classes=3, in_channels=32, dropout_ratio=0.5,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[127.5] * 3, std=[64.] * 3,
        format_shape='NCTHW'))

dataset_type = 'AIMVideoDataset'
data_root = 'data/tiny/videos'
ann_file_train = 'data/tiny/train.txt'
ann_file_val = 'data/tiny/val.txt'

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=2,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=num_frames, frame_interval=2,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 40)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, ann_file=ann_file_train,
                 data_prefix=dict(video=data_root), pipeline=train_pipeline,
                 on_bad_video='error'))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_val,
                 data_prefix=dict(video=data_root), pipeline=val_pipeline,
                 test_mode=True, on_bad_video='error'))
test_dataloader = val_dataloader

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator

train_cfg = dict(type='AIMEpochBasedTrainLoop', max_epochs=2, val_begin=1,
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3,
                                    weight_decay=0.05))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, by_epoch=True,
                        convert_to_iter_based=True)]

default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=-1))
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
