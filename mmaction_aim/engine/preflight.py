"""Checks of a run's config against its model, before the first iteration.

Mistakes that MMEngine would otherwise report late, or as a traceback deep
inside a forward pass: a label outside the head's classes (training dies
at some batch naming no file; testing computes wrong metrics), a pipeline
that samples another number of frames than the backbone was built for (the
validation one fails only after a whole training epoch), frames of another
size than the image model takes (a missed crop). Each is a
:class:`ConfigMismatchError` naming the split, the file and line or the
transform, raised before the first training, validation or test iteration.
"""
import random
from typing import Any, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS
from ..datasets import (SAMPLE, ListEntry, VideoListError, role_of,
                        label_problems)
from ..utils.errors import BadInputError


class ConfigMismatchError(BadInputError):
    """A config's data do not fit its model (found before the run)."""


def _datasets(dataset: Any) -> Iterator[Any]:
    """The datasets inside MMEngine's wrappers (repeat, concat, ...)."""
    if hasattr(dataset, 'datasets'):
        for inner in dataset.datasets:
            yield from _datasets(inner)
    elif hasattr(dataset, 'dataset'):
        yield from _datasets(dataset.dataset)
    else:
        yield dataset


def _entries(dataset: Any) -> List[ListEntry]:
    """(line, file, label) of every sample, from the list as read when the
    dataset kept it, else from its data list (line = position)."""
    entries = getattr(dataset, 'list_entries', None)
    if entries is not None:
        return entries
    found = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'label' in info:
            found.append(ListEntry(i + 1, info.get('filename', ''),
                                   info['label']))
    return found


class _PreservedRandomState:
    """Leave Python's, numpy's and torch's generators as they were (a dry
    run of a training pipeline draws random numbers)."""

    def __enter__(self):
        self.states = (random.getstate(), np.random.get_state(),
                       torch.get_rng_state())

    def __exit__(self, *exc):
        random.setstate(self.states[0])
        np.random.set_state(self.states[1])
        torch.set_rng_state(self.states[2])


@HOOKS.register_module()
class PreflightHook(Hook):
    """Check every split's data against the model before its first
    iteration (registered by :class:`~.runner.AIMRunner`).

    * labels: every label of the list within the head's ``num_classes``;
    * frames: every frame sampler's ``clip_len`` equals the backbone's
      ``num_frames`` where the backbone's parameters fix it;
    * one sample: the first sample of the split, through its pipeline,
      has the frame count and frame size the backbone takes.

    Before training it also logs, once, the batch the optimiser steps on
    and the learning rate of every parameter group, read from the built
    run (:func:`recipe_line`).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checked = set()

    def before_train(self, runner) -> None:
        runner.logger.info(recipe_line(runner))
        self._check(runner, 'train', runner.train_loop.dataloader)
        if runner.val_loop is not None:
            self._check(runner, 'val', runner.val_loop.dataloader)

    def before_val(self, runner) -> None:
        self._check(runner, 'val', runner.val_loop.dataloader)

    def before_test(self, runner) -> None:
        self._check(runner, 'test', runner.test_loop.dataloader)

    def _check(self, runner, split: str, dataloader) -> None:
        if split in self._checked:
            return
        self._checked.add(split)
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        for dataset in _datasets(dataloader.dataset):
            check_collate(dataset, dataloader, split)
            check_dataset(model, dataset, split)


def recipe_line(runner) -> str:
    """Clips per optimiser step (videos per process x clips per video x
    processes x accumulated iterations) and each parameter group's learning
    rate and weight decay, as the built run has them."""
    loader = runner.train_loop.dataloader
    repeats = max(getattr(d, 'num_repeats', 1)
                  for d in _datasets(loader.dataset))
    wrapper = runner.optim_wrapper
    accumulate = getattr(wrapper, '_accumulative_counts', 1)
    world = runner.world_size
    total = loader.batch_size * repeats * world * accumulate
    groups = {}
    for group in wrapper.optimizer.param_groups:
        if not any(p.requires_grad for p in group['params']):
            continue
        # The base rate (before warm-up), as the config states it.
        key = (group.get('initial_lr', group['lr']),
               group.get('weight_decay', 0.))
        groups[key] = groups.get(key, 0) + sum(p.numel()
                                               for p in group['params'])
    rates = '; '.join(f'lr {lr:.3g} wd {wd:g} on {n:,} parameters'
                      for (lr, wd), n in sorted(groups.items(),
                                                key=lambda kv: -kv[1]))
    return (f'Optimiser steps on {total} clips ({loader.batch_size} videos '
            f'x {repeats} clips per process x {world} processes x '
            f'{accumulate} accumulated); {rates}')


def check_collate(dataset: Any, dataloader: Any, split: str) -> None:
    """A dataset giving several clips per sample (``num_repeats``) needs a
    collate function that flattens them."""
    repeats = getattr(dataset, 'num_repeats', 1)
    collate = getattr(dataloader, 'collate_fn', None)
    name = getattr(getattr(collate, 'func', collate), '__name__', collate)
    if repeats > 1 and name != 'repeat_pseudo_collate':
        raise ConfigMismatchError(
            f'The {split} dataset gives {repeats} clips per sample '
            f'(num_repeats={repeats}) but the dataloader collates them with '
            f'{name}: set {split}_dataloader.collate_fn.type='
            'repeat_pseudo_collate (the tools set it unless the config '
            'names another)')


def check_dataset(model: torch.nn.Module, dataset: Any, split: str) -> None:
    """Raise :class:`ConfigMismatchError` (or ``VideoListError`` for
    labels) where ``dataset`` does not fit ``model``."""
    name = getattr(dataset, 'ann_file', type(dataset).__name__)
    head = getattr(model, 'cls_head', None)
    num_classes = getattr(head, 'num_classes', None)
    if num_classes:
        problems = label_problems(_entries(dataset), num_classes)
        if problems:
            raise VideoListError(
                f'{split} list {name}: {len(problems)} labels do not fit '
                f'the model\'s {num_classes} classes (cls_head.num_classes):'
                '\n' + '\n'.join(f'  {p}' for p in problems[:10]) +
                (f'\n  ... and {len(problems) - 10} more'
                 if len(problems) > 10 else ''))
    backbone = getattr(model, 'backbone', None)
    check_clip_length(model, getattr(getattr(dataset, 'pipeline', None),
                                     'transforms', []), split)
    if len(dataset) and backbone is not None:
        with _PreservedRandomState():
            sample = dataset[0]
        _check_sample(backbone, sample, split, name)


def check_clip_length(model: torch.nn.Module, transforms: Sequence[Any],
                      split: str, field: Optional[str] = None) -> None:
    """Raise :class:`ConfigMismatchError` where a frame sampler among
    ``transforms`` samples clips of another length than ``model``'s
    backbone was built for (where its parameters fix the frame count).

    Args:
        model (torch.nn.Module): The recognizer.
        transforms (Sequence): The pipeline's built transforms.
        split (str): ``'train'``, ``'val'`` or ``'test'``, for the message.
        field (str, optional): The pipeline's config field, for the
            message. Defaults to ``<split>_dataloader.dataset.pipeline``.
    """
    backbone = getattr(model, 'backbone', None)
    frames = getattr(backbone, 'num_frames', None)
    if not getattr(backbone, 'models_time', False):
        return
    field = field or f'{split}_dataloader.dataset.pipeline'
    for transform in transforms:
        if role_of(transform) != SAMPLE:
            continue
        # A sampler of its own (MultiProtocolSampleFrames) or a plain one.
        clip_len = getattr(getattr(transform, 'sampler', transform),
                           'clip_len', frames)
        if clip_len != frames:
            raise ConfigMismatchError(
                f'The {split} pipeline samples clips of {clip_len} frames '
                f'({type(transform).__name__}(clip_len={clip_len})) but '
                f'the backbone was built for num_frames={frames}: set the '
                f'same number in both ({field}, model.backbone.num_frames)')


def _check_sample(backbone, sample: Any, split: str, name: str) -> None:
    if isinstance(sample, list) and sample:  # repeated sampling: clips
        sample = sample[0]
    inputs = sample.get('inputs') if isinstance(sample, dict) else None
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 5:
        return  # not an NCTHW video sample: nothing to compare
    steps, height, width = inputs.shape[-3:]
    frames = getattr(backbone, 'num_frames', steps)
    if getattr(backbone, 'models_time', False) and steps != frames:
        raise ConfigMismatchError(
            f'A {split} sample of {name} has {steps} frames per clip, the '
            f'backbone takes {frames} (check the {split} pipeline)')
    size = getattr(backbone, 'input_size', None)
    if size and getattr(backbone, 'fixed_input_size', True) and \
            (height, width) != (size, size):
        raise ConfigMismatchError(
            f'A {split} sample of {name} has frames of {height}x{width}, '
            f'the image model takes {size}x{size}: the {split} pipeline '
            'must end with frames of that size (Resize(scale=(S, S), '
            'keep_ratio=False) after RandomResizedCrop, CenterCrop or '
            'ThreeCrop of S)')
