"""Top-5 action classes of a video file, through MMAction2's inference API.

Usage::

    python tools/demo.py demo.mp4 configs/aim_vitb_k400.py \
        work_dirs/aim_vitb_k400/best_acc_top1_epoch_30.pth \
        --label-map data/kinetics400/label_map_kinetics400.txt

    # the embedded demo's model on one of its videos (classes.json as written
    # by tools/demo/make_synthetic_videos.py)
    python tools/demo.py data/demo_synthetic/test/<video>.mp4 \
        configs/demo/aim_tiny_synthetic.py \
        work_dirs/demo/aim/epoch_30.pth \
        --label-map data/demo_synthetic/classes.json

``--also NAME CONFIG CHECKPOINT LABEL_MAP`` (repeatable) adds tasks adapted
from the same image model: each runs on the video with its own pipeline,
one copy of the frozen image model held for all
(:class:`mmaction_aim.models.MultiTaskAIM`).

The video goes through the config's ``test_pipeline`` (e.g. 3 clips x 1 crop
for Kinetics-400) and the scores are averaged as the config's head says
(``average_clips='prob'``). Full checkpoints and adapter-only ones (written
by ``tools/analysis/publish_model.py --adapter-only``) both work; the
latter are merged onto the image model named by
``model.backbone.pretrained``, which must be the one they were trained on.

A missing, empty or undecodable video, a checkpoint that is missing,
damaged or does not fit the config, a test pipeline sampling another number
of frames than the backbone takes, and a label map naming more or fewer
classes than its model has, end the tool with one ``error:`` line naming
the file or the config fields. ``--topk`` larger than the model's classes
shows them all.
"""
import argparse
import os
import sys
from typing import List, Optional, Sequence, Tuple

import torch

# Runnable from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction_aim.utils import (BadInputError,  # noqa: E402
                                add_cfg_options, at_least, available_device,
                                main_with_clear_errors, read_config,
                                read_label_map)


def check_video_file(video: str) -> None:
    """Raise :class:`BadInputError` naming ``video`` unless it is a file
    that decodes (checked like ``tools/check_dataset.py`` does)."""
    from mmaction_aim.datasets.video_check import check_video
    problem = check_video(video)
    if problem is not None:
        raise BadInputError(f'Video {video} cannot be used: {problem}')


def _is_decoder_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from decord decoding a video."""
    from decord._ffi.base import DECORDError
    return isinstance(exc, DECORDError) or (
        isinstance(exc, RuntimeError) and 'decord' in str(exc).lower()) or (
        isinstance(exc, RuntimeError) and str(exc).startswith('Error reading'))


def load_model(config: str, checkpoint: str, device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               allow_other_image_model: bool = False):
    """The config's recognizer with ``checkpoint`` (full or adapter-only),
    its ``test_pipeline`` the one ``tools/test.py`` evaluates."""
    import mmaction_aim  # noqa: F401  (registers AIM; applies the fixes)
    from mmaction.apis import init_recognizer
    from mmaction_aim.checkpoint import read_checkpoint

    cfg = read_config(config)
    ckpt = read_checkpoint(checkpoint)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    # MMAction2's inference API reads the top-level ``test_pipeline``; use
    # the one tools/test.py evaluates, which --cfg-options may have changed.
    if cfg.get('test_dataloader'):
        cfg.test_pipeline = cfg.test_dataloader.dataset.pipeline
    pretrained = cfg.model.get('backbone', {}).get('pretrained')
    # init_recognizer clears backbone.pretrained; an adapter-only checkpoint
    # needs it to find the frozen image model, so load the weights here,
    # through the model's own pipeline (upgrade, resize, fit, strict).
    model = init_recognizer(cfg, None, device='cpu')
    if pretrained and hasattr(model.backbone, 'pretrained'):
        model.backbone.pretrained = pretrained
    model.load_checkpoint(ckpt, name=checkpoint,
                          allow_other_image_model=allow_other_image_model)
    check_test_pipeline(model, cfg)
    return model.to(device).eval()


def check_test_pipeline(model, cfg) -> None:
    """Raise :class:`~mmaction_aim.engine.preflight.ConfigMismatchError`
    where the test pipeline samples clips of another length than the
    model's backbone was built for: the check ``tools/test.py`` makes
    before testing, made here before a video is decoded."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from mmaction_aim.engine.preflight import check_clip_length
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    field = 'test_dataloader.dataset.pipeline' if cfg.get(
        'test_dataloader') else 'test_pipeline'
    check_clip_length(model, Compose(cfg.test_pipeline).transforms, 'test',
                      field)


def predict(model, video: str, topk: int = 5) -> List[Tuple[int, float]]:
    """The ``topk`` ``(label, score)`` pairs of ``model`` for ``video``."""
    from mmaction.apis import inference_recognizer
    try:
        result = inference_recognizer(model, video)
    except Exception as exc:
        # decord's errors (a truncated file often opens, then fails on a
        # later frame) lack the file name; anything else is a real error.
        if not _is_decoder_error(exc):
            raise
        reason = (str(exc).strip().splitlines() or [''])[0]
        raise BadInputError(f'Video {video} cannot be decoded: '
                            f'{type(exc).__name__}: {reason}') from None
    scores = result.pred_score.detach().float().cpu()
    values, labels = scores.topk(min(topk, scores.numel()))
    return [(int(i), float(v)) for v, i in zip(values, labels, strict=True)]


def recognize(video: str, config: str, checkpoint: str,
              device: str = 'cpu', topk: int = 5,
              cfg_options: Optional[dict] = None,
              allow_other_image_model: bool = False
              ) -> List[Tuple[int, float]]:
    """The ``topk`` ``(label, score)`` pairs for one video.

    Args:
        video (str): A video file decord can read.
        config (str): The config the checkpoint was trained with.
        checkpoint (str): A full or trainable-only checkpoint.
        device (str): Defaults to ``'cpu'``.
        topk (int): Defaults to 5.
        cfg_options (dict, optional): Config overrides.
        allow_other_image_model (bool): Merge an adapter-only checkpoint
            even onto another image model than it was trained on.

    Returns:
        List[Tuple[int, float]]: Best first.
    """
    check_video_file(video)
    model = load_model(config, checkpoint, device, cfg_options,
                       allow_other_image_model)
    return predict(model, video, topk)


def check_label_map(names: List[str], label_map: str, model,
                    config: str) -> None:
    """Raise :class:`BadInputError` unless ``label_map`` names exactly as
    many classes as ``model`` (of ``config``) has."""
    classes = model.cls_head.num_classes
    if len(names) != classes:
        raise BadInputError(
            f'{label_map} names {len(names)} classes but the model of '
            f'{config} has {classes}: give the label map it was trained with')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Top-5 classes of a video')
    parser.add_argument('video', help='video file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--label-map', required=True,
                        help='class names: a text file, one a line, or a '
                        'JSON list / {"classes": [...]} (classes.json)')
    parser.add_argument('--device', type=available_device,
                        default='cuda:0' if torch.cuda.is_available() else
                        'cpu')
    parser.add_argument('--topk', type=at_least(int, 1), default=5,
                        help='classes shown (at most the model\'s: a larger '
                        'value shows them all)')
    parser.add_argument('--allow-other-image-model', action='store_true',
                        help='merge an adapter-only checkpoint even onto '
                        'another image model than it was trained on')
    parser.add_argument('--also', nargs=4, action='append', default=[],
                        metavar=('NAME', 'CONFIG', 'CHECKPOINT', 'LABEL_MAP'),
                        help='another task adapted from the same image '
                        'model (e.g. an SSv2 model beside a Kinetics one): '
                        'every task runs on the video, one copy of the '
                        'image model held (repeatable)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def _print(video: str, names: List[str], results: List[Tuple[int, float]],
           task: str = '') -> None:
    print(f'Top-{len(results)} for {video}{f" ({task})" if task else ""}:')
    for label, score in results:
        print(f'{names[label]}: {score:.4f}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    tasks = [('main', args.config, args.checkpoint, args.label_map)]
    tasks += [tuple(t) for t in args.also]
    task_names = [name for name, _, _, _ in tasks]
    if len(set(task_names)) != len(task_names):
        raise BadInputError(f'--also: every task needs its own NAME (the '
                            f'first is "main"), got {task_names}')
    # The cheap checks first: every label map, then the video.
    names = {name: read_label_map(label_map)
             for name, _, _, label_map in tasks}
    check_video_file(args.video)
    models = {}
    for name, config, ckpt, label_map in tasks:
        models[name] = load_model(config, ckpt, args.device, args.cfg_options,
                                  args.allow_other_image_model)
        check_label_map(names[name], label_map, models[name], config)
    if not args.also:
        _print(args.video, names['main'],
               predict(models['main'], args.video, args.topk))
        return
    from mmaction_aim.models import MultiTaskAIM
    shared = MultiTaskAIM(models)
    print(f'{len(tasks)} tasks on one image model: '
          f'{shared.freed_bytes / 2**20:.1f} MiB of parameters held once')
    for name in models:
        _print(args.video, names[name],
               predict(shared.tasks[name], args.video, args.topk), name)


if __name__ == '__main__':
    main_with_clear_errors(main)
