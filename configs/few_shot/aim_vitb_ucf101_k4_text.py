# Few-shot AIM on UCF101 (split 1), 4 clips per class, CLIP ViT-B/16, its
# classifier started from the class names (AIMTextHead); validated as
# initialised first (the zero-shot row). No measured number.
# The list: `python tools/data/draw_few_shot.py
# data/ucf101/ucf101_train_split_1_videos.txt --shots 4 --seed 0 --out-dir data/ucf101/few_shot`.
_base_ = ['./_base_/ucf101.py']

ann_file_train = 'data/ucf101/few_shot/ucf101_train_split_1_videos_k4_seed0.txt'
train_dataloader = dict(dataset=dict(ann_file=ann_file_train))
