# Same data and schedule as tiny_recognizer.py, another architecture
# (MMAction2's own VideoMAE-style ViT): its checkpoints must not load into
# the AIM model.
_base_ = ['./tiny_recognizer.py']

model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(
        type='VisionTransformer', img_size=32, patch_size=8, embed_dims=32,
        depth=2, num_heads=2, mlp_ratio=2, num_frames=4, tubelet_size=2,
        use_mean_pooling=True),
    cls_head=dict(type='TimeSformerHead', num_classes=3, in_channels=32,
                  average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor', mean=[127.5] * 3, std=[64.] * 3,
        format_shape='NCTHW'))
