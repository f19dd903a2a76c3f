# Few-shot AIM on HMDB51 (split 1), 2 clips per class, CLIP ViT-B/16, its
# classifier started from the class names (AIMTextHead); validated as
# initialised first (the zero-shot row). No measured number.
# The list: `python tools/data/draw_few_shot.py
# data/hmdb51/hmdb51_train_split_1_videos.txt --shots 2 --seed 0 --out-dir data/hmdb51/few_shot`.
_base_ = ['./_base_/hmdb51.py']

ann_file_train = 'data/hmdb51/few_shot/hmdb51_train_split_1_videos_k2_seed0.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
