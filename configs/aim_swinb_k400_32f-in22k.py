# AIM, Swin-B (timm `swin_base_patch4_window7_224.ms_in22k`), 32 frames
# (32x2x1), Kinetics-400: the other reading of
# configs/aim_swinb_k400_32f.py's image model. The original loads a Swin-B
# file given at launch that no config or README names; its configs are
# named `_1k`, Video Swin's name for ImageNet-1K pre-training, which the
# paper config follows. This sibling takes Microsoft's ImageNet-22K Swin-B
# (`swin_base_patch4_window7_224_22k.pth`, not fine-tuned on 1K; timm's
# `.ms_in22k`; its 21,841-class head is not loaded), in case the paper's
# row used it. Everything else is the paper config's; the normalisation,
# from the image model, is the same ImageNet mean/std. No published number
# is quoted for either reading (the original README has no Swin row).
# Train: `bash tools/dist_train.sh configs/aim_swinb_k400_32f-in22k.py 8`.
_base_ = ['./aim_swinb_k400_32f.py']

model = dict(
    backbone=dict(
        image_model=dict(model_name='swin_base_patch4_window7_224.ms_in22k'),
        pretrained='checkpoints/timm/'
        'swin_base_patch4_window7_224.ms_in22k.safetensors'))
