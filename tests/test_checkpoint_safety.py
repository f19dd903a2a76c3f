"""Checkpoints load with weights_only semantics: MMEngine's own content
loads, anything else is refused before it can run."""
import os
import pickle
from collections import OrderedDict, defaultdict

import numpy as np
import pytest
import torch

import mmaction_aim  # noqa: F401  (installs the safe loaders)
from mmaction_aim.engine import UnsafeCheckpointError, safe_load


class _RunsCommand:
    """Unpickling this object runs a shell command (the classic attack)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class _GetattrChain:
    """A pickle that reaches ``os.system`` through ``getattr`` on an allowed
    class (the HistoryBuffer look-up must not allow this)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def _mmengine_like_checkpoint() -> dict:
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('aim-test-safety')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(1.25))
    hub.update_info('eta', np.float64(3.0), resumed=True)
    hub.update_info('array', np.arange(3, dtype=np.int32), resumed=True)
    assert isinstance(hub.log_scalars['train/loss'], HistoryBuffer)
    return dict(
        meta=dict(epoch=1, iter=3, seed=0, dtype=np.dtype('float32')),
        state_dict=OrderedDict(w=torch.ones(2, 3)),
        message_hub=hub.state_dict(),
        optimizer=dict(state={0: dict(step=torch.tensor(3.))},
                       param_groups=[dict(lr=1e-3, params=[0])]),
        extra=defaultdict(),
    )


def test_mmengine_checkpoint_content_loads(tmp_path):
    path = str(tmp_path / 'ok.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    process_wide = set(map(str, torch.serialization.get_safe_globals()))
    loaded = safe_load(path)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2, 3))
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert buffer.current() == 1.25 and buffer.mean() == 1.375
    assert loaded['meta']['dtype'] == np.dtype('float32')
    # The allow-list applies during our loads only, not process-wide.
    assert set(map(str, torch.serialization.get_safe_globals())) == \
        process_wide
    from mmengine.logging import HistoryBuffer
    assert str(HistoryBuffer) not in process_wide


def test_code_in_a_checkpoint_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    checkpoint = _mmengine_like_checkpoint()
    checkpoint['meta']['payload'] = _RunsCommand(str(marker))
    torch.save(checkpoint, path)

    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(path)
    assert not marker.exists()
    message = str(info.value)
    assert 'Refusing to load checkpoint' in message and path in message
    assert 'posix.system' in message  # names what it refused
    assert 'weights_only` set to `False`' not in message
    assert 'Nothing in it was run' in message


def test_mmengine_loaders_refuse_it_too(tmp_path):
    """load_from / resume / tools/test.py go through MMEngine's loader."""
    from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict=dict(w=_RunsCommand(str(marker)))), path)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(path, map_location='cpu')
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(torch.nn.Linear(2, 2), path)
    assert not marker.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'chain.pth')
    torch.save(dict(x=_GetattrChain(str(tmp_path / 'm'))), path)
    with pytest.raises(UnsafeCheckpointError, match='not allowed'):
        safe_load(path)


def test_plain_pickle_file_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'legacy.pkl')
    with open(path, 'wb') as f:
        pickle.dump(dict(w=_RunsCommand(str(marker))), f)
    with pytest.raises(UnsafeCheckpointError):
        safe_load(path)
    assert not marker.exists()


def test_env_switch_does_not_disable_safety(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(w=_RunsCommand(str(marker))), path)
    with pytest.raises(UnsafeCheckpointError):
        safe_load(path)
    assert not marker.exists()


def test_real_runner_checkpoint_has_only_allowed_globals(tmp_path):
    """Every global a real MMEngine checkpoint names is on the allow-list
    (the e2e tests load real ones; this pins the list)."""
    from mmaction_aim.engine.checkpoint import _unsafe_globals
    path = str(tmp_path / 'ok.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    assert _unsafe_globals(path) == []
    found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in found


# ----------------------------------------------- scoped, never torch.load
class Probe:
    """Plain data a user may allow by name; records, while being unpickled,
    which ``torch.load`` is in place."""

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)
        self.torch_load_during_load = torch.load


@pytest.fixture
def fresh_user_allow_list(monkeypatch):
    from mmaction_aim.engine import checkpoint
    monkeypatch.setattr(checkpoint, '_user_globals', {})


def test_torch_load_is_never_replaced(tmp_path, monkeypatch,
                                      fresh_user_allow_list):
    """Not even for MMEngine's name schemes (here open-mmlab://, whose
    file is in MMEngine's home)."""
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmaction_aim.engine import allow_checkpoint_globals
    torch.save(dict(meta=dict(probe=Probe(3)), state_dict={}),
               str(tmp_path / 'probe.pth'))
    monkeypatch.setattr('mmengine.runner.checkpoint._get_mmengine_home',
                        lambda: str(tmp_path))
    monkeypatch.setattr('mmengine.runner.checkpoint.get_external_models',
                        lambda: dict(probe='probe.pth'))
    original = torch.load
    allow_checkpoint_globals([f'{__name__}.Probe'])
    loaded = _load_checkpoint('open-mmlab://probe', map_location='cpu')
    probe = loaded['meta']['probe']
    assert probe.value == 3
    assert probe.torch_load_during_load is original


def test_allow_list_leaves_others_entries_in_place(tmp_path):
    """An entry someone added process-wide before (one of ours, too)
    survives our loads; ours are gone after them."""
    from mmengine.logging.history_buffer import HistoryBuffer
    path = str(tmp_path / 'ok.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    torch.serialization.add_safe_globals([HistoryBuffer])
    try:
        safe_load(path)
        assert HistoryBuffer in torch.serialization.get_safe_globals()
    finally:
        kept = [g for g in torch.serialization.get_safe_globals()
                if g is not HistoryBuffer]
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(kept)
    safe_load(path)
    assert HistoryBuffer not in torch.serialization.get_safe_globals()


def test_user_types_allowed_by_name_only(tmp_path, fresh_user_allow_list):
    from mmaction_aim.engine import allow_checkpoint_globals
    path = str(tmp_path / 'probe.pth')
    torch.save(dict(meta=dict(probe=Probe(5))), path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(path)
    message = str(info.value)
    assert f'{__name__}.Probe' in message
    assert 'allow_checkpoint_globals' in message
    assert 'checkpoint_safe_globals' in message
    allow_checkpoint_globals([f'{__name__}.Probe'])
    assert safe_load(path)['meta']['probe'].value == 5
    for dangerous in ('os.system', 'builtins.eval', 'subprocess.Popen',
                      'posix.system'):
        with pytest.raises(ValueError, match='run code'):
            allow_checkpoint_globals([dangerous])
    with pytest.raises(ValueError, match='no such object'):
        allow_checkpoint_globals(['mmaction_aim.no_such_thing'])


# ------------------------------------------- files that are not checkpoints
def _checkpoint_bytes() -> bytes:
    import io
    buffer = io.BytesIO()
    torch.save(dict(state_dict=dict(w=torch.ones(64, 64))), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize('content,reason', [
    (b'', 'the file is empty'),
    (b'\x13\x37' + bytes(range(256)) * 20, 'not a PyTorch checkpoint'),
    ('truncated', 'truncated or damaged'),
    (b'\x10\x00\x00\x00\x00\x00\x00\x00{"w":{}}', 'safetensors file'),
])
def test_files_that_are_not_checkpoints(tmp_path, content, reason):
    from mmaction_aim.engine import CheckpointReadError
    if content == 'truncated':
        content = _checkpoint_bytes()[:3000]
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointReadError) as info:
        safe_load(str(path))
    assert str(path) in str(info.value)
    assert reason in str(info.value)
    assert not isinstance(info.value, UnsafeCheckpointError)


def test_missing_checkpoint_names_the_file(tmp_path):
    path = str(tmp_path / 'nowhere.pth')
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        safe_load(path)


# ------------------------------------------- MMEngine's schemes, by behaviour
def test_every_mmengine_scheme_refuses_a_payload(tmp_path, monkeypatch):
    """Local files, http(s) (PyTorch's hub download and cache),
    torchvision:// names and s3/petrel (MMEngine's file backend) all end in
    the safe reader: the payload never runs."""
    from mmengine.runner.checkpoint import CheckpointLoader
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=dict(w=_RunsCommand(str(marker)))), evil)

    def fake_download(url, dst, progress=False):
        import shutil
        shutil.copy(evil, dst)

    monkeypatch.setattr('torch.hub.download_url_to_file', fake_download)
    monkeypatch.setattr('torch.hub.get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(
        'mmengine.runner.checkpoint.get_torchvision_models',
        lambda: dict(resnet50='https://example.org/r50.pth'))

    class Backend:
        def get(self, filename):
            return evil.read_bytes()

    monkeypatch.setattr('mmengine.fileio.get_file_backend',
                        lambda *a, **k: Backend())
    for name in (str(evil), 'https://example.org/evil.pth',
                 'torchvision://resnet50', 's3://bucket/evil.pth'):
        with pytest.raises(UnsafeCheckpointError):
            CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert not marker.exists()
    # ... and a good file goes through each of them.
    good = _checkpoint_bytes()
    evil.write_bytes(good)
    import shutil
    shutil.rmtree(tmp_path / 'hub')
    assert torch.equal(
        CheckpointLoader.load_checkpoint('s3://bucket/ok.pth')['state_dict']
        ['w'], torch.ones(64, 64))
