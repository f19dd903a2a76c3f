"""Bad backbone arguments, a benchmark variant that does not fit the config,
and a demo whose test pipeline samples another number of frames than the
backbone takes: one sentence naming the config field and what is allowed
(a :class:`BadInputError`, one ``error:`` line from the tools), never a
traceback. And a warning where ``'temporal'`` is asked for but the family
leaves every adapted block without attention along time."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import (REPO, TINY_CONFIG, call_tool, captured_log_records,
                      make_clip, refused, tool_module)
from mmaction_aim.analysis import build_model
from mmaction_aim.models import AIMBackbone
from mmaction_aim.utils import BadInputError
from mmaction_aim.utils.video import write_video

TINY_CLIP = dict(type='CLIPViT', input_resolution=16,
                 arch=dict(patch_size=8, width=32, layers=2, heads=2))
TINY_TIMM_VIT = dict(type='TimmViT', model_name='vit_base_patch16_224',
                     timm_kwargs=dict(img_size=32, embed_dim=32, depth=2,
                                      num_heads=2))
TINY_HIERA = dict(type='TimmHiera', model_name='hiera_tiny_224',
                  timm_kwargs=dict(embed_dim=16, num_heads=1,
                                   stages=(2, 2, 2, 2), img_size=64))


# ------------------------------------------------- the backbone's arguments
@pytest.mark.parametrize('kwargs, expected', [
    (dict(adapter_layers=[30]),
     ['model.backbone.adapter_layers', 'from -2 to 1', '2 blocks', '[30]']),
    (dict(adapter_layers=[0, -3]),
     ['model.backbone.adapter_layers', 'from -2 to 1', '[-3]']),
    (dict(adapter_layers=['last']),
     ['model.backbone.adapter_layers', "['last']"]),
    (dict(adapter_layers=1),
     ['model.backbone.adapter_layers', 'is a list of block indices']),
    (dict(drop_path_axis='bogus'),
     ['model.backbone.drop_path_axis', "'frame' or 'original'", "'bogus'"]),
    (dict(adapters=('foo', )),
     ['model.backbone.adapters', "('temporal', 'spatial', 'joint')",
      "unknown ['foo']"]),
    (dict(adapters='temporal'),
     ['model.backbone.adapters', 'is a list of adaptations', "'temporal'"]),
    (dict(num_tadapter=3),
     ['model.backbone.num_tadapter', 'must be 1, or 2', 'got 3']),
    (dict(recompute_frozen=('foo', )),
     ['model.backbone.recompute_frozen', "('temporal', 'spatial', 'mlp')",
      "unknown ['foo']"]),
    (dict(recompute_frozen='mlp'),
     ['model.backbone.recompute_frozen', 'is a list', "'mlp'"]),
])
def test_bad_backbone_arguments_name_the_field(kwargs, expected):
    with pytest.raises(BadInputError) as info:
        AIMBackbone(TINY_CLIP, num_frames=2, **kwargs)
    message = str(info.value)
    assert '\n' not in message
    for text in expected:
        assert text in message, message


def test_adapter_layers_in_range_count_from_either_end():
    backbone = AIMBackbone(TINY_CLIP, num_frames=2, adapter_layers=[-1])
    assert backbone.adapter_layers == frozenset({1})
    blocks = list(backbone.adapted_blocks())
    assert blocks[0].temporal_adapter is None
    assert blocks[1].temporal_adapter is not None


def test_timm_kwargs_aim_sets_itself_are_refused_naming_the_field():
    image_model = dict(TINY_TIMM_VIT, timm_kwargs=dict(
        TINY_TIMM_VIT['timm_kwargs'], num_classes=5))
    with pytest.raises(BadInputError,
                       match=r'model\.backbone\.image_model\.timm_kwargs\) '
                       r"may not set 'num_classes'"):
        AIMBackbone(image_model, num_frames=2)


@pytest.mark.parametrize('image_model, expected', [
    # CLIP's family with a timm model's arguments.
    (dict(TINY_CLIP, model_name='vit_base_patch16_224'),
     ["family 'CLIPViT' takes arch, input_resolution besides type",
      'does not take model_name']),
    # A timm family without its model.
    (dict(type='TimmViT'),
     ["family 'TimmViT' takes model_name (required), timm_kwargs",
      'it needs model_name']),
])
def test_arguments_a_family_does_not_take_are_named(image_model, expected):
    with pytest.raises(BadInputError) as info:
        AIMBackbone(image_model, num_frames=2)
    message = str(info.value)
    assert 'model.backbone.image_model' in message
    for text in expected:
        assert text in message, message


def test_print_config_says_a_bad_backbone_argument_in_one_line():
    for option, expected in (
            ('model.backbone.adapter_layers=[30]',
             'model.backbone.adapter_layers'),
            ('model.backbone.image_model.model_name=vit_base_patch16_224',
             "family 'CLIPViT' takes arch, input_resolution")):
        proc = call_tool(['print_config.py', TINY_CONFIG, '--recipe',
                          '--cfg-options', option], check=False)
        refused(proc, 1, expected)


# ------------------------------------------ temporal adaptation left out
def test_a_warning_when_the_family_leaves_every_named_block_without_time():
    # Hiera's blocks 2 and 4 open stages 2 and 3 (they pool and widen):
    # the family gives them no attention along time.
    with captured_log_records() as records:
        backbone = AIMBackbone(TINY_HIERA, num_frames=2,
                               adapter_layers=[2, 4])
    assert not any(b.temporal_adapter is not None
                   for b in backbone.adapted_blocks())
    warnings = [r.getMessage() for r in records
                if r.levelname == 'WARNING']
    assert len(warnings) == 1, warnings
    for text in ('no block attends along time', 'blocks [2, 4] of 8',
                 'model.backbone.adapter_layers=[2, 4]', 'TimmHiera',
                 'leaves without temporal adaptation'):
        assert text in warnings[0], warnings[0]


@pytest.mark.parametrize('kwargs', [
    dict(adapter_layers=[1, 3]),  # blocks inside stages: time is modelled
    dict(adapter_layers=[2, 4], adapters=('spatial', 'joint')),  # not asked
    dict(adapter_layers=[]),  # no adapters at all, as asked
])
def test_no_warning_where_time_is_modelled_or_not_asked_for(kwargs):
    with captured_log_records() as records:
        AIMBackbone(TINY_HIERA, num_frames=2, **kwargs)
    assert not [r for r in records if r.levelname == 'WARNING']


# ------------------------------------------------------------ benchmark
def test_benchmark_refuses_plain_on_a_config_that_is_not_clip(monkeypatch):
    from mmaction_aim.analysis import benchmark

    def never(*args, **kwargs):
        raise AssertionError('built or measured before refusing')

    for name in ('build_model', 'matmul_throughput', 'run_in_subprocess'):
        monkeypatch.setattr(benchmark, name, never)
    proc = call_tool(['analysis/benchmark.py',
                      osp.join(REPO, 'configs/aim_vitb-in21k-augreg_k400.py'),
                      '--variants', 'aim', 'plain', '--modes', 'inference',
                      '--batch-size', '1', '--repeats', '1', '--device',
                      'cpu'], check=False)
    refused(proc, 1, "'plain' variant", 'model.backbone.image_model',
            "type 'TimmViT'", 'CLIPViT configs')


def test_plain_fits_clip_configs_only():
    from mmaction_aim.analysis.builder import check_variant
    clip = Config.fromfile(TINY_CONFIG)
    check_variant(clip, 'plain')  # CLIP: fine
    timm = Config.fromfile(TINY_CONFIG)
    timm.model.backbone.image_model = dict(TINY_TIMM_VIT)
    for variant in ('aim', 'full', 'linear'):
        check_variant(timm, variant)
    with pytest.raises(BadInputError, match="type 'TimmViT'"):
        build_model(timm, device='meta', variant='plain')


# ------------------------------------------------------------------ demo
@pytest.fixture(scope='module')
def two_frame_model(tmp_path_factory):
    """A checkpoint of the tiny config's model built for 2 frames (the
    config's test pipeline samples 4), a video, a 3-name label map."""
    root = tmp_path_factory.mktemp('two_frames')
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.backbone.num_frames = 2
    torch.manual_seed(0)
    model = build_model(cfg)
    paths = dict(checkpoint=str(root / 'model.pth'),
                 video=str(root / 'video.mp4'),
                 labels=str(root / 'labels.txt'))
    torch.save(dict(state_dict=model.state_dict(), meta={}),
               paths['checkpoint'])
    write_video(paths['video'], make_clip(0, seed=0, num_frames=16), fps=10)
    (root / 'labels.txt').write_text('a\nb\nc\n')
    return paths


def test_demo_refuses_a_test_pipeline_of_other_clip_length(two_frame_model,
                                                           monkeypatch):
    demo = tool_module('demo.py')

    def never(*args, **kwargs):
        raise AssertionError('the video was decoded before refusing')

    monkeypatch.setattr(demo, 'predict', never)
    proc = call_tool(['demo.py', two_frame_model['video'], TINY_CONFIG,
                      two_frame_model['checkpoint'], '--label-map',
                      two_frame_model['labels'], '--device', 'cpu',
                      '--cfg-options', 'model.backbone.num_frames=2'],
                     check=False)
    refused(proc, 1, 'clips of 4 frames', 'SampleFrames(clip_len=4)',
            'num_frames=2', 'test_dataloader.dataset.pipeline',
            'model.backbone.num_frames')


def test_demo_runs_when_the_clip_length_fits(two_frame_model):
    frames = 'test_dataloader.dataset.pipeline.1.clip_len=2'
    proc = call_tool(['demo.py', two_frame_model['video'], TINY_CONFIG,
                      two_frame_model['checkpoint'], '--label-map',
                      two_frame_model['labels'], '--device', 'cpu',
                      '--topk', '1', '--cfg-options',
                      'model.backbone.num_frames=2', frames])
    assert f'Top-1 for {two_frame_model["video"]}:' in proc.stdout


@pytest.mark.parametrize('image_model, num_frames, expected', [
    (dict(type='Bogus'), 2, ["'Bogus' is not a registered", 'TimmHiera']),
    (dict(TINY_CLIP, arch='ViT-X'), 2,
     ['model.backbone.image_model.arch', "'ViT-X'", 'ViT-B/16']),
    (dict(TINY_CLIP, arch=dict(width=32)), 2,
     ['model.backbone.image_model.arch', 'lacks']),
    (dict(type='TimmSwin', model_name='swin_tiny_patch4_window7_224'), 3,
     ['num_frames 3', 'tubelet size 2']),
])
def test_bad_image_model_arguments_are_one_sentence(image_model, num_frames,
                                                    expected):
    """Each a :class:`BadInputError` (an unknown family also a KeyError, as
    before), said without quotes around it."""
    with pytest.raises(BadInputError) as info:
        AIMBackbone(image_model, num_frames=num_frames)
    message = str(info.value)
    assert not message.startswith(("'", '"'))
    for part in expected:
        assert part in message, message
