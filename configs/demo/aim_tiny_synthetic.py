# The embedded demo: AIM on a tiny CLIP-architecture ViT that this repo
# pre-trains on still images of shapes (checkpoints/demo/), adapted to the
# synthetic "what moves, and which way in time" videos
# (tools/demo/make_synthetic_videos.py). Trains on a CPU in about a minute.
# Full AIM: temporal, spatial and joint adaptation plus a temporal embedding.
# `bash tools/run_demo.sh` trains this and the other rows of the ablation.
_base_ = ['mmaction::_base_/default_runtime.py']

# The demo's own code (its metric on time-reversed twins) lives in
# projects/synthetic_demo, outside the library.
runner_type = 'AIMRunner'
custom_imports = dict(imports=['mmaction_aim', 'projects.synthetic_demo'],
                      allow_failed_imports=False)

# ---- data: MMAction2 VideoDataset list files, `relative/path.mp4 label` ----
# MMAction2's VideoDataset that names a missing or undecodable video (bring
# your own videos: docs/demo.md).
dataset_type = 'AIMVideoDataset'
data_root = 'data/demo_synthetic'
ann_file_train = 'data/demo_synthetic/train.txt'
ann_file_val = 'data/demo_synthetic/val.txt'
ann_file_test = 'data/demo_synthetic/test.txt'
num_classes = 14
# Label pairs whose videos are each other's time reversal (see
# projects.synthetic_demo.synthetic.twin_pairs); only used by the twin
# metric.
twin_pairs = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
num_frames = 8
frame_interval = 1
input_size = 32

# ---- the image model: a CLIP ViT (patch 8, width 64, 4 layers, 4 heads) ----
pretrained = '{{ fileDirname }}/../../checkpoints/demo/clip_vit_tiny_shapes.pth'

model = dict(
    type='AIMRecognizer',
    backbone=dict(
        type='AIMBackbone',
        image_model=dict(
            type='CLIPViT',
            arch=dict(patch_size=8, width=64, layers=4, heads=4),
            input_resolution=input_size),
        num_frames=num_frames,
        num_tadapter=1,
        adapter_scale=0.5,
        adapter_mlp_ratio=0.25,
        drop_path_rate=0.,
        adapters=('temporal', 'spatial', 'joint'),
        temporal_embedding=True,
        freeze_image_model=True,
        freeze_ln_post=False,
        # Nothing recomputed in the backward pass: recomputation trades
        # time for memory, and this model's activations are a few MB (a
        # step is about a fifth faster without it).
        recompute_frozen=(),
        pretrained=pretrained),
    cls_head=dict(
        type='AIMHead',
        num_classes=num_classes,
        in_channels=64,
        dropout_ratio=0.,
        average_clips='prob',
        loss_cls=dict(type='CrossEntropyLoss')),
    # CLIP's normalisation, also used to pre-train the image model.
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[122.769, 116.74, 104.04],
        std=[68.493, 66.63, 70.321],
        format_shape='NCTHW'))

# No flip: it would turn "moves right" into "moves left". No spatial
# augmentation: the clips are 32x32 and the schedule short.
# The training videos are decoded once, with decord, at start-up
# (`preload=True` below, 8 MB) and read by ArrayDecode: 30 epochs would
# otherwise decode every video 30 times, a fifth of the training time here.
# For a dataset too large for memory: preload=False and
# `dict(type='DecordInit')` first, `dict(type='DecordDecode')` in place of
# ArrayDecode, as in test_pipeline.
train_pipeline = [
    dict(type='SampleFrames', clip_len=num_frames,
         frame_interval=frame_interval, num_clips=1),
    dict(type='ArrayDecode'),
    dict(type='Resize', scale=(-1, input_size)),
    dict(type='CenterCrop', crop_size=input_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=num_frames,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, input_size)),
    dict(type='CenterCrop', crop_size=input_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        preload=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline,
        test_mode=True))

val_evaluator = [
    dict(type='AccMetric', metric_options=dict(top_k_accuracy=dict(topk=(1, )))),
    dict(type='TwinPairAccuracy', twin_pairs=twin_pairs),
]
test_evaluator = val_evaluator

# ---- schedule: AdamW, warm-up then cosine; weight decay off for norms and
# embeddings (the AIM recipe), lr raised for a tiny model and few steps ----
max_epochs = 30
base_lr = 1e-2
train_cfg = dict(type='AIMEpochBasedTrainLoop', max_epochs=max_epochs,
                 val_begin=1, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    constructor='AIMOptimWrapperConstructor',  # quiet about frozen params
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'class_embedding': dict(decay_mult=0.),
            'positional_embedding': dict(decay_mult=0.),
            'temporal_embedding': dict(decay_mult=0.),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=0.,
         by_epoch=True, begin=2, end=max_epochs, convert_to_iter_based=True),
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs,
                    save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
