"""Every family reads its image model's weights through the one safe
reader: code in a file never runs, and a file that is not what it should
be is one named error, not a traceback from PyTorch, timm or safetensors.
"""
import os
import random

import pytest
import torch

from mmaction_aim.checkpoint import CheckpointReadError, UnsafeCheckpointError
from mmaction_aim.utils import main_with_clear_errors
from .helpers import TINY_FAMILIES, image_model_file, tiny_backbone

FAMILIES = sorted(TINY_FAMILIES)


class _RunsCommand:
    """Unpickling this object runs a shell command (the classic attack)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class _OpensAFile:
    """A payload through ``io.open`` (its refusal by PyTorch alone carries
    PyTorch's advice to load unsafely)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        import io
        return io.open, (self.path, 'w')


@pytest.fixture(params=['default', 'forced_unsafe_default'])
def torch_default(request, monkeypatch):
    """PyTorch's weights_only default as it is, and forced to False (what
    timm 1.0.21, which setup.py allows, passes explicitly): our reads must
    never depend on it."""
    if request.param == 'forced_unsafe_default':
        monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    return request.param


@pytest.mark.parametrize('family', FAMILIES)
def test_a_payload_in_pretrained_never_runs(family, tmp_path, torch_default):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={'x': _RunsCommand(str(marker))}), path)
    with pytest.raises(UnsafeCheckpointError) as info:
        tiny_backbone(family, pretrained=path)
    assert not marker.exists()
    message = str(info.value)
    assert str(path) in message and 'posix.system' in message
    assert 'Nothing in it was run' in message


@pytest.mark.parametrize('family', FAMILIES)
def test_no_refusal_advises_unsafe_loading(family, tmp_path):
    path = tmp_path / 'opens.pth'
    target = tmp_path / 'created'
    torch.save(dict(state_dict={'x': _OpensAFile(str(target))}), path)
    with pytest.raises(UnsafeCheckpointError) as info:
        tiny_backbone(family, pretrained=path)
    message = str(info.value)
    assert not target.exists()
    assert 'io.open' in message or '_io.open' in message
    assert 'weights_only' not in message and 'False' not in message


def _truncated_safetensors(family, tmp_path):
    good = image_model_file(family, tmp_path / 'good.safetensors')
    data = open(good, 'rb').read()
    path = tmp_path / 'truncated.safetensors'
    path.write_bytes(data[:len(data) // 2])
    return path


def _corrupt_safetensors(family, tmp_path):
    good = image_model_file(family, tmp_path / 'good.safetensors')
    data = bytearray(open(good, 'rb').read())
    data[8:40] = b'#' * 32  # the JSON header
    path = tmp_path / 'corrupt.safetensors'
    path.write_bytes(bytes(data))
    return path


BAD_FILES = {
    'truncated_safetensors': (_truncated_safetensors, 'safetensors'),
    'corrupt_safetensors': (_corrupt_safetensors, 'safetensors'),
    # Seeded, with the byte a safetensors header starts with where one
    # would: still not a weights file.
    'random_bytes': (lambda f, d: _write(d / 'random.pth', _random_bytes()),
                     'not a PyTorch checkpoint'),
    'empty': (lambda f, d: _write(d / 'empty.pth', b''), 'empty'),
    'truncated_pth': (lambda f, d: _truncated_pth(d), 'truncated'),
}


def _random_bytes(size: int = 4096) -> bytes:
    data = bytearray(random.Random(0).randbytes(size))
    data[8] = ord('{')
    return bytes(data)


def _write(path, data):
    path.write_bytes(data)
    return path


def _truncated_pth(tmp_path):
    path = tmp_path / 'full.pth'
    torch.save(dict(state_dict={'w': torch.ones(256, 256)}), path)
    short = tmp_path / 'truncated.pth'
    short.write_bytes(path.read_bytes()[:20000])
    return short


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('kind', sorted(BAD_FILES))
def test_bad_weight_files_are_one_named_error(family, kind, tmp_path,
                                              capsys):
    make, reason = BAD_FILES[kind]
    path = make(family, tmp_path)
    with pytest.raises(CheckpointReadError) as info:
        tiny_backbone(family, pretrained=path)
    assert str(path) in str(info.value) and reason in str(info.value)

    # What a tool prints for it: one line, exit status 1.
    def main(argv):
        tiny_backbone(family, pretrained=path)

    with pytest.raises(SystemExit) as exit_info:
        main_with_clear_errors(main, [])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ')
    assert str(path) in err[0]


@pytest.mark.parametrize('family', FAMILIES)
def test_the_family_file_loads_and_gives_the_image_model(family, tmp_path):
    """The good file of each family loads strictly (the negative tests
    above fail for the right reason)."""
    path = image_model_file(family, tmp_path / 'model.safetensors', seed=5)
    loaded = tiny_backbone(family, pretrained=path)
    torch.manual_seed(5)
    source = tiny_backbone(family, init=False, adapters=(),
                           temporal_embedding=False)
    ours = loaded.image_model.state_dict()
    for key, value in source.image_model.state_dict().items():
        torch.testing.assert_close(ours[key], value, msg=key)
