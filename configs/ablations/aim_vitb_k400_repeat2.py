# Data path: two training clips per video read (repeated sampling, as
# VideoMAE and MAE-ST train) with SparseInit / SparseDecode, on the paper's
# ViT-B/16 Kinetics-400 recipe. Not a paper setting: each clip is sampled
# as the paper samples one, but a batch holds two clips of each of half as
# many videos.
#
# The same optimisation as aim_vitb_k400.py: 64 clips per step (8 GPUs x 4
# videos x 2 clips) and the same number of steps and clips (15 passes over
# the videos = 30 epochs' clips), so a run costs the same GPU time and
# reads each video half as often. The measured loader gain:
# docs/benchmark.md, "The data path".
_base_ = ['../aim_vitb_k400.py']

repeats = 2
max_epochs = 30 // repeats
warmup_epochs = 2.5 / repeats

train_dataloader = dict(
    batch_size=8 // repeats,
    # (A sample is a list of `repeats` clips: the run's resolution gives the
    # loader MMAction2's repeat_pseudo_collate.)
    # SparseInit / SparseDecode in place of decord's pair: the same frames.
    dataset=dict(type='AIMRepeatedVideoDataset', num_repeats=repeats,
                 decoder='sparse'))

train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.,
         by_epoch=True, begin=0, end=max_epochs),
]
