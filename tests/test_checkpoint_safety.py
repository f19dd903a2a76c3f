"""Checkpoints are read with weights_only semantics (never PyTorch's
default): MMEngine's own content loads, anything else is refused, from the
file's structure, before it can run."""
import enum
import os
import pickle
from collections import OrderedDict, defaultdict

import numpy as np
import pytest
import torch

import mmaction_aim  # noqa: F401
from mmaction_aim.checkpoint import (CheckpointReadError,
                                     UnsafeCheckpointError,
                                     allow_checkpoint_globals)
from mmaction_aim.checkpoint import read_checkpoint as safe_load


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


def test_the_runners_loads_refuse_it_too(tmp_path, monkeypatch):
    """load_from / --resume / tools/test.py: AIMRunner.load_checkpoint reads
    through the safe reader, local files and URLs (MMEngine's file
    backends) alike, whatever PyTorch's default."""
    from mmaction_aim.engine import AIMRunner
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=dict(w=_RunsCommand(str(marker)))), path)

    class Backend:
        def get(self, filename):
            return path.read_bytes()

    monkeypatch.setattr('mmengine.fileio.io.get_file_backend',
                        lambda *a, **k: Backend())
    runner = AIMRunner.__new__(AIMRunner)  # only load_checkpoint is used
    runner.call_hook = lambda *a, **k: None
    for name in (str(path), 'https://example.org/evil.pth',
                 's3://bucket/evil.pth'):
        with pytest.raises(UnsafeCheckpointError):
            AIMRunner.load_checkpoint(runner, name)
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
    (the end-to-end tests load real ones; this pins the list)."""
    from mmaction_aim.checkpoint import allow_list_in_effect
    path = str(tmp_path / 'ok.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    with allow_list_in_effect():
        assert torch.serialization.get_unsafe_globals_in_checkpoint(
            path) == []
    found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in found


def test_a_legacy_pickle_is_scanned_too(tmp_path):
    """PyTorch's pre-1.6 format (several pickles in a row): what it names
    is found without running it."""
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'legacy.pth')
    torch.save(dict(w=torch.ones(2), x=_RunsCommand(str(marker))), path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        safe_load(path)
    assert not marker.exists()
    torch.save(dict(w=torch.ones(2)), path,
               _use_new_zipfile_serialization=False)
    assert torch.equal(safe_load(path)['w'], torch.ones(2))


# ----------------------------------------------- scoped, never torch.load
class Probe:
    """Plain data a user may allow by name."""

    def __init__(self, value: int = 0) -> None:
        self.value = value


class Colour(enum.Enum):
    """An enum of a user's, allowed by name too."""

    RED = 1


@pytest.fixture
def fresh_user_allow_list(monkeypatch):
    from mmaction_aim.checkpoint import allow_list
    monkeypatch.setattr(allow_list, '_user_globals', {})


def test_allow_list_leaves_others_entries_in_place(tmp_path):
    """An entry someone added process-wide before (one of ours, too)
    survives our reads; ours are gone after them."""
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


def test_user_classes_allowed_by_name_only(tmp_path, fresh_user_allow_list):
    path = str(tmp_path / 'probe.pth')
    torch.save(dict(meta=dict(probe=Probe(5), colour=Colour.RED)), path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(path)
    message = str(info.value)
    assert f'{__name__}.Probe' in message
    assert 'allow_checkpoint_globals' in message
    assert 'checkpoint_safe_globals' in message
    allow_checkpoint_globals([f'{__name__}.Probe', f'{__name__}.Colour'])
    loaded = safe_load(path)
    assert loaded['meta']['probe'].value == 5
    assert loaded['meta']['colour'] is Colour.RED


@pytest.mark.parametrize('name,why', [
    ('numpy.load', 'function'),          # a function: calling it is code
    ('torch.load', 'function'),
    ('operator.attrgetter', 'run code'),  # a class of a dangerous module
    ('functools.partial', 'run code'),
    ('io.FileIO', 'run code'),
    ('os.system', 'run code'),
    ('builtins.eval', 'run code'),
    ('subprocess.Popen', 'run code'),
    ('posix.system', 'run code'),
    ('mmaction_aim.checkpoint', 'module'),
    ('mmaction_aim.no_such_thing', 'no such object'),
])
def test_only_classes_can_be_allowed(name, why, fresh_user_allow_list):
    """Before 0.2, numpy.load, operator.attrgetter and torch.load were
    accepted although the docstring said objects that can run code are
    refused."""
    with pytest.raises(ValueError, match=why):
        allow_checkpoint_globals([name])
    from mmaction_aim.checkpoint.allow_list import _user_globals
    assert not _user_globals


def test_classification_comes_from_the_file_not_a_message(tmp_path,
                                                          monkeypatch):
    """A file whose pickle names nothing unsafe is never called unsafe, even
    when the load fails with words that sound like it; the read error then
    carries no advice to load unsafely."""
    path = str(tmp_path / 'ok.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(2))), path)

    def fails(*args, **kwargs):
        raise pickle.UnpicklingError(
            'Weights only load failed. Unsupported global: GLOBAL x.y. '
            'Re-running torch.load with weights_only set to False will '
            'likely succeed, but it can result in arbitrary code execution.')

    monkeypatch.setattr(torch, 'load', fails)
    with pytest.raises(CheckpointReadError) as info:
        safe_load(path)
    assert not isinstance(info.value, UnsafeCheckpointError)
    assert 'weights_only' not in str(info.value)
    assert 'False' not in str(info.value)


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
    with pytest.raises(FileNotFoundError) as info:
        safe_load(path)
    assert info.value.filename == path


def test_a_load_failure_keeps_its_cause(tmp_path):
    """A good file that torch.load cannot place (a CUDA map_location on a
    machine without one) is not called damaged: the cause is given."""
    if torch.cuda.is_available():
        pytest.skip('needs a machine without CUDA')
    path = tmp_path / 'good.pth'
    path.write_bytes(_checkpoint_bytes())
    with pytest.raises(CheckpointReadError) as info:
        safe_load(str(path), map_location='cuda')
    assert 'truncated or damaged' not in str(info.value)
    assert 'torch.load failed' in str(info.value)
    assert 'CUDA' in str(info.value)
