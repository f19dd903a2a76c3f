"""A paper config shrunk for a trial on a CPU, consistently.

:func:`shrink_config` is what ``tools/train.py --shrink`` and
``tools/test.py --shrink`` apply, and what the tests use: the same image
model family at a tiny width and depth (the family's own
``tiny_config``), few frames, no pre-trained weights (a head started from
class names becomes AIM's own head), the head's width
taken from the shrunk model, small batches without workers (each its own
optimiser step: no accumulation to the recipe's clips per step), one
epoch.
Everything else (pipelines, augmentation, schedule, evaluation) stays the
config's own, so that a trial runs the paper config's code paths.
"""
from typing import List, Optional

import torch
from mmengine.config import Config


#: What a text head's config keeps when ``--shrink`` makes it AIM's own
#: head (:class:`~mmaction_aim.models.AIMHead`'s arguments).
HEAD_KEYS = ('num_classes', 'in_channels', 'loss_cls', 'dropout_ratio',
             'init_std', 'label_smooth_eps', 'average_clips', 'multi_class',
             'topk')
#: Hooks that evaluate the zero-shot model, meaningless once shrunk.
ZERO_SHOT_HOOKS = ('ZeroShotValHook', 'ZeroShotTestHook')


def _datasets(dataset: dict):
    while 'dataset' in dataset:  # RepeatDataset and other wrappers
        dataset = dataset['dataset']
    for inner in dataset.get('datasets', [dataset]):
        yield inner


def shrink_config(cfg: Config, width: int = 32, depth: int = 2,
                  frames: int = 2, epochs: int = 1,
                  num_classes: Optional[int] = None) -> List[str]:
    """Shrink ``cfg`` in place (see the module docstring).

    Args:
        cfg (Config): An AIM config (``model.backbone.image_model``).
        width (int): The image model's width. Defaults to 32.
        depth (int): Its blocks (per stage). Defaults to 2.
        frames (int): Frames per clip, in the backbone and every frame
            sampler. Defaults to 2.
        epochs (int): Training epochs (epoch-based loops). Defaults to 1.
        num_classes (int, optional): A new class count. Defaults to the
            config's.

    Returns:
        list[str]: What was changed, one ``key=value`` a field.
    """
    from mmaction_aim.models.families import FAMILIES, build_family
    from mmaction_aim.datasets import SAMPLE, role_of
    from .zero_shot import is_text_head
    changed = []

    def put(owner, key, value, name):
        owner[key] = value
        changed.append(f'{name}={value}')

    backbone = cfg.model.backbone
    family = FAMILIES.get(backbone.image_model['type'])
    put(backbone, 'image_model',
        family.tiny_config(dict(backbone.image_model), width, depth),
        'model.backbone.image_model')
    put(backbone, 'num_frames', frames, 'model.backbone.num_frames')
    put(backbone, 'pretrained', None, 'model.backbone.pretrained')
    with torch.device('meta'):
        built = build_family(backbone.image_model, frames)
        out_width = built.facts(built.build()).width
    head = cfg.model.get('cls_head')
    if head is not None and is_text_head(head):
        # The text start is pre-trained weights too, of the full-size
        # image-text model: the tiny model gets AIM's own head.
        head = {k: v for k, v in head.items() if k in HEAD_KEYS}
        put(cfg.model, 'cls_head', dict(head, type='AIMHead'),
            'model.cls_head')
        head = cfg.model.cls_head
        hooks = cfg.get('custom_hooks') or []
        kept = [h for h in hooks if not (
            isinstance(h, dict) and h.get('type') in ZERO_SHOT_HOOKS)]
        if len(kept) != len(hooks):
            put(cfg, 'custom_hooks', kept, 'custom_hooks')
    if head is not None:
        put(head, 'in_channels', out_width, 'model.cls_head.in_channels')
        if num_classes is not None:
            put(head, 'num_classes', num_classes,
                'model.cls_head.num_classes')
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for key, value in (('batch_size', 2), ('num_workers', 0),
                           ('persistent_workers', False)):
            put(loader, key, value, f'{split}_dataloader.{key}')
        for dataset in _datasets(loader['dataset']):
            for i, transform in enumerate(dataset.get('pipeline', [])):
                if role_of(transform) != SAMPLE:
                    continue
                # A sampler of its own (MultiProtocolSampleFrames) or one.
                name = f'{split}_dataloader.dataset.pipeline.{i}'
                if isinstance(transform.get('sampler'), dict):
                    transform, name = transform['sampler'], name + '.sampler'
                put(transform, 'clip_len', frames, f'{name}.clip_len')
    if cfg.get('clips_per_step') is not None:
        # A trial steps on its small batches, without accumulating to the
        # recipe's.
        put(cfg, 'clips_per_step', None, 'clips_per_step')
    train_cfg = cfg.get('train_cfg')
    if train_cfg and 'max_epochs' in train_cfg:
        put(train_cfg, 'max_epochs', epochs, 'train_cfg.max_epochs')
        put(train_cfg, 'val_begin', 1, 'train_cfg.val_begin')
        put(train_cfg, 'val_interval', 1, 'train_cfg.val_interval')
    logger = cfg.get('default_hooks', {}).get('logger')
    if logger is not None:
        put(logger, 'interval', 1, 'default_hooks.logger.interval')
    return changed
