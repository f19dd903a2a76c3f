# AIM, Perception Encoder PE-Core L/14
# (timm `vit_pe_core_large_patch14_336.fb`, Meta, 2025), at its native
# 336 px, 8 frames (uniform), Something-Something v2, the SSv2 recipe (as
# configs/aim_pecore-vitb16_ssv2.py) with the original's ViT-L 0.1 x lr on
# the backbone; the pipelines keep the recipe's proportions at 336: short
# side 384 = 336 x 8/7 before cropping, 336 for the test crops.
# Not in the paper: no published number, not trained here.
# The image model: see configs/aim_pecore-vitb16_k400.py; activation
# checkpointing as configs/aim_pecore-vitl14_k400.py.
# Licence of the weights (timm): Apache-2.0.
# Train: `bash tools/dist_train.sh configs/aim_pecore-vitl14_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmEva',
                         model_name='vit_pe_core_large_patch14_336.fb'),
        pretrained='checkpoints/timm/'
        'vit_pe_core_large_patch14_336.fb.safetensors',
        with_cp=True),
    cls_head=dict(in_channels=1024))

# As the CLIP ViT-L SSv2 config (configs/aim_vitl_ssv2_32f.py: the
# original's ViT-L setting), for this large image model too: every
# backbone parameter that trains at 0.1 x lr.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='UniformSample', clip_len=8, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 384)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(336, 336), keep_ratio=False),
    dict(type='ImgaugRandAugment', n=4, m=7),
    dict(type='ClipRandomErasing', erase_prob=0.25, fill='mean'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 384)),
    dict(type='CenterCrop', crop_size=336),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 336)),
    dict(type='ThreeCrop', crop_size=336),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
