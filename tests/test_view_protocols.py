"""Several view protocols from one decode: each protocol's views are
exactly the views its own pipeline gives, and its scores exactly the
scores of testing it alone."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401
from mmaction.registry import DATASETS, TRANSFORMS
from mmaction_aim.utils.views import protocol_views
from mmaction_aim.evaluation import ViewProtocolAccMetric, with_protocols
from conftest import NUM_CLASSES
from models.helpers import build_recognizer

PROTOCOLS = ['3x1', '1x1', '1x3', '4x3']


def _pipeline(sampler, clips, crop):
    return [dict(type='DecordInit'),
            dict(type=sampler, clip_len=4, frame_interval=2,
                 num_clips=clips, test_mode=True),
            dict(type='DecordDecode'),
            dict(type='Resize', scale=(-1, 32)),
            dict(type=crop, crop_size=32),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackActionInputs')]


def _cfg(pipeline, video_dataset):
    loader = dict(batch_size=2, dataset=dict(
        type='AIMVideoDataset', ann_file=video_dataset['val'],
        data_prefix=dict(video=video_dataset['videos']), pipeline=pipeline,
        test_mode=True))
    return Config(dict(test_dataloader=loader,
                       val_dataloader=copy.deepcopy(loader),
                       test_evaluator=dict(type='AccMetric')))


def _dataset(cfg):
    init_default_scope('mmaction')
    return DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))


def test_the_sampler_decodes_the_union_of_clips_once():
    sampler = TRANSFORMS.build(dict(
        type='MultiProtocolSampleFrames', protocols=PROTOCOLS,
        sampler=dict(type='CentredSampleFrames', clip_len=8,
                     frame_interval=16)))
    out = sampler(dict(total_frames=300, start_index=0))
    protocols = out['protocols']
    # 3 clips at 28/86/144 and 4 at 21/64/108/151: 7 decoded, the single
    # clip the middle of three (as 0.x centres them).
    assert out['num_clips'] == 7
    starts = out['frame_inds'].reshape(7, 8)[:, 0].tolist()
    assert starts == [21, 28, 64, 86, 108, 144, 151]
    assert [starts[i] for i in protocols['3x1']['clips']] == [28, 86, 144]
    assert protocols['1x1']['clips'] == [protocols['3x1']['clips'][1]]
    assert protocols['1x3'] == dict(protocols['1x1'], crops=3)
    assert [starts[i] for i in protocols['4x3']['clips']] == [
        21, 64, 108, 151]


@pytest.mark.parametrize('sampler', ['CentredSampleFrames', 'SampleFrames'])
def test_each_protocol_gets_exactly_its_own_views(sampler, video_dataset):
    widened = _cfg(_pipeline(sampler, 1, 'CenterCrop'), video_dataset)
    with_protocols(widened, PROTOCOLS)
    # The val loader, which the test loader may share, is left alone.
    assert widened.val_dataloader.dataset.pipeline[1]['type'] == sampler
    sample = _dataset(widened)[0]
    views = sample['inputs']
    for name, (clips, crops) in (('3x1', (3, 1)), ('1x1', (1, 1)),
                                 ('1x3', (1, 3)), ('4x3', (4, 3))):
        alone = _dataset(_cfg(_pipeline(
            sampler, clips, 'ThreeCrop' if crops == 3 else 'CenterCrop'),
            video_dataset))[0]['inputs']
        chosen = protocol_views(sample['data_samples'].protocols[name],
                                len(views))
        assert torch.equal(views[chosen], alone), name


def test_scores_of_each_protocol_equal_testing_it_alone(video_dataset):
    torch.manual_seed(0)
    model = build_recognizer(input_resolution=32, num_frames=4,
                             num_classes=NUM_CLASSES).eval()
    widened = _cfg(_pipeline('CentredSampleFrames', 1, 'CenterCrop'),
                   video_dataset)
    with_protocols(widened, PROTOCOLS)
    dataset = _dataset(widened)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        together = model.test_step(batch)
    for name, (clips, crops) in (('3x1', (3, 1)), ('1x1', (1, 1)),
                                 ('1x3', (1, 3)), ('4x3', (4, 3))):
        alone = _dataset(_cfg(_pipeline(
            'CentredSampleFrames', clips,
            'ThreeCrop' if crops == 3 else 'CenterCrop'), video_dataset))
        batch = pseudo_collate([alone[i] for i in range(len(alone))])
        with torch.no_grad():
            expected = model.test_step(batch)
        for ours, theirs in zip(together, expected, strict=True):
            torch.testing.assert_close(ours.protocol_scores[name],
                                       theirs.pred_score, atol=1e-6,
                                       rtol=1e-5)
    # The first protocol is the main score.
    for sample in together:
        assert torch.equal(sample.pred_score, sample.protocol_scores['3x1'])


def test_the_metric_reports_every_protocol():
    metric = ViewProtocolAccMetric()
    right, wrong = torch.tensor([0.1, 0.9]), torch.tensor([0.9, 0.1])
    metric.process(None, [dict(pred_score=right, gt_label=torch.tensor([1]),
                               protocol_scores={'3x1': right,
                                                '1x1': wrong})])
    results = metric.compute_metrics(metric.results)
    assert results['3x1_top1'] == 1.0 and results['1x1_top1'] == 0.0


def test_protocols_a_pipeline_cannot_give_are_refused(video_dataset):
    cfg = _cfg(_pipeline('CentredSampleFrames', 1, 'CenterCrop'),
               video_dataset)
    with pytest.raises(ValueError, match='<clips>x<crops>'):
        with_protocols(cfg, ['3x2'])
    # A val-style pipeline (short side 40, crop 32) has no ThreeCrop.
    val_style = copy.deepcopy(cfg)
    val_style.test_dataloader.dataset.pipeline[3]['scale'] = (-1, 40)
    with pytest.raises(ValueError, match=r'Resize\(scale=\(-1, 32\)\)'):
        with_protocols(val_style, ['1x3'])
    uniform = _cfg([dict(type='UniformSample', clip_len=4, num_clips=1,
                         test_mode=True)] + _pipeline(
                             'SampleFrames', 1, 'CenterCrop')[2:],
                   video_dataset)
    with_protocols(copy.deepcopy(uniform), ['1x1', '1x3'])  # crops only
    # Refused when the run is resolved, not when the dataset is built.
    with pytest.raises(ValueError, match=r'protocols of 1 clip.*not \['):
        with_protocols(copy.deepcopy(uniform), ['3x1'])
    # UniformSample drawing 3 clips its own way (UCF101's test pipeline)
    # cannot give one clip either.
    uniform.test_dataloader.dataset.pipeline[0]['num_clips'] = 3
    with pytest.raises(ValueError, match=r'UniformSample\(num_clips=3\)'):
        with_protocols(uniform, ['1x1'])


def test_a_batch_of_short_and_long_videos(video_dataset, tmp_path):
    """A video too short for distinct clips (fewer decoded views) in a
    batch with longer ones: before, ``stack expects each tensor to be equal
    size``; now every sample's protocol scores equal testing it alone."""
    import os.path as osp

    from mmengine.dataset import DefaultSampler
    from mmengine.runner import Runner

    from conftest import make_clip
    from mmaction_aim.utils.video import write_video
    write_video(osp.join(video_dataset['videos'], 'short_c0.mp4'),
                make_clip(0, 99, num_frames=5), fps=10)
    listing = tmp_path / 'mixed.txt'
    listing.write_text('short_c0.mp4 0\nval_c1_0.mp4 1\n'
                       'val_c2_0.mp4 2\n')
    data = dict(video_dataset, val=str(listing))
    torch.manual_seed(0)
    model = build_recognizer(input_resolution=32, num_frames=4,
                             num_classes=NUM_CLASSES).eval()
    widened = _cfg(_pipeline('CentredSampleFrames', 1, 'CenterCrop'), data)
    with_protocols(widened, PROTOCOLS)
    loader_cfg = copy.deepcopy(widened.test_dataloader.to_dict())
    loader_cfg['sampler'] = dict(type=DefaultSampler, shuffle=False)
    loader = Runner.build_dataloader(loader_cfg)
    together = []
    with torch.no_grad():
        for batch in loader:  # batches of 2: the short video and a long one
            together += model.test_step(batch)
    for name, (clips, crops) in (('3x1', (3, 1)), ('1x1', (1, 1)),
                                 ('4x3', (4, 3))):
        alone = _dataset(_cfg(_pipeline(
            'CentredSampleFrames', clips,
            'ThreeCrop' if crops == 3 else 'CenterCrop'), data))
        for i, ours in enumerate(together):
            with torch.no_grad():
                expected = model.test_step(pseudo_collate([alone[i]]))[0]
            torch.testing.assert_close(ours.protocol_scores[name],
                                       expected.pred_score, atol=1e-6,
                                       rtol=1e-5)
