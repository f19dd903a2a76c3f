"""Every image-model-family config (timm ViTs, open_clip, Swin) trains one
iteration through tools/train.py, shrunk by --cfg-options alone (tiny
widths, 2 frames -- 4 for Swin's tubelets --, the fixture videos), and its
0-255 normalisation is the image model's."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, data_options, run_tool

FAMILY_CONFIGS = sorted(
    osp.relpath(p, REPO) for pattern in (
        'aim_vitb-in21k_*.py', 'aim_dinov2-*.py', 'aim_siglip-*.py',
        'aim_eva02-*.py', 'aim_vitb-laion2b_*.py', 'aim_swinb_*.py')
    for p in glob.glob(osp.join(REPO, 'configs', pattern)))


def _shrink(path: str, frames: int = 2) -> list:
    cfg = Config.fromfile(osp.join(REPO, path))
    in_channels = 32
    if cfg.model.backbone.type == 'AIMSwin':
        frames = 4  # two tubelets of 2 frames
        opts = ['model.backbone.timm_kwargs.embed_dim=16',
                'model.backbone.timm_kwargs.depths=(2,2)',
                'model.backbone.timm_kwargs.num_heads=(2,4)']
    elif cfg.model.backbone.type == 'AIMTimmViT':
        size = cfg.model.backbone.timm_kwargs.get('img_size', 224)
        opts = ['model.backbone.timm_kwargs.embed_dim=32',
                'model.backbone.timm_kwargs.depth=2',
                'model.backbone.timm_kwargs.num_heads=2',
                f'model.backbone.timm_kwargs.img_size={size}']
    else:  # an open_clip CLIP through AIMViT, with its activation
        opts = ['model.backbone.arch._delete_=True',
                'model.backbone.arch.patch_size=16',
                'model.backbone.arch.width=32',
                'model.backbone.arch.layers=2',
                'model.backbone.arch.heads=2',
                'model.backbone.arch.act=gelu']
    opts += [f'model.backbone.num_frames={frames}',
             'model.backbone.pretrained=None',
             f'model.cls_head.in_channels={in_channels}',
             'model.cls_head.num_classes=3',
             'optim_wrapper.type=OptimWrapper',
             'train_cfg._delete_=True', 'train_cfg.type=IterBasedTrainLoop',
             'train_cfg.max_iters=1', 'train_cfg.val_interval=100',
             'param_scheduler=[]', 'default_hooks.logger.interval=1',
             'default_hooks.checkpoint.interval=1',
             'default_hooks.checkpoint.by_epoch=False',
             'default_hooks.checkpoint.save_best=None']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.pipeline.1.clip_len={frames}',
                 f'{split}_dataloader.batch_size=2',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return opts


@pytest.mark.parametrize('path', FAMILY_CONFIGS)
def test_config_trains_one_iteration(path, video_dataset, tmp_path):
    assert len(FAMILY_CONFIGS) == 12
    work_dir = str(tmp_path / 'work')
    proc = run_tool(['train.py', path, '--work-dir', work_dir,
                     '--cfg-options', *_shrink(path),
                     *data_options(video_dataset)], timeout=600)
    log = proc.stdout + proc.stderr
    assert 'loss_cls:' in log and 'Saving checkpoint at 1 iterations' in \
        log, log[-3000:]
    assert osp.exists(osp.join(work_dir, 'iter_1.pth'))
    if Config.fromfile(osp.join(REPO, path)).model.backbone.type in (
            'AIMTimmViT', 'AIMSwin'):
        assert 'Normalisation from the image model' in log
