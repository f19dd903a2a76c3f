# AIM with a CLIP ViT-L/14 image model (Yang et al., ICLR 2023).
# Three adapters per block (temporal, spatial, joint), the Kinetics recipe.
# Dataset configs set `num_classes`, `num_frames` and the sampling.
model = dict(
    type='AIMRecognizer',
    backbone=dict(
        type='AIMBackbone',
        # OpenAI's CLIP (QuickGELU); open_clip's names select GELU models.
        image_model=dict(type='CLIPViT', arch='ViT-L/14', input_resolution=224),
        num_frames=8,
        num_tadapter=1,
        adapter_scale=0.5,
        adapter_mlp_ratio=0.25,
        drop_path_rate=0.2,
        # As the original's sequence-first blocks drew it (one mask per token
        # position, shared by the batch); 'frame' is the sensible unit.
        drop_path_axis='original',
        adapters=('temporal', 'spatial', 'joint'),
        adapter_layers=None,
        temporal_embedding=True,
        freeze_image_model=True,
        freeze_ln_post=False,
        pretrained='checkpoints/clip/ViT-L-14.pt',
        with_cp=False,
        # Frozen parts recomputed in the backward pass instead of kept:
        # ~0.4x the memory of full fine-tuning, for ~25% more products per
        # step; () is ~10% faster per step (docs/benchmark.md).
        recompute_frozen=('temporal', 'spatial', 'mlp')),
    cls_head=dict(
        type='AIMHead',
        num_classes=400,
        in_channels=1024,
        dropout_ratio=0.5,
        label_smooth_eps=0.,
        average_clips='prob',
        loss_cls=dict(type='CrossEntropyLoss')),
    # CLIP's normalisation on the 0-255 scale.
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[122.769, 116.74, 104.04],
        std=[68.493, 66.63, 70.321],
        format_shape='NCTHW'),
    test_cfg=dict(max_testing_views=4))

# AIM's runner (MMEngine's runner_type): safe, strict checkpoint loading and
# checks of the data against the model before the first iteration.
runner_type = 'AIMRunner'
