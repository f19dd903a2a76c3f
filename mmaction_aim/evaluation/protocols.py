"""Several view protocols (clips x crops) reported from one decode.

:func:`with_protocols` rewrites a config's test (or validation) pipeline so
that the clips of every protocol are decoded once
(``MultiProtocolSampleFrames``), cropped by ``ThreeCrop`` where a protocol
has 3 crops, batched by :func:`protocol_collate` and evaluated by
:class:`ViewProtocolAccMetric`, which reports each protocol as its own
metrics (``acc/1x1_top1``, ``acc/3x1_top1``, ...).
"""
import copy
from typing import Dict, List, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import COLLATE_FUNCTIONS, pseudo_collate

from mmaction.evaluation.metrics import AccMetric
from mmaction.registry import METRICS
from ..datasets import SAMPLE, VideoPipeline
from ..utils.views import parse_protocol


@METRICS.register_module()
class ViewProtocolAccMetric(AccMetric):
    """MMAction2's ``AccMetric`` for each view protocol of a sample.

    Samples carrying ``protocol_scores`` (:class:`~..models.AIMHead` under
    ``MultiProtocolSampleFrames``) give ``<protocol>_top1``,
    ``<protocol>_top5`` and ``<protocol>_mean1`` per protocol; others are
    scored as by ``AccMetric``.
    """

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        samples = [dict(s, pred_score=s['protocol_scores'])
                   if 'protocol_scores' in s else s for s in data_samples]
        super().process(data_batch, samples)


@COLLATE_FUNCTIONS.register_module()
def protocol_collate(data_batch: Sequence[dict]) -> dict:
    """MMEngine's ``pseudo_collate`` for samples of several view protocols,
    each padded to the batch's most clips.

    A video too short for distinct clips decodes fewer of them (its clips'
    union is smaller), so samples of one batch can hold different numbers
    of views, which the data preprocessor cannot stack. Each sample's
    views ``[crops * clips, C, T, H, W]`` (crop-major) get copies of its
    last clip up to the batch's most clips, and its protocols are told the
    new clip count; every protocol still averages exactly its own clips,
    so the scores equal testing the sample alone.

    Args:
        data_batch (Sequence[dict]): Packed samples (``inputs``,
            ``data_samples`` with ``protocols`` in their metainfo).

    Returns:
        dict: The collated batch.
    """
    specs = [s['data_samples'].metainfo.get('protocols') for s in data_batch]
    counts = [next(iter(spec.values()))['num_clips'] for spec in specs
              if spec]
    if counts and min(counts) != max(counts):
        most = max(counts)
        for sample, spec in zip(data_batch, specs, strict=True):
            clips = next(iter(spec.values()))['num_clips']
            if clips == most:
                continue
            views = sample['inputs']  # [crops * clips, C, T, H, W]
            per_crop = views.view(-1, clips, *views.shape[1:])
            pad = per_crop[:, -1:].expand(-1, most - clips,
                                          *views.shape[1:])
            sample['inputs'] = torch.cat([per_crop, pad], dim=1).flatten(
                0, 1)  # [crops * most, C, T, H, W]
            for protocol in spec.values():
                protocol['num_clips'] = most
    return pseudo_collate(data_batch)


def _check_one_clip_sampler(sampler: dict,
                            protocols: Sequence[str]) -> None:
    """Refuse protocols a sampler that is not SampleFrames cannot give:
    such a sampler (``UniformSample``) places one clip, so it takes protocols
    of 1 clip, and only with ``num_clips=1``."""
    from mmaction.registry import TRANSFORMS
    from mmaction.datasets.transforms import SampleFrames
    cls = TRANSFORMS.get(sampler['type'])
    if isinstance(cls, type) and issubclass(cls, SampleFrames):
        return
    num_clips = sampler.get('num_clips', 1)
    several = [p for p in protocols if parse_protocol(p)[0] != 1]
    if num_clips != 1 or several:
        raise ValueError(
            f'the test sampler {sampler["type"]}(num_clips={num_clips}) '
            'draws its clips its own way, so view protocols take it only '
            'with num_clips=1 and protocols of 1 clip (1x1, 1x3)'
            + (f', not {several}' if several else '')
            + ': set its num_clips=1, or sample with SampleFrames')


def _widen(pipeline: List[dict], protocols: Sequence[str]) -> List[dict]:
    pipeline = copy.deepcopy(list(pipeline))
    i = VideoPipeline(pipeline).one(SAMPLE, 'view protocols')
    if pipeline[i]['type'] == 'MultiProtocolSampleFrames':
        raise ValueError('the pipeline samples view protocols already '
                         f'({pipeline[i]["protocols"]})')
    _check_one_clip_sampler(pipeline[i], protocols)
    sampler = {k: v for k, v in pipeline[i].items() if k != 'num_clips' or
               pipeline[i]['type'] == 'UniformSample'}
    pipeline[i] = dict(type='MultiProtocolSampleFrames',
                       protocols=list(protocols), sampler=sampler)
    if any(parse_protocol(p)[1] == 3 for p in protocols):
        for j, t in enumerate(pipeline):
            if t['type'] != 'CenterCrop':
                continue
            resize = [r for r in pipeline[:j] if r['type'] == 'Resize']
            short = tuple(resize[-1]['scale']) if resize else None
            if short is None or short[0] != -1 or \
                    short[1] != t['crop_size']:
                raise ValueError(
                    'protocols of 3 crops take ThreeCrop, whose crops span '
                    'the short side: it needs Resize(scale=(-1, '
                    f'{t["crop_size"]})) before the crop, this pipeline '
                    f'resizes to {short}')
            pipeline[j] = dict(type='ThreeCrop', crop_size=t['crop_size'])
    pack = next((t for t in pipeline if t['type'] == 'PackActionInputs'),
                None)
    if pack is None:
        raise ValueError('view protocols need PackActionInputs')
    keys = tuple(pack.get('meta_keys', ('img_shape', 'img_key', 'video_id',
                                        'timestamp')))
    pack['meta_keys'] = keys + ('protocols', )
    return pipeline


def with_protocols(cfg: Config, protocols: Sequence[str],
                   split: str = 'test') -> Dict[str, str]:
    """Make ``cfg``'s ``split`` ('test' or 'val') report every protocol.

    Args:
        cfg (Config): The config, changed in place.
        protocols (Sequence[str]): ``'<clips>x<crops>'``, the first the main
            one (``pred_score``, ``acc/<first>_top1`` first in the metrics).
        split (str): ``'test'`` or ``'val'``.

    Returns:
        dict: What changed, field by field, for the log.
    """
    for p in protocols:
        parse_protocol(p)
    # A copy: configs often share one dataloader between val and test.
    loader = copy.deepcopy(cfg[f'{split}_dataloader'])
    loader.dataset.pipeline = _widen(loader.dataset.pipeline, protocols)
    collate = (loader.get('collate_fn') or {}).get('type', 'pseudo_collate')
    if collate not in ('pseudo_collate', 'protocol_collate'):
        raise ValueError(f'{split}_dataloader.collate_fn {collate!r}: view '
                         'protocols batch samples of different view counts '
                         'with protocol_collate')
    loader.collate_fn = dict(type='protocol_collate')
    cfg[f'{split}_dataloader'] = loader
    evaluators = cfg[f'{split}_evaluator']
    single = not isinstance(evaluators, (list, tuple))
    evaluators = [dict(e) for e in ([evaluators] if single else evaluators)]
    scored = [e for e in evaluators
              if e.get('type') in ('AccMetric', 'ViewProtocolAccMetric')]
    if not scored:
        raise ValueError(f'{split}_evaluator: view protocols are scored by '
                         'AccMetric, found '
                         f'{[e.get("type") for e in evaluators]}')
    for e in scored:
        e['type'] = 'ViewProtocolAccMetric'
    cfg[f'{split}_evaluator'] = evaluators[0] if single else evaluators
    return {f'{split}_dataloader.dataset.pipeline':
            f'view protocols {", ".join(protocols)} from one decode',
            f'{split}_dataloader.collate_fn': 'protocol_collate (samples '
            'of short videos padded to the batch\'s views)',
            f'{split}_evaluator.type': 'ViewProtocolAccMetric'}
