# AIM, InternViT-300M (timm `vit_intern300m_patch14_448.ogvl_2pt5`,
# OpenGVLab's InternViT-300M-448px-V2.5, 2024), at its native 448 px,
# 8 frames (uniform), Something-Something v2, the SSv2 recipe (as
# configs/aim_vitb-in21k-augreg_ssv2.py) with the original's ViT-L 0.1 x lr
# on the backbone; the pipelines keep the recipe's proportions at 448:
# short side 512 = 448 x 8/7 before cropping, 448 for the test crops.
# Not in the paper: no published number, not trained here.
# The image model, its size and activation checkpointing: see
# configs/aim_internvit-300m14_k400.py.
# Licence of the weights: Apache-2.0 in timm's pretrained config (MIT on
# OpenGVLab's own model card); both permissive.
# Train: `bash tools/dist_train.sh configs/aim_internvit-300m14_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(type='TimmViT',
                         model_name='vit_intern300m_patch14_448.ogvl_2pt5'),
        pretrained='checkpoints/timm/'
        'vit_intern300m_patch14_448.ogvl_2pt5.safetensors',
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
    dict(type='Resize', scale=(-1, 512)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(448, 448), keep_ratio=False),
    dict(type='ImgaugRandAugment', n=4, m=7),
    dict(type='ClipRandomErasing', erase_prob=0.25, fill='mean'),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 512)),
    dict(type='CenterCrop', crop_size=448),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 448)),
    dict(type='ThreeCrop', crop_size=448),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
