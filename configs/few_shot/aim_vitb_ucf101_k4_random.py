# The ablation of aim_vitb_ucf101_k4_text.py: AIM's own head from random
# numbers (the dataset base's random_head); everything else the same. No
# zero-shot row (the random head's is chance). No measured number.
_base_ = ['./aim_vitb_ucf101_k4_text.py']

model = dict(cls_head={{_base_.random_head}})
custom_hooks = []
