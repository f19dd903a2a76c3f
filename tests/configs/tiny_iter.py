# tiny_recognizer.py trained by iterations (6) instead of epochs.
_base_ = ['./tiny_recognizer.py']

train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=6,
                 val_interval=3)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=6, by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2))
log_processor = dict(by_epoch=False)
