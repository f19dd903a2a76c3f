"""Checkpoints load with weights_only semantics: MMEngine's own content
loads, anything else is refused before it can run."""
import os
import os.path as osp
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
    assert osp.isfile(path)
