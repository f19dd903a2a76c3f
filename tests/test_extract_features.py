"""tools/extract_features.py on the H.264 fixture: every window's features
are the backbone's ``mode='tensor'`` output for those frames; resumable;
bad videos named; adapter-only checkpoints."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from mmaction_aim.apis import window_starts
from conftest import TINY_CONFIG, call_tool
from models.helpers import randomise_adapters, tiny_open_clip


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The tiny config's model, adapters randomised (as trained), on a CLIP
    file; its full and adapter-only checkpoints."""
    root = tmp_path_factory.mktemp('extract')
    clip = root / 'clip.pth'
    torch.manual_seed(0)
    visual = tiny_open_clip(image_size=32).state_dict()
    torch.save(visual, clip)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.backbone.pretrained = str(clip)
    init_default_scope('mmaction')
    model = MODELS.build(cfg.model)
    model.init_weights()
    randomise_adapters(model)
    full, adapters = root / 'full.pth', root / 'adapters.pth'
    torch.save(dict(state_dict=model.state_dict()), full)
    model.save_adapters(str(adapters))
    return model.eval(), str(clip), str(full), str(adapters)


def _expected(model, video, inds):
    """The backbone's mode='tensor' output for frames ``inds`` of
    ``video``, through the config's own test transforms."""
    import decord
    frames = list(decord.VideoReader(video).get_batch(list(inds)).asnumpy())
    pipeline = Compose([dict(type='Resize', scale=(-1, 40)),
                        dict(type='CenterCrop', crop_size=32),
                        dict(type='FormatShape', input_format='NCTHW'),
                        dict(type='PackActionInputs')])
    packed = pipeline(dict(imgs=frames, num_clips=1, clip_len=len(inds),
                           modality='RGB', label=-1))
    data = model.data_preprocessor(dict(inputs=[packed['inputs']],
                                        data_samples=None))
    with torch.no_grad():
        return model(data['inputs'], mode='tensor')[0].T  # [T, D]


def test_windows_cover_the_video():
    assert window_starts(40, 8, 5) == [0, 5, 10, 15, 20, 25, 30, 32]
    assert window_starts(40, 8, 8) == [0, 8, 16, 24, 32]
    assert window_starts(6, 8, 8) == [0]


def test_stride_in_seconds(trained, codec_videos):
    from mmaction_aim.apis import FeatureExtractor
    model = trained[0]
    cfg = Config.fromfile(TINY_CONFIG)
    extractor = FeatureExtractor(model, cfg.test_dataloader.dataset.pipeline,
                                 stride_seconds=0.5)
    # 30 fps: a window every 15 frames, the last one ending on frame 39.
    assert extractor.extract(codec_videos['h264'][0])['starts'].tolist() \
        == [0, 15, 30, 32]


def test_features_are_the_backbones_output(trained, codec_videos, tmp_path):
    model, clip, full, adapters = trained
    video, _ = codec_videos['h264']
    (tmp_path / 'list.txt').write_text(f'{video}\nmissing.mp4\n')
    out = tmp_path / 'features'
    argv = ['extract_features.py', TINY_CONFIG, full, '--list',
            str(tmp_path / 'list.txt'), '--out', str(out), '--stride', '5',
            '--batch-size', '3', '--cfg-options',
            f'model.backbone.pretrained={clip}']
    proc = call_tool(argv, check=False)
    assert proc.returncode == 1 and 'missing.mp4: missing' in proc.stderr
    npz = out / (video[:-4].lstrip('/') + '.npz')
    saved = np.load(npz)
    assert saved['starts'].tolist() == [0, 5, 10, 15, 20, 25, 30, 32]
    assert saved['frames'].shape == (8, 4, 32)
    np.testing.assert_allclose(saved['pooled'], saved['frames'].mean(1),
                               rtol=1e-6)
    for k in (0, 3, 7):
        inds = saved['frame_inds'][k]
        assert inds.tolist() == list(range(saved['starts'][k],
                                           saved['starts'][k] + 8, 2))
        torch.testing.assert_close(torch.from_numpy(saved['frames'][k]),
                                   _expected(model, video, inds),
                                   atol=1e-5, rtol=1e-5)
    # Resumed: what is written is skipped.
    proc = call_tool(argv, check=False)
    assert '2 videos, 1 already done, 1 to extract' in proc.stdout
    # An adapter-only checkpoint merged onto the same CLIP: the same.
    out2 = tmp_path / 'from_adapters'
    call_tool(['extract_features.py', TINY_CONFIG, adapters, '--list',
               str(tmp_path / 'list.txt'), '--out', str(out2), '--stride',
               '5', '--output', 'pooled', '--cfg-options',
               f'model.backbone.pretrained={clip}'], check=False)
    again = np.load(out2 / (video[:-4].lstrip('/') + '.npz'))
    assert 'frames' not in again.files
    np.testing.assert_allclose(again['pooled'], saved['pooled'], atol=1e-6)


def test_another_clip_len_builds_the_model_for_it(trained, codec_videos,
                                                  tmp_path):
    """--clip-len 8 on the 4-frame tiny config: the model is built for 8
    frames, the checkpoint's temporal embedding interpolated to 8 steps,
    and each window's features are that model's output."""
    from mmaction_aim.models.utils.convert import resize_temporal_embedding
    model, clip, full, _ = trained
    video, _ = codec_videos['h264']
    (tmp_path / 'list.txt').write_text(f'{video}\n')
    out = tmp_path / 'features'
    call_tool(['extract_features.py', TINY_CONFIG, full, '--list',
               str(tmp_path / 'list.txt'), '--out', str(out), '--clip-len',
               '8', '--cfg-options', f'model.backbone.pretrained={clip}'])
    saved = np.load(out / (video[:-4].lstrip('/') + '.npz'))
    assert saved['frames'].shape == (3, 8, 32)  # 40 frames, span 16
    assert saved['starts'].tolist() == [0, 16, 24]
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.backbone.num_frames = 8
    init_default_scope('mmaction')
    model8 = MODELS.build(cfg.model).eval()
    state = dict(model.state_dict())
    state['backbone.temporal_embedding'] = resize_temporal_embedding(
        state['backbone.temporal_embedding'], 8)
    model8.load_state_dict(state)
    inds = saved['frame_inds'][1]
    assert inds.tolist() == list(range(16, 32, 2))
    torch.testing.assert_close(torch.from_numpy(saved['frames'][1]),
                               _expected(model8, video, inds),
                               atol=1e-5, rtol=1e-5)


def test_a_clip_len_the_model_was_not_built_for_is_refused(trained):
    from mmaction_aim.apis import FeatureExtractor
    cfg = Config.fromfile(TINY_CONFIG)
    with pytest.raises(ValueError, match='num_frames=8'):
        FeatureExtractor(trained[0], cfg.test_dataloader.dataset.pipeline,
                         clip_len=8)


@pytest.mark.parametrize('rule,expected', [('loop', [0, 2, 1, 0]),
                                           ('repeat_last', [0, 2, 2, 2])])
def test_a_video_shorter_than_a_window_is_padded_and_said(
        trained, tmp_path, rule, expected):
    """3 frames, windows of 4 frames 2 apart (7 frames): one window, padded
    as the config's test sampler pads (out_of_bound_opt), said on the
    video's line."""
    from conftest import make_clip
    from mmaction_aim.utils.video import write_video
    _, clip, full, _ = trained
    video = str(tmp_path / 'short.mp4')
    write_video(video, make_clip(0, seed=1, num_frames=3), fps=10)
    (tmp_path / 'list.txt').write_text('short.mp4\n')
    out = tmp_path / 'features'
    proc = call_tool(['extract_features.py', TINY_CONFIG, full, '--list',
                      str(tmp_path / 'list.txt'), '--root', str(tmp_path),
                      '--out', str(out), '--cfg-options',
                      f'model.backbone.pretrained={clip}',
                      'test_dataloader.dataset.pipeline.1.out_of_bound_opt='
                      f'{rule}'])
    assert ('short.mp4: 1 windows (3 frames, fewer than the 7 a window '
            f"spans: indices padded, out_of_bound_opt='{rule}')"
            in proc.stdout), proc.stdout
    saved = np.load(out / 'short.npz')
    assert saved['frame_inds'].tolist() == [expected]
    assert int(saved['total_frames']) == 3


def test_another_clip_len_with_an_adapter_only_file(trained, codec_videos,
                                                   tmp_path):
    """An adapter-only file's temporal embedding is interpolated as it
    merges, as a full checkpoint's is (before: refused, naming the two
    shapes): the same features from either file."""
    _, clip, full, adapters = trained
    video = codec_videos['h264'][0]
    (tmp_path / 'list.txt').write_text(f'{video}\n')
    saved = {}
    for name, checkpoint in (('full', full), ('adapters', adapters)):
        out = tmp_path / name
        call_tool(['extract_features.py', TINY_CONFIG, checkpoint,
                   '--list', str(tmp_path / 'list.txt'), '--out', str(out),
                   '--clip-len', '8', '--cfg-options',
                   f'model.backbone.pretrained={clip}'])
        saved[name] = np.load(out / (video[:-4].lstrip('/') + '.npz'))
    np.testing.assert_allclose(saved['adapters']['frames'],
                               saved['full']['frames'], atol=1e-6)
