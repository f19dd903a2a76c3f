# AIM, open_clip ViT-B/16 trained on LAION-2B (exact GELU),
# 8 frames (8x16x1), Kinetics-400.
# Not in the paper: no published number. LAION and DataComp CLIPs use exact
# GELU, which open_clip's plain name 'ViT-B-16' selects (OpenAI's weights
# need QuickGELU: 'ViT-B/16' or 'ViT-B-16-quickgelu'); nothing in the file
# tells them apart. The weights: open_clip's `open_clip_pytorch_model.bin`
# of laion/CLIP-ViT-B-16-laion2B-s34B-b88K, saved under checkpoints/clip/.
# Train: `bash tools/dist_train.sh configs/aim_vitb-laion2b_k400.py 8`.
_base_ = ['./aim_vitb_k400.py']

model = dict(
    backbone=dict(
        # Not a paper row: one drop-path mask per frame.
        drop_path_axis='frame',
        image_model=dict(arch='ViT-B-16'),
        pretrained='checkpoints/clip/ViT-B-16-laion2b_s34b_b88k.bin'))
