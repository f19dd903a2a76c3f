"""The checkpoint-fit check: decided by PyTorch's own load_state_dict on a
weightless twin, the model untouched, every file read once."""
import logging

import pytest
import torch
from mmengine.config import Config

from conftest import TINY_CONFIG

from mmaction_aim.engine import (CheckpointMismatchError,
                                 check_checkpoint_matches, find_mismatches)
from models.helpers import build_recognizer


def _snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _unchanged(model, before):
    after = model.state_dict()
    return set(after) == set(before) and all(
        torch.equal(after[k], v) for k, v in before.items())


def test_a_fitting_checkpoint_passes_and_changes_nothing():
    torch.manual_seed(0)
    model = build_recognizer()
    other = build_recognizer()  # same architecture, other weights
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.)
    before = _snapshot(model)
    check_checkpoint_matches(model, dict(state_dict=other.state_dict()))
    assert _unchanged(model, before)


def test_another_architecture_is_named_and_changes_nothing():
    model = build_recognizer(num_classes=5)
    state = build_recognizer(num_classes=7).state_dict()
    state['backbone.not_in_the_model'] = torch.zeros(1)
    del state['backbone.ln_post.bias']
    before = _snapshot(model)
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_matches(model, state, name='other.pth')
    message = str(info.value)
    assert 'other.pth does not fit AIMRecognizer' in message
    assert 'cls_head.fc_cls.weight: checkpoint [7, 32] vs model [5, 32]' \
        in message
    assert 'cls_head.fc_cls.bias: checkpoint [7] vs model [5]' in message
    assert 'backbone.ln_post.bias' in message  # missing
    assert 'backbone.not_in_the_model' in message  # unexpected
    assert _unchanged(model, before)


def test_what_the_model_adapts_on_load_fits():
    """An 8-frame checkpoint into a 4-frame model: the temporal embedding is
    interpolated on load, so it is no mismatch; a new head can be exempt."""
    model = build_recognizer(num_frames=4, num_classes=5)
    eight = build_recognizer(num_frames=8, num_classes=9).state_dict()
    problems = find_mismatches(model, eight)
    assert problems['missing'] == problems['unexpected'] == []
    assert [s.split(':')[0] for s in problems['shape']] == [
        'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias']
    assert find_mismatches(model, eight, ignore=[r'^cls_head\.']) == dict(
        missing=[], unexpected=[], shape=[])


def test_runner_reads_the_checkpoint_once(tmp_path, monkeypatch):
    """tools/test.py's path: the check reads the file, MMEngine's load then
    takes what was read."""
    from mmengine.runner import Runner

    import mmaction_aim  # noqa: F401
    from mmaction_aim.engine.runner_setup import checked_checkpoint
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    model = build_recognizer(arch=dict(patch_size=8, width=32, layers=2,
                                       heads=2), input_resolution=32,
                             num_classes=3)
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    cfg.load_from = path
    runner = Runner.from_cfg(cfg)
    reads = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        reads.append(f)
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, 'load', counting_load)
    with checked_checkpoint(runner):
        runner.load_or_resume()
    assert reads == [path]
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v)
               for k, v in model.state_dict().items())


def test_unreadable_remote_checkpoint_is_said_to_be_unchecked(
        tmp_path, monkeypatch):
    from mmengine.runner import Runner

    from mmaction_aim.engine.runner_setup import checked_checkpoint
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = 'https://example.invalid/ckpt.pth'
    runner = Runner.from_cfg(cfg)

    def no_network(*args, **kwargs):
        raise OSError('network unreachable')

    monkeypatch.setattr('torch.hub.download_url_to_file', no_network)
    monkeypatch.setattr('torch.hub.get_dir', lambda: str(tmp_path / 'hub'))
    with checked_checkpoint(runner):
        pass
    log_file, = [h.baseFilename for h in runner.logger.handlers
                 if isinstance(h, logging.FileHandler)]
    with open(log_file) as f:
        assert 'was NOT checked' in f.read()


@pytest.mark.parametrize('initialises', [False, True])
def test_adapter_only_checkpoint_reads_each_file_once(tmp_path, monkeypatch,
                                                       initialises):
    """An adapter-only file: the image model's file is read once (testing:
    the merge; training: init_weights, then MMEngine's load of the adapters
    onto it), the adapter file once."""
    from mmengine.runner import Runner

    from mmaction_aim.engine.runner_setup import checked_checkpoint
    from mmaction_aim.models import AIMViT
    arch = dict(patch_size=8, width=32, layers=2, heads=2)
    torch.manual_seed(0)
    trained = build_recognizer(arch=arch, input_resolution=32, num_classes=3)
    image_model = str(tmp_path / 'image_model.pth')
    torch.save({k: v for k, v in trained.backbone.state_dict().items()
                if k in set(AIMViT(arch=arch, input_resolution=32,
                                   num_frames=4, adapters=(),
                                   temporal_embedding=False).state_dict())},
               image_model)
    trained.backbone.pretrained = image_model
    adapters = str(tmp_path / 'adapters.pth')
    trained.save_adapters(adapters)

    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.pretrained = image_model
    cfg.load_from = adapters
    runner = Runner.from_cfg(cfg)
    reads = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        reads.append(str(f))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, 'load', counting_load)
    with checked_checkpoint(runner, initialises=initialises):
        if initialises:
            runner.model.init_weights()
        runner.load_or_resume()
    assert sorted(reads) == sorted([adapters, image_model])
    got = runner.model.state_dict()
    for key, value in trained.state_dict().items():
        assert torch.equal(got[key], value), key
