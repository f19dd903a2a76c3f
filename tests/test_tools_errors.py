"""Bad input to a tool ends it with one line naming the file and what is
wrong with it, and a non-zero exit status; never a traceback."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import TINY_CONFIG, call_tool, data_options, make_clip

from mmaction_aim.analysis import build_model
from mmaction_aim.utils.video import write_video


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_input')
    torch.manual_seed(0)
    model = build_model(Config.fromfile(TINY_CONFIG))
    good = str(root / 'good.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), good)
    data = open(good, 'rb').read()
    paths = dict(good=good)
    for name, content in (('empty', b''), ('truncated', data[:4000]),
                          ('random', bytes(range(7, 256)) * 40)):
        paths[name] = str(root / f'{name}.pth')
        with open(paths[name], 'wb') as f:
            f.write(content)
    video = str(root / 'video.mp4')
    write_video(video, make_clip(1, seed=0, num_frames=16), fps=10)
    paths['video'] = video
    truncated = str(root / 'truncated.mp4')
    with open(video, 'rb') as src, open(truncated, 'wb') as dst:
        dst.write(src.read()[:2000])
    paths['truncated_video'] = truncated
    paths['classes'] = str(root / 'classes.json')
    with open(paths['classes'], 'w') as f:
        json.dump(dict(classes=['right', 'left', 'still'],
                       twin_pairs=[[0, 1]]), f)
    return paths


def _one_error_line(proc, *expected):
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith('error: ')]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for text in expected:
        assert text in errors[0], errors[0]


@pytest.mark.parametrize('kind,reason', [
    ('empty', 'the file is empty'), ('truncated', 'truncated or damaged'),
    ('random', 'not a PyTorch checkpoint'), ('missing', 'does not exist')])
def test_test_tool_on_a_bad_checkpoint(files, video_dataset, tmp_path, kind,
                                      reason):
    path = files.get(kind, str(tmp_path / 'missing.pth'))
    proc = call_tool(['test.py', TINY_CONFIG, path, '--work-dir',
                      str(tmp_path), '--cfg-options',
                      *data_options(video_dataset)], check=False)
    _one_error_line(proc, path, reason)


def test_demo_tool_on_bad_videos_and_checkpoints(files, tmp_path):
    demo = ['demo.py', '--label-map', files['classes']]
    missing = str(tmp_path / 'nowhere.mp4')
    _one_error_line(call_tool(demo[:1] + [missing, TINY_CONFIG, files['good']]
                             + demo[1:], check=False), missing, 'missing')
    _one_error_line(
        call_tool(demo[:1] + [files['truncated_video'], TINY_CONFIG,
                             files['good']] + demo[1:], check=False),
        files['truncated_video'], 'undecodable')
    _one_error_line(
        call_tool(demo[:1] + [files['video'], TINY_CONFIG, files['random']]
                 + demo[1:], check=False),
        files['random'], 'not a PyTorch checkpoint')


def test_demo_tool_reads_classes_json(files):
    proc = call_tool(['demo.py', files['video'], TINY_CONFIG, files['good'],
                     '--label-map', files['classes'], '--topk', '3'])
    lines = proc.stdout.strip().splitlines()
    start = lines.index(f'Top-3 for {files["video"]}:')
    names = [line.split(':')[0] for line in lines[start + 1:start + 4]]
    assert sorted(names) == ['left', 'right', 'still']


def test_convert_tool_on_a_bad_file(files):
    proc = call_tool(['convert/convert_official_aim.py', files['empty'],
                     osp.join(osp.dirname(files['empty']), 'out.pth')],
                    check=False)
    _one_error_line(proc, files['empty'], 'the file is empty')


@pytest.mark.parametrize('kind,reason', [
    ('empty', 'the file is empty'), ('random', 'not a PyTorch checkpoint'),
    ('missing', 'image-model weights not found')])
def test_train_tool_on_a_bad_image_model_file(files, video_dataset,
                                              tmp_path, kind, reason):
    path = files.get(kind, str(tmp_path / 'missing.pth'))
    proc = call_tool(['train.py', TINY_CONFIG, '--work-dir', str(tmp_path),
                      '--cfg-options', *data_options(video_dataset),
                      f'model.backbone.pretrained={path}'], check=False)
    _one_error_line(proc, path, reason)
