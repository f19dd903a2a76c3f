# Few-shot AIM, CLIP ViT-B/16 (OpenAI), 8 frames, its classifier started from
# the class names (AIMTextHead): what every configs/few_shot/*_text.py shares.
# The dataset bases (ucf101.py, hmdb51.py) add the data, the class count and
# the label map; the children the K-shot list (and, *_random.py, AIM's own
# head from random numbers, the ablation).
# Not in the paper; the schedule is ours, not trained here: AIM's Kinetics
# recipe (AdamW 3e-4, 64 clips per step, warm-up 2.5 epochs, cosine) for 50
# epochs at every K, validated every 10 epochs and, before the first
# (ZeroShotValHook), as initialised: the frozen image-text model's
# zero-shot row, `Epoch(val) [0]` in the log. docs/few_shot.md.
_base_ = [
    '../../_base_/models/aim_vit_b16.py',
    '../../_base_/schedules/adamw_warmup_cosine_30e.py',
    'mmaction::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmaction_aim'], allow_failed_imports=False)

# OpenAI's CLIP release: the image model and, read once when the model is
# initialised, its text tower (then dropped: no text weights in the trained
# checkpoints).
clip_file = 'checkpoints/clip/ViT-B-16.pt'

model = dict(
    backbone=dict(
        # Not a paper row: one drop-path mask per frame.
        drop_path_axis='frame',
        num_frames=8,
        pretrained=clip_file),
    cls_head=dict(
        _delete_=True,
        type='AIMTextHead',
        num_classes=None,  # the dataset base's
        in_channels=768,
        # open_clip's name of OpenAI's CLIP ViT-B/16 (QuickGELU, as the
        # backbone's 'ViT-B/16'); its projection (visual.proj, 768 -> 512)
        # and logit scale come from clip_file.
        text_model='ViT-B-16-quickgelu',
        text_weights=clip_file,
        class_names=None,  # the dataset base's label map
        # Prompts: the head's default templates
        # (mmaction_aim.models.text.KINETICS_TEMPLATES); give
        # templates=[...] (each with one {}) to change them.
        dropout_ratio=0.,
        label_smooth_eps=0.,
        average_clips='prob',
        loss_cls=dict(type='CrossEntropyLoss')))

# 50 epochs whatever K; validation every 10 epochs (and at epoch 0).
max_epochs = 50
train_cfg = dict(
    type='AIMEpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=10)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
         end=2.5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.,
         by_epoch=True, begin=0, end=max_epochs),
]

# Seeded, so that a text run and its random-head ablation draw the same
# clips and augmentations.
randomness = dict(seed=0)

# The zero-shot row first: validate the model as initialised before
# training.
custom_hooks = [dict(type='ZeroShotValHook')]

default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=2, save_best='auto'),
    logger=dict(interval=20))
