# Few-shot HMDB51 (split 1): 51 classes named by the label map of
# tools/data/build_video_lists.py; K-shot training lists drawn by
# tools/data/draw_few_shot.py into data/hmdb51/few_shot/ (the children name
# them); validated and tested on the whole split-1 test list.
_base_ = [
    './aim_vitb_text.py',
    '../../_base_/datasets/hmdb51_u8.py',
]

model = dict(
    cls_head=dict(num_classes=51,
                  class_names='data/hmdb51/label_map_hmdb51.txt'))

# The ablation's head (the *_random.py children): AIM's own (a linear
# classifier on the class token, dropout 0.5, as configs/_base_/models/
# aim_vit_b16.py), from random numbers.
random_head = dict(
    _delete_=True, type='AIMHead', num_classes=51, in_channels=768,
    dropout_ratio=0.5, label_smooth_eps=0., average_clips='prob',
    loss_cls=dict(type='CrossEntropyLoss'))
