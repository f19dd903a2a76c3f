"""Every command of docs/deployment.md runs, on the tiny config, an H.264
video and checkpoints of two tasks adapted from one image model."""
import os.path as osp
import re
import shlex
import string

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from conftest import REPO, TINY_CONFIG, call_tool
from models.helpers import randomise_adapters, tiny_open_clip


def _commands():
    with open(osp.join(REPO, 'docs', 'deployment.md')) as f:
        text = f.read()
    return [line for block in re.findall(r'```shell\n(.*?)```', text, re.S)
            for line in block.splitlines() if line.startswith('python ')]


@pytest.fixture(scope='module')
def env(tmp_path_factory, codec_videos):
    root = tmp_path_factory.mktemp('deploy')
    clip = root / 'clip.pth'
    torch.save(tiny_open_clip(image_size=32).state_dict(), clip)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.backbone.pretrained = str(clip)
    init_default_scope('mmaction')
    checkpoints = []
    for seed in (0, 1):  # two tasks, one image model
        torch.manual_seed(seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        randomise_adapters(model)
        path = root / f'task{seed}.pth'
        torch.save(dict(state_dict=model.state_dict()), path)
        checkpoints.append(str(path))
    video = codec_videos['h264'][0]
    (root / 'list.txt').write_text(f'{video}\n')
    (root / 'labels.txt').write_text('left\nright\nstill\n')
    return dict(CONFIG=TINY_CONFIG, CHECKPOINT=checkpoints[0],
                CHECKPOINT2=checkpoints[1], VIDEO=video,
                VIDEO_LIST=str(root / 'list.txt'),
                LABELS=str(root / 'labels.txt'), WORK=str(root / 'work'))


@pytest.mark.parametrize('command', _commands())
def test_the_command_runs(command, env):
    if 'onnx' in command:
        pytest.importorskip('onnxruntime')
    argv = shlex.split(string.Template(command).substitute(env))
    assert argv[:1] == ['python'] and argv[1].startswith('tools/')
    proc = call_tool([argv[1][len('tools/'):], *argv[2:]])
    out = proc.stdout
    if 'extract_features' in command:
        assert 'windows' in out
    elif 'export.py' in command:
        assert 'largest difference' in out
    else:
        assert out.count('Top-') == 2 and 'MiB of parameters held once' in out
