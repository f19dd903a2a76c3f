"""What a run is: a config and a command line resolved in one pure step.

Every tool that runs a config (``tools/train.py``, ``tools/test.py``,
``tools/print_config.py``) and :meth:`AIMRunner.from_cfg` go through
:func:`resolve`, which returns the config that runs and the list of what it
changed and why (:class:`Change`). Nothing downstream rewrites the config:
the runner builds what it is given. ``tools/print_config.py`` prints the
same resolution before a run.

The steps, in order:

1. the command line: ``--cfg-options``, ``--shrink``, the tool's own flags
   (``--amp``, ``--resume``, ``--no-validate``, view protocols, ``--dump``,
   the checkpoint to test, randomness flags, ``--work-dir``);
2. the mode: a tested checkpoint must fit the model, so
   ``checkpoint_ignore_keys`` (meant for a fine-tuning run's ``load_from``)
   is dropped when testing;
3. the machine: without a GPU, mixed precision falls back to float32 and
   distributed runs use gloo; a dataloader without workers gets
   ``persistent_workers=False``;
4. the package's own completions: MMEngine's loops become our resumable
   ones, ``ClipRandomErasing(fill='mean')`` gets the model's normalisation
   mean (from the config, no model built), a dataset with repeated sampling
   gets the collate function that flattens its clips.

Resolving a resolved config changes nothing (tested).
"""
import copy
import dataclasses
import logging
import os
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from ..utils.errors import BadInputError

#: The collate function that flattens repeated sampling's clips
#: (MMAction2's).
REPEAT_COLLATE = 'repeat_pseudo_collate'


@dataclasses.dataclass(frozen=True)
class Change:
    """One field the resolution changed, with the reason.

    Attributes:
        field (str): The config key, dotted.
        before: Its value before (``'(none)'`` where it was absent).
        after: Its value after.
        reason (str): Why.
        level (int): ``logging.INFO`` or ``logging.WARNING``.
    """
    field: str
    before: Any
    after: Any
    reason: str
    level: int = logging.INFO

    def __str__(self) -> str:
        return (f'{self.field}: {_short(self.before)} -> '
                f'{_short(self.after)} ({self.reason})')


def _short(value: Any) -> str:
    text = value if isinstance(value, str) and value in (
        '(none)', '(as written)') else repr(value)
    return text if len(text) <= 120 else text[:117] + '...'


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """What a tool's command line asks of a run (every field optional).

    Attributes:
        mode (str, optional): ``'train'``, ``'test'``, or None (what the
            config alone runs: only the machine's and the package's steps).
        config_path (str, optional): The config file (default work dir).
        cfg_options (dict, optional): Parsed ``--cfg-options``.
        shrink (bool): ``--shrink``.
        work_dir (str, optional): ``--work-dir``.
        launcher (str, optional): ``--launcher``.
        checkpoint (str, optional): The checkpoint ``tools/test.py`` tests.
        zero_shot (bool): ``tools/test.py --zero-shot``: test the model as
            initialised (its classifier from the class names), no
            checkpoint.
        resume (str, optional): ``--resume`` (``'auto'``: the latest).
        amp (bool): ``--amp``.
        no_validate (bool): ``--no-validate``.
        auto_scale_lr (bool): ``--auto-scale-lr``.
        test_last (bool): ``--test-last``.
        dump (str, optional): ``--dump``: the test predictions' ``.pkl``.
        val_protocols, test_protocols (tuple): View protocols.
        seed (int, optional), diff_rank_seed (bool), deterministic (bool):
            the randomness flags, which win over the config's.
        allow_other_image_model (bool): ``--allow-other-image-model``.
        show (dict, optional): ``tools/test.py``'s visualisation options.
        world_size (int, optional): Processes of the run (default: the
            launcher's, :func:`launcher_world_size`).
        fitted (tuple, optional): Options chosen to fit the GPU's memory
            (``tools/train.py --fit-memory``) and why.
    """
    mode: Optional[str] = None
    config_path: Optional[str] = None
    cfg_options: Optional[dict] = None
    shrink: bool = False
    work_dir: Optional[str] = None
    launcher: Optional[str] = None
    checkpoint: Optional[str] = None
    zero_shot: bool = False
    resume: Optional[str] = None
    amp: bool = False
    no_validate: bool = False
    auto_scale_lr: bool = False
    test_last: bool = False
    dump: Optional[str] = None
    val_protocols: Tuple[str, ...] = ()
    test_protocols: Tuple[str, ...] = ()
    seed: Optional[int] = None
    diff_rank_seed: bool = False
    deterministic: bool = False
    allow_other_image_model: bool = False
    show: Optional[dict] = None
    world_size: Optional[int] = None
    fitted: Optional[Tuple[dict, str]] = None


def log_changes(changes: Sequence[Change], logger, source: str) -> None:
    """Log each change once, ``Config changed by SOURCE: FIELD: BEFORE ->
    AFTER (why)``, through ``logger`` (a run's: also into its log file)."""
    from mmengine.logging import print_log
    for change in changes:
        print_log(f'Config changed by {source}: {change}', logger=logger,
                  level=change.level)


def launcher_world_size(launcher: Optional[str] = None) -> int:
    """The processes of a run as its launcher states them: ``WORLD_SIZE``
    (``torchrun``, MPI), ``SLURM_NTASKS`` (Slurm), else 1."""
    names = ('SLURM_NTASKS', 'WORLD_SIZE') if launcher == 'slurm' else (
        'WORLD_SIZE', 'OMPI_COMM_WORLD_SIZE')
    for name in names:
        value = os.environ.get(name)
        if value:
            if not value.isdigit() or int(value) < 1:
                raise BadInputError(f'{name}={value!r} is not a process '
                                    'count')
            return int(value)
    return 1


def accelerator_available() -> bool:
    """Whether a GPU (or another device MMEngine's AMP supports) is present."""
    if torch.cuda.is_available():
        return True
    from mmengine.device import (is_mlu_available, is_musa_available,
                                 is_npu_available)
    return is_npu_available() or is_mlu_available() or is_musa_available()


def resolve(cfg: Config, request: Optional[RunRequest] = None,
            accelerator: Optional[bool] = None
            ) -> Tuple[Config, List[Change]]:
    """The config that runs, and what was changed to get it.

    Args:
        cfg (Config): The config as read; not modified.
        request (RunRequest, optional): The command line. Defaults to none
            (the config alone, for the mode it was resolved for, kept as
            ``resolved_mode``).
        accelerator (bool, optional): Whether the machine has a GPU.
            Defaults to :func:`accelerator_available`.

    Returns:
        tuple: ``(config, changes)``: a new :class:`Config` and the list of
        :class:`Change`, in the order they were made.

    Raises:
        BadInputError: A combination that cannot run, in one sentence.
    """
    request = request or RunRequest(mode=cfg.get('resolved_mode'))
    if request.mode not in (None, 'train', 'test'):
        raise BadInputError(f"mode: 'train', 'test' or None, got "
                         f'{request.mode!r}')
    if accelerator is None:
        accelerator = accelerator_available()
    cfg = copy.deepcopy(cfg)
    if request.mode is not None:
        # What the run is for, so that resolving it again (the runner does)
        # resolves it for the same mode.
        cfg.resolved_mode = request.mode
    changes: List[Change] = []
    steps: Sequence[Callable[[Config, RunRequest, bool], Iterator[Change]]] = (
        _cfg_options, _image_model_family, _shrink, _fitted, _test_request,
        _train_request, _common_request, _randomness, _runner_type,
        _machine, _loops, _workers, _mean_fill, _repeat_collate,
        _check_values, _clips_per_step)
    for step in steps:
        changes.extend(step(cfg, request, accelerator))
    return cfg, changes


# ------------------------------------------------------------ the command line
def _set(cfg: Config, field: str, value: Any, reason: str,
         level: int = logging.INFO) -> Iterator[Change]:
    """Set a dotted ``field`` of ``cfg``; a change where the value differs."""
    path, _, key = field.rpartition('.')
    owner = _lookup(cfg, path) if path else cfg
    before = owner.get(key, '(none)')
    if before != value:
        owner[key] = value
        yield Change(field, before, value, reason, level)


def _cfg_options(cfg, request, accelerator):
    options = request.cfg_options
    if not options:
        return
    for key, value in options.items():
        if '.' not in key and key in cfg and key not in _RUN_KEYS and \
                not isinstance(cfg[key], dict):
            yield Change(
                key, cfg[key], value, 'a top-level variable of the config, '
                'read when the file was parsed: fields computed from it keep '
                'their values; set the nested keys instead (e.g. '
                'train_dataloader.dataset.ann_file=..., '
                'model.cls_head.num_classes=...)', logging.WARNING)
    before = {key: _lookup(cfg, key, copy_value=True) for key in options}
    cfg.merge_from_dict(options)
    for key in options:
        if '.' in key or key not in cfg or isinstance(cfg[key], dict):
            yield Change(key, before[key], _lookup(cfg, key, copy_value=True),
                         '--cfg-options')


def _run_keys() -> frozenset:
    """Top-level config keys that are the run's own settings (a runner's
    arguments and this package's), not variables other fields were
    computed from."""
    import inspect

    from mmengine.runner import Runner
    return frozenset(inspect.signature(Runner.__init__).parameters) | {
        'runner_type', 'clips_per_step', 'checkpoint_ignore_keys',
        'checkpoint_safe_globals', 'allow_other_image_model',
        'resolved_mode', 'custom_imports'}


_RUN_KEYS = _run_keys()


def _lookup(cfg: Config, key: str, copy_value: bool = False) -> Any:
    """The value at a dotted ``key`` (list items by number), or
    ``'(none)'``."""
    owner = cfg
    for part in key.split('.'):
        try:
            owner = owner[int(part)] if isinstance(owner, list) else \
                owner[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return '(none)'
    return copy.deepcopy(owner) if copy_value else owner


def _image_model_family(cfg, request, accelerator):
    """A config naming only a timm model gets the family that adapts the
    class timm builds for it."""
    image_model = ((cfg.get('model') or {}).get('backbone') or {}).get(
        'image_model')
    if not isinstance(image_model, dict) or 'type' in image_model or \
            'model_name' not in image_model:
        return
    from ..models.families import family_of_timm_model
    family = family_of_timm_model(image_model['model_name'],
                                  image_model.get('timm_kwargs'))
    yield from _set(cfg, 'model.backbone.image_model.type', family,
                    f"the family adapting timm's class for "
                    f"{image_model['model_name']}")


def _shrink(cfg, request, accelerator):
    if not request.shrink:
        return
    from .shrink import shrink_config
    for item in shrink_config(cfg):
        field, _, value = item.partition('=')
        yield Change(field, '(as written)', value, '--shrink')


def _fitted(cfg, request, accelerator):
    if not request.fitted:
        return
    options, reason = request.fitted
    for field, value in options.items():
        yield from _set(cfg, field, value, reason)


def _test_request(cfg, request, accelerator):
    if request.mode != 'test':
        return
    show = request.show or {}
    if show.get('show') or show.get('out_dir') is not None:
        vis = (cfg.get('default_hooks') or {}).get('visualization')
        if vis is None:
            raise BadInputError(
                '--show / --show-dir need default_hooks.visualization='
                "dict(type='VisualizationHook') in the config")
        for key, value in dict(show, enable=True).items():
            yield from _set(cfg, f'default_hooks.visualization.{key}', value,
                            '--show / --show-dir')
    if request.test_protocols:
        yield from _protocols(cfg, request.test_protocols, 'test',
                              '--protocols')
    if request.dump is not None:
        yield from _dump(cfg, request.dump)
    if request.checkpoint is not None:
        yield from _set(cfg, 'load_from', request.checkpoint,
                        'the checkpoint to test')
    if request.zero_shot:
        yield from _zero_shot(cfg)
    yield from _set(cfg, 'resume', False, 'testing does not resume')
    if cfg.get('checkpoint_ignore_keys'):
        yield from _set(cfg, 'checkpoint_ignore_keys', None,
                        "a tested checkpoint must fit the model: the keys "
                        "are exempt for a fine-tuning run's load_from only")


def _zero_shot(cfg):
    """``--zero-shot``: no checkpoint; :class:`~.ZeroShotTestHook`
    initialises the model (the image model's file, fresh adapters, the
    classifier from the class names) before testing."""
    from .zero_shot import check_zero_shot_model
    check_zero_shot_model(cfg.get('model'), '--zero-shot')
    yield from _set(cfg, 'load_from', None, '--zero-shot: the model as '
                    'initialised is tested, no checkpoint')
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(h, dict) and h.get('type') == 'ZeroShotTestHook'
               for h in hooks):
        yield from _set(cfg, 'custom_hooks',
                        hooks + [dict(type='ZeroShotTestHook')],
                        '--zero-shot: initialise the model before testing')


def _train_request(cfg, request, accelerator):
    if request.mode != 'train':
        return
    if request.no_validate:
        if request.val_protocols:
            raise BadInputError('--val-protocols with --no-validate: give one')
        for key in ('val_cfg', 'val_dataloader', 'val_evaluator'):
            yield from _set(cfg, key, None, '--no-validate')
    if request.val_protocols:
        yield from _protocols(cfg, request.val_protocols, 'val',
                              '--val-protocols')
    if request.dump is not None and not request.test_last:
        raise BadInputError('--dump dumps the predictions of --test-last: '
                            'give both, or dump with tools/test.py')
    if request.test_protocols and not request.test_last:
        raise BadInputError('--test-protocols are the views of --test-last: '
                            'give both, or test with tools/test.py '
                            '--protocols')
    if request.test_last:
        missing = [key for key in ('test_dataloader', 'test_cfg',
                                   'test_evaluator') if not cfg.get(key)]
        if missing:
            raise BadInputError(f'--test-last needs {", ".join(missing)} in '
                             f'the config')
        if request.test_protocols:
            yield from _protocols(cfg, request.test_protocols, 'test',
                                  '--test-protocols')
        if request.dump is not None:
            yield from _dump(cfg, request.dump)
    if request.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise BadInputError(f'--amp cannot be used with the custom '
                                f'optimizer wrapper {wrapper!r}')
        yield from _set(cfg, 'optim_wrapper.type', 'AmpOptimWrapper', '--amp')
        if 'loss_scale' not in cfg.optim_wrapper:
            yield from _set(cfg, 'optim_wrapper.loss_scale', 'dynamic',
                            '--amp')
    if request.resume == 'auto':
        yield from _set(cfg, 'resume', True, '--resume')
        yield from _set(cfg, 'load_from', None, '--resume: the latest '
                        'checkpoint of the work directory')
    elif request.resume is not None:
        yield from _set(cfg, 'resume', True, '--resume')
        yield from _set(cfg, 'load_from', request.resume, '--resume')
    if request.auto_scale_lr:
        if not cfg.get('auto_scale_lr'):
            raise BadInputError('--auto-scale-lr needs auto_scale_lr='
                             'dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True  # applied by _clips_per_step


def _common_request(cfg, request, accelerator):
    if request.launcher is not None:
        cfg.launcher = request.launcher
    if request.work_dir is not None:
        yield from _set(cfg, 'work_dir', request.work_dir, '--work-dir')
    elif cfg.get('work_dir') is None and request.config_path is not None:
        cfg.work_dir = os.path.join('work_dirs', os.path.splitext(
            os.path.basename(request.config_path))[0])
    if cfg.get('work_dir') and os.path.isfile(cfg.work_dir):
        raise BadInputError(f'work_dir {cfg.work_dir} is a file; the logs '
                            'and checkpoints need a directory')
    if request.allow_other_image_model:
        yield from _set(cfg, 'allow_other_image_model', True,
                        '--allow-other-image-model')


def _protocols(cfg, protocols, split, flag):
    from ..evaluation import with_protocols
    try:
        widened = with_protocols(cfg, protocols, split)
    except ValueError as exc:  # what the pipeline cannot give, in a line
        raise BadInputError(f'{flag}: {exc}') from None
    for field, change in widened.items():
        yield Change(field, '(as written)', change, flag)


def _dump(cfg, out_file):
    if not str(out_file).endswith(('.pkl', '.pickle')):
        raise BadInputError(f'--dump must name a .pkl file, got {out_file}')
    folder = os.path.dirname(os.path.abspath(out_file))
    if os.path.exists(out_file) and os.path.isdir(out_file):
        raise BadInputError(f'--dump {out_file} is a directory; name a .pkl '
                         'file')
    parent = folder
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise BadInputError(f'--dump {out_file}: {parent} is a file, not a '
                         'directory')
    dump = dict(type='DumpResults', out_file_path=out_file)
    evaluators = cfg.test_evaluator
    after = (list(evaluators) + [dump]) if isinstance(
        evaluators, (list, tuple)) else [evaluators, dump]
    yield from _set(cfg, 'test_evaluator', after, '--dump')


def _randomness(cfg, request, accelerator):
    wanted = dict(seed=request.seed) if request.seed is not None else {}
    if request.diff_rank_seed:
        wanted['diff_rank_seed'] = True
    if request.deterministic:
        wanted['deterministic'] = True
    if not wanted:
        return
    if cfg.get('randomness') is None:
        cfg.randomness = dict(seed=None)
    for key, value in wanted.items():
        yield from _set(cfg, f'randomness.{key}', value, 'from the command '
                        'line, which wins over the config')


# ----------------------------------------------------------------- the machine
def _runner_type(cfg, request, accelerator):
    if 'runner_type' not in cfg:
        yield from _set(cfg, 'runner_type', 'AIMRunner', 'safe, strict '
                        'checkpoint loading and checks before the first '
                        'iteration')


def _machine(cfg, request, accelerator):
    if accelerator:
        return
    env_cfg = cfg.get('env_cfg') or {}
    if (env_cfg.get('dist_cfg') or {}).get('backend', 'nccl') == 'nccl':
        if not cfg.get('env_cfg'):
            cfg.env_cfg = dict(dist_cfg=dict(backend='nccl'))
        elif not cfg.env_cfg.get('dist_cfg'):
            cfg.env_cfg.dist_cfg = dict(backend='nccl')
        yield from _set(cfg, 'env_cfg.dist_cfg.backend', 'gloo',
                        'no GPU found: NCCL needs one')
    wrapper = cfg.get('optim_wrapper')
    if request.mode != 'test' and isinstance(wrapper, dict) and \
            wrapper.get('type') == 'AmpOptimWrapper':
        cfg.optim_wrapper = {k: v for k, v in wrapper.items()
                             if k not in ('loss_scale', 'dtype', 'use_fsdp')}
        yield from _set(cfg, 'optim_wrapper.type', 'OptimWrapper',
                        "no GPU found: MMEngine's mixed precision needs one, "
                        'so training runs in float32 on the CPU',
                        logging.WARNING)


# --------------------------------------------------- the package's completions
def _loops(cfg, request, accelerator):
    loop = cfg.get('train_cfg')
    if not isinstance(loop, dict):
        return
    loop_type = loop.get('type')
    if loop_type is None and 'by_epoch' in loop:
        loop_type = ('EpochBasedTrainLoop' if loop.pop('by_epoch')
                     else 'IterBasedTrainLoop')
        loop['type'] = loop_type
    if loop_type in ('EpochBasedTrainLoop', 'IterBasedTrainLoop'):
        yield from _set(cfg, 'train_cfg.type', 'AIM' + loop_type,
                        'the same loop, which also resumes mid-epoch and '
                        'restores random state exactly')


def _loaders(cfg: Config) -> Iterator[Tuple[str, dict]]:
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, dict):
            yield f'{split}_dataloader', loader


def _datasets(dataset: dict) -> Iterator[dict]:
    """The datasets inside MMEngine's wrappers (repeat, concat, ...)."""
    while isinstance(dataset, dict) and 'dataset' in dataset:
        dataset = dataset['dataset']
    if isinstance(dataset, dict):
        yield from (dataset.get('datasets') or [dataset])


def _workers(cfg, request, accelerator):
    for name, loader in _loaders(cfg):
        if loader.get('num_workers', 0) == 0 and \
                loader.get('persistent_workers', False):
            yield from _set(cfg, f'{name}.persistent_workers', False,
                            'PyTorch refuses persistent workers where there '
                            'are none')


def _mean_fill(cfg, request, accelerator):
    from ..datasets.transforms import with_mean_fill
    mean = None
    for name, loader in _loaders(cfg):
        for dataset in _datasets(loader.get('dataset')):
            pipeline = dataset.get('pipeline') or []
            if not any(isinstance(t, dict) and t.get('fill') == 'mean'
                       for t in pipeline):
                continue
            if mean is None:
                mean = model_mean(cfg)
            dataset['pipeline'] = with_mean_fill(pipeline, mean)
            yield Change(f'{name}.dataset.pipeline (ClipRandomErasing.fill)',
                         'mean', [round(v, 4) for v in mean],
                         "the model's normalisation mean")


def model_mean(cfg: Config) -> List[float]:
    """The model's normalisation mean (RGB, 0-255), from the config alone:
    the data preprocessor's numbers, or its image model's statistics
    (``mean='image_model'``)."""
    from ..models.recognizers.aim_recognizer import normalization_of
    model = cfg.get('model') or {}
    preprocessor = normalization_of(model.get('backbone') or {},
                                    model.get('data_preprocessor'))
    mean = (preprocessor or {}).get('mean')
    if mean is None:
        from .preflight import ConfigMismatchError
        raise ConfigMismatchError(
            "ClipRandomErasing(fill='mean') fills with the model's "
            'normalisation mean, but the data preprocessor has none; give '
            'the colour (RGB, 0-255)')
    return [float(v) for v in mean]


def _repeat_collate(cfg, request, accelerator):
    loader = cfg.get('train_dataloader')
    if not isinstance(loader, dict):
        return
    from ..datasets import AIMRepeatedVideoDataset
    from mmaction.registry import DATASETS
    if not any(isinstance(d.get('type'), str) and isinstance(
            DATASETS.get(d['type']), type) and issubclass(
                DATASETS.get(d['type']), AIMRepeatedVideoDataset)
               for d in _datasets(loader.get('dataset'))):
        return
    collate = loader.get('collate_fn')
    if collate is None or (isinstance(collate, dict)
                           and collate.get('type') == 'pseudo_collate'):
        yield from _set(cfg, 'train_dataloader.collate_fn',
                        dict(type=REPEAT_COLLATE), 'repeated sampling: each '
                        "video's clips become samples of the batch")
    elif not (isinstance(collate, dict)
              and collate.get('type') == REPEAT_COLLATE):
        raise BadInputError(
            f'train_dataloader.collate_fn {collate!r} with repeated '
            "sampling (AIMRepeatedVideoDataset): its samples are lists of "
            'clips, which '

            f'{REPEAT_COLLATE} (set by default) flattens; remove the option')


def _check_values(cfg, request, accelerator):
    """Values that would otherwise fail deep inside PyTorch or MMEngine (a
    batch of 0, no epoch, a misspelt dataloader argument), in one
    sentence each."""
    import difflib
    import inspect

    from torch.utils.data import DataLoader
    allowed = set(inspect.signature(DataLoader).parameters) | {
        'num_batch_per_epoch'}
    for name, loader in _loaders(cfg):
        for key in loader:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), 1)
                raise BadInputError(
                    f'{name}.{key} is not an argument of a dataloader'
                    + (f' (did you mean {name}.{close[0]}?)' if close
                       else ''))
        size = loader.get('batch_size', 1)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise BadInputError(f'{name}.batch_size must be an integer >= '
                                f'1, got {size!r}')
        workers = loader.get('num_workers', 0)
        if not isinstance(workers, int) or workers < 0:
            raise BadInputError(f'{name}.num_workers must be an integer >= '
                                f'0, got {workers!r}')
    loop = cfg.get('train_cfg')
    if request.mode != 'test' and isinstance(loop, dict):
        for key in ('max_epochs', 'max_iters', 'val_interval'):
            value = loop.get(key)
            if value is not None and (not isinstance(value, int)
                                      or value < 1):
                raise BadInputError(f'train_cfg.{key} must be an integer '
                                    f'>= 1, got {value!r}')
    return ()  # checks only: nothing changes


# ---------------------------------------------------- clips per optimiser step
def clips_per_iteration(cfg: Config, world_size: int) -> int:
    """Clips one iteration of the run takes: videos per process x clips per
    video (repeated sampling) x processes."""
    loader = cfg.train_dataloader
    repeats = 1
    for dataset in _datasets(loader.get('dataset')):
        repeats = int(dataset.get('num_repeats', 2)) if _repeats(dataset) \
            else 1
    return int(loader.batch_size) * repeats * world_size


def _repeats(dataset: dict) -> bool:
    from mmaction.registry import DATASETS

    from ..datasets import AIMRepeatedVideoDataset
    kind = dataset.get('type')
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    return isinstance(cls, type) and issubclass(cls, AIMRepeatedVideoDataset)


def _clips_per_step(cfg, request, accelerator):
    """Keep the recipe's clips per optimiser step on any world size by
    accumulating gradients; or, without one, ``--auto-scale-lr`` from the
    clips a step really takes (accumulation and repeats included, which
    MMEngine's own scaling ignores)."""
    if request.mode == 'test' or not isinstance(
            cfg.get('train_dataloader'), dict) or not cfg.get('optim_wrapper'):
        return
    world = request.world_size or launcher_world_size(request.launcher)
    per_iteration = clips_per_iteration(cfg, world)
    target = cfg.get('clips_per_step')
    wrapper = cfg.optim_wrapper
    if target is not None:
        if target % per_iteration:
            raise BadInputError(
                f'clips_per_step={target} (the recipe\'s batch) cannot be '
                f'reached exactly with {per_iteration} clips per iteration '
                f'({cfg.train_dataloader.batch_size} per process x {world} '
                'processes): choose train_dataloader.batch_size so that '
                f'batch_size x {world} divides {target}, or set '
                'clips_per_step=None to train on another batch')
        yield from _set(cfg, 'optim_wrapper.accumulative_counts',
                        target // per_iteration,
                        f'clips_per_step={target}: {per_iteration} clips per '
                        f'iteration on {world} process(es)')
    auto = cfg.get('auto_scale_lr') or {}
    if auto.get('enable'):
        accumulated = per_iteration * wrapper.get('accumulative_counts', 1)
        base = auto['base_batch_size']
        cfg.auto_scale_lr.enable = False  # MMEngine's ignores accumulation
        if accumulated != base:
            lr = wrapper.optimizer.lr
            yield from _set(cfg, 'optim_wrapper.optimizer.lr',
                            lr * accumulated / base,
                            f'--auto-scale-lr: {accumulated} clips per step '
                            f'instead of {base}')
