# AIM, ImageNet-21K ViT-B/16, 8 frames, Something-Something v2 (uniform): the paper's
# "ViT-B/16 IN-21K" row as the original trained it
# (vit_imagenet_ssv2.py of taoyang1122/adapt-image-models):
# * its image model: timm's 2020 `vit_base_patch16_224` file
#   `jx_vit_base_p16_224-80ecf9dd.pth`, IN-21K pre-trained then IN-1K
#   fine-tuned (timm today: `vit_base_patch16_224.orig_in21k_ft_in1k`);
# * ImageNet mean/std normalisation, although that model was trained with
#   mean = std = 0.5 (kept so that the paper's number is reachable);
# * drop-path as its ViT_ImageNet drew it (drop_path_axis='original'): its
#   blocks run batch-first, [B*T, N, D], so one mask per frame, the unit
#   of the sibling below too (unlike its CLIP ViT's per token position).
# configs/aim_vitb-in21k-augreg_ssv2.py does the sensible thing on the
# first two.
# Train: `bash tools/dist_train.sh configs/aim_vitb-in21k_ssv2.py 8`.
_base_ = ['./aim_vitb-in21k-augreg_ssv2.py']

model = dict(
    backbone=dict(
        image_model=dict(model_name='vit_base_patch16_224.orig_in21k_ft_in1k'),
        # timm's copy of jx_vit_base_p16_224-80ecf9dd.pth (which loads too).
        pretrained='checkpoints/timm/'
        'vit_base_patch16_224.orig_in21k_ft_in1k.safetensors',
        drop_path_axis='original'),
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375]))
