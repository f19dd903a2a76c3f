"""A resolved run's recipe, field by field, in the words of
``docs/reproduction.md``: what ``tools/print_config.py --recipe`` prints, so
that a run can be compared with the paper's row before it starts.

The optimiser's groups and what trains are read from the model built on
the meta device (nothing allocated), through the config's own optimiser
constructor; everything else from the resolved config.
"""
import copy
import logging
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config

from .resolve import clips_per_iteration

Row = Tuple[str, str]


def _kind(name: str) -> str:
    """What a trained parameter is, for grouping: adapters, the temporal
    embedding, the output norm, the head, or its own name."""
    if 'adapter' in name:
        return 'adapters'
    for part in ('temporal_embedding', 'cls_head', 'ln_post', 'norm.'):
        if part in name:
            return part.rstrip('.')
    return name.rsplit('.', 2)[0]


def _groups(cfg: Config) -> Tuple[List[Row], int, int]:
    """Rows of the optimiser's groups (lr, weight decay, what), and the
    trained and total parameter counts, from the model on meta."""
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # the constructor's line per parameter
    try:
        with torch.device('meta'):
            model = MODELS.build(copy.deepcopy(cfg.model))
        optim = copy.deepcopy(cfg.optim_wrapper)
        optim.type = 'OptimWrapper'  # the groups do not depend on precision
        optim.pop('accumulative_counts', None)
        wrapper = build_optim_wrapper(model, optim)
    finally:
        logger.setLevel(level)
    names = {id(p): n for n, p in model.named_parameters()}
    groups: Dict[Tuple[float, float], Dict[str, int]] = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            if not param.requires_grad:
                continue
            kinds = groups.setdefault(
                (group['lr'], group.get('weight_decay', 0.)), {})
            kind = _kind(names[id(param)])
            kinds[kind] = kinds.get(kind, 0) + param.numel()
    rows = [(f'lr {lr:g}, weight decay {wd:g}',
             ', '.join(f'{kind} ({n:,})' for kind, n in sorted(kinds.items())))
            for (lr, wd), kinds in sorted(groups.items(), reverse=True)]
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return rows, trained, total


def _schedule(cfg: Config) -> str:
    parts = []
    for s in cfg.get('param_scheduler') or []:
        unit = 'epochs' if s.get('by_epoch', True) else 'iterations'
        span = f'{s.get("begin", 0):g}-{s.get("end", "end")} {unit}'
        if s.get('convert_to_iter_based'):
            span += ' (stepped by iteration)'
        detail = ', '.join(f'{k} {v:g}' for k, v in s.items()
                           if k in ('start_factor', 'end_factor', 'T_max',
                                    'eta_min', 'gamma')
                           and isinstance(v, (int, float)))
        parts.append(f'{s["type"]} {span}' + (f' ({detail})' if detail
                                              else ''))
    return '; '.join(parts) or 'constant'


def _sampler(pipeline: List[dict]) -> str:
    from ..datasets import SAMPLE, VideoPipeline
    at = VideoPipeline(pipeline).find(SAMPLE)
    if at is None:
        return 'none'
    s = pipeline[at]
    if s['type'] == 'MultiProtocolSampleFrames':
        return (f'protocols {", ".join(s["protocols"])} of '
                f'{_sampler([s["sampler"]])}')
    return (f'{s["type"]}({s.get("clip_len")} frames x '
            f'{s.get("frame_interval", 1)}, {s.get("num_clips", 1)} clip(s))')


def _views(pipeline: List[dict]) -> str:
    crops = 3 if any(t['type'] == 'ThreeCrop' for t in pipeline) else 1
    sizes = [t.get('scale') for t in pipeline if t['type'] == 'Resize']
    crop = [t.get('crop_size') for t in pipeline
            if t['type'] in ('CenterCrop', 'ThreeCrop')]
    return (f'{_sampler(pipeline)} x {crops} crop(s); Resize {sizes}, '
            f'crop {crop[0] if crop else None}')


def recipe_rows(cfg: Config, world_size: int) -> List[Row]:
    """The rows of a resolved training config's recipe.

    Args:
        cfg (Config): A config resolved by :func:`~.resolve.resolve`.
        world_size (int): Processes of the run.

    Returns:
        list[tuple[str, str]]: ``(field, value)`` rows.
    """
    loader = cfg.train_dataloader
    per_iteration = clips_per_iteration(cfg, world_size)
    wrapper = cfg.optim_wrapper
    accumulate = wrapper.get('accumulative_counts', 1)
    backbone = cfg.model.backbone
    head = cfg.model.get('cls_head') or {}
    groups, trained, total = _groups(cfg)
    optimizer = wrapper.optimizer
    rows = [
        ('clips per optimiser step',
         f'{per_iteration * accumulate} ({loader.batch_size} videos x '
         f'{per_iteration // world_size // loader.batch_size} clips per '
         f'process x {world_size} processes x {accumulate} accumulated)'),
        ('optimiser', f'{optimizer.type}, lr {optimizer.lr:g}, weight decay '
         f'{optimizer.get("weight_decay", 0):g}; precision '
         f'{wrapper.get("dtype") or ("float16" if wrapper.get("type") == "AmpOptimWrapper" else "float32")}'),  # noqa: E501
        *[(f'group: {lr_wd}', what) for lr_wd, what in groups],
        ('schedule', _schedule(cfg)),
        ('epochs', str(cfg.train_cfg.get('max_epochs',
                                         cfg.train_cfg.get('max_iters')))),
        ('train sampling', _sampler(loader.dataset.pipeline)),
        ('train transforms', ', '.join(
            t['type'] for t in loader.dataset.pipeline)),
    ]
    for split in ('val', 'test'):
        split_loader = cfg.get(f'{split}_dataloader')
        if split_loader:
            rows.append((f'{split} views',
                         _views(split_loader.dataset.pipeline)))
    rows += [
        ('view averaging', str(head.get('average_clips'))),
        ('drop-path', f'rate {backbone.get("drop_path_rate", 0.):g}, unit '
         f'{backbone.get("drop_path_axis", "frame")!r}'),
        ('label smoothing', f'{head.get("label_smooth_eps", 0.):g}'),
        ('what trains', f'{trained:,} of {total:,} parameters'),
        ('image model', f'{backbone.image_model.get("type")} '
         f'{backbone.image_model.get("arch") or backbone.image_model.get("model_name")}'  # noqa: E501
         f', weights {backbone.get("pretrained")}'),
    ]
    return rows
