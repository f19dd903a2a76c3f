# AIM, CLIP ViT-B/16, 8 frames (uniform), fine-tuned on HMDB51 (split 1)
# from the Kinetics-400 AIM model of configs/aim_vitb_k400.py.
# Yang et al., "AIM: Adapting Image Models for Efficient Video Action
# Recognition", ICLR 2023.
# No published number in our reference; the schedule is ours: the
# Kinetics recipe (AdamW 3e-4, 30 epochs).
_base_ = [
    './_base_/models/aim_vit_b16.py',
    './_base_/datasets/hmdb51_u8.py',
    './_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        # Not a paper row: one drop-path mask per frame.
        drop_path_axis='frame',
        num_frames=8,
        pretrained=None),
    cls_head=dict(num_classes=51))

default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'),
    logger=dict(interval=100))

# The whole recognizer starts from a Kinetics-400 AIM checkpoint (the image
# model, adapters and temporal embedding; the 400-way head is skipped for
# its shape and re-initialised). No CLIP file is needed.
load_from = 'checkpoints/aim/aim_vitb_k400.pth'
# The new head's weights are not in that file: exempt them from the check
# that the checkpoint fits the model (tools/train.py).
checkpoint_ignore_keys = ['^cls_head\\.']
