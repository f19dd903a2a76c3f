# AIM with a timm ViT-B/16 image model (family TimmViT): the ImageNet-21K ViT of
# the paper's "ViT-B/16 IN-21K" row by default. Other timm models change
# `image_model` (and `pretrained`). Three adapters per block
# (temporal, spatial, joint), the Kinetics recipe. Dataset configs set
# `num_classes`, `num_frames` and the sampling.
model = dict(
    type='AIMRecognizer',
    backbone=dict(
        type='AIMBackbone',
        # A timm ViT by name (and timm.create_model's arguments).
        image_model=dict(
            type='TimmViT',
            model_name='vit_base_patch16_224.augreg_in21k',
            timm_kwargs=dict()),
        num_frames=8,
        num_tadapter=1,
        adapter_scale=0.5,
        adapter_mlp_ratio=0.25,
        drop_path_rate=0.2,
        # One drop-path mask per frame: also what 'original' draws for
        # TimmViT (the original's ViT_ImageNet ran batch-first), which the
        # paper's IN-21K configs set.
        drop_path_axis='frame',
        adapters=('temporal', 'spatial', 'joint'),
        adapter_layers=None,
        temporal_embedding=True,
        freeze_image_model=True,
        freeze_ln_post=False,
        pretrained='checkpoints/timm/'
        'vit_base_patch16_224.augreg_in21k.safetensors',
        with_cp=False,
        recompute_frozen=('temporal', 'spatial', 'mlp')),
    cls_head=dict(
        type='AIMHead',
        num_classes=400,
        in_channels=768,
        dropout_ratio=0.5,
        label_smooth_eps=0.,
        average_clips='prob',
        loss_cls=dict(type='CrossEntropyLoss')),
    # The image model's own normalisation (timm's pretrained config of
    # `model_name`, on the 0-255 scale); numbers here override it.
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean='image_model',
        std='image_model',
        format_shape='NCTHW'),
    test_cfg=dict(max_testing_views=4))


# AIM's runner (MMEngine's runner_type): safe, strict checkpoint loading and
# checks of the data against the model before the first iteration.
runner_type = 'AIMRunner'
