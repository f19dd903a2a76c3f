"""Which transform opens, samples and decodes a video: declared by our
transforms, named once for MMAction2's, and asked of one object by every
part of the package."""
import pytest
from mmcv.transforms import BaseTransform
from mmengine.config import Config

from conftest import TINY_CONFIG
from mmaction.registry import TRANSFORMS
from mmaction_aim.datasets import (DECODE, OPEN, SAMPLE, VideoPipeline,
                                   role_of)


@TRANSFORMS.register_module(force=True)
class OtherPackageSampler(BaseTransform):
    """A sampler of another package, which declares its role."""

    video_role = SAMPLE

    def __init__(self, clip_len: int, frame_interval: int = 1) -> None:
        self.clip_len = clip_len
        self.frame_interval = frame_interval

    def transform(self, results):
        return results


def test_roles_of_ours_mmaction2s_and_another_packages():
    assert role_of(dict(type='DecordInit')) == OPEN
    assert role_of(dict(type='PyAVDecode')) == DECODE
    assert role_of(dict(type='SparseInit')) == OPEN
    assert role_of(dict(type='TorchCodecDecode')) == DECODE
    # A subclass samples as its parent does.
    assert role_of(dict(type='CentredSampleFrames')) == SAMPLE
    assert role_of(dict(type='MultiProtocolSampleFrames')) == SAMPLE
    assert role_of(dict(type='OtherPackageSampler', clip_len=2)) == SAMPLE
    assert role_of(dict(type='Resize', scale=(8, 8))) is None
    assert role_of(TRANSFORMS.build(dict(type='SampleFrames',
                                         clip_len=2))) == SAMPLE


def test_one_object_answers_where_the_parts_are():
    pipeline = VideoPipeline([dict(type='SparseInit'),
                              dict(type='OtherPackageSampler', clip_len=2),
                              dict(type='SparseDecode'),
                              dict(type='Resize', scale=(8, 8))])
    assert (pipeline.opener, pipeline.sampler, pipeline.decoder) == (0, 1, 2)
    assert pipeline.in_a_row('repeated sampling') == 0
    assert [pipeline.reads_file(i) for i in range(4)] == [True, False, True,
                                                          False]
    apart = VideoPipeline([dict(type='DecordInit'),
                           dict(type='SampleFrames', clip_len=2),
                           dict(type='Resize', scale=(8, 8)),
                           dict(type='DecordDecode')])
    with pytest.raises(ValueError, match='three consecutive'):
        apart.in_a_row('repeated sampling')
    with pytest.raises(ValueError, match='view protocols needs a transform '
                       'that samples'):
        VideoPipeline([dict(type='DecordInit')]).one(SAMPLE,
                                                     'view protocols')


def test_shrink_finds_every_sampler():
    """--shrink set clip_len only on samplers of one list of names: another
    package's sampler, and MultiProtocolSampleFrames' own, kept the paper
    config's frames (a clip-length mismatch in the shrunk run)."""
    from mmaction_aim.engine.shrink import shrink_config
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.train_dataloader.dataset.pipeline[1] = dict(
        type='OtherPackageSampler', clip_len=16)
    cfg.val_dataloader.dataset.pipeline[1] = dict(
        type='MultiProtocolSampleFrames', protocols=['1x1'],
        sampler=dict(type='SampleFrames', clip_len=16, frame_interval=1))
    changed = shrink_config(cfg, frames=2)
    assert cfg.train_dataloader.dataset.pipeline[1]['clip_len'] == 2
    assert cfg.val_dataloader.dataset.pipeline[1]['sampler']['clip_len'] == 2
    assert 'val_dataloader.dataset.pipeline.1.sampler.clip_len=2' in changed


def test_preflight_checks_every_samplers_clip_length(video_dataset):
    """The clip-length check before a run skipped samplers missing from its
    list of names (MultiProtocolSampleFrames: a validation with
    --val-protocols failed only after a training epoch)."""
    from mmaction.registry import DATASETS
    from mmaction_aim.engine.preflight import (ConfigMismatchError,
                                               check_dataset)
    from models.helpers import build_recognizer
    model = build_recognizer(input_resolution=32, num_frames=4,
                             num_classes=3)
    dataset = DATASETS.build(dict(
        type='AIMVideoDataset', ann_file=video_dataset['val'],
        data_prefix=dict(video=video_dataset['videos']), test_mode=True,
        pipeline=[dict(type='DecordInit'),
                  dict(type='MultiProtocolSampleFrames', protocols=['1x1'],
                       sampler=dict(type='SampleFrames', clip_len=8)),
                  dict(type='DecordDecode')]))
    with pytest.raises(ConfigMismatchError, match='clips of 8 frames'):
        check_dataset(model, dataset, 'val')
