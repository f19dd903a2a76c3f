"""The fit check and the runner's loads: keys and shapes compared with the
model's own, the model untouched, every file read once."""
import pytest
import torch
from mmengine.config import Config

from conftest import TINY_CONFIG

from mmaction_aim.checkpoint import (CheckpointMismatchError,
                                     CheckpointReadError, check_fits,
                                     find_mismatches)
from models.helpers import build_recognizer, clip_backbone

ARCH = dict(patch_size=8, width=32, layers=2, heads=2)


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
    check_fits(model, other.state_dict())
    assert _unchanged(model, before)


def test_another_architecture_is_named_and_changes_nothing():
    model = build_recognizer(num_classes=5)
    state = build_recognizer(num_classes=7).state_dict()
    state['backbone.not_in_the_model'] = torch.zeros(1)
    del state['backbone.image_model.ln_post.bias']
    before = _snapshot(model)
    with pytest.raises(CheckpointMismatchError) as info:
        check_fits(model, state, name='other.pth')
    message = str(info.value)
    assert 'other.pth does not fit AIMRecognizer' in message
    assert 'cls_head.fc_cls.weight: checkpoint [7, 32] vs model [5, 32]' \
        in message
    assert 'cls_head.fc_cls.bias: checkpoint [7] vs model [5]' in message
    assert 'backbone.image_model.ln_post.bias' in message  # missing
    assert 'backbone.not_in_the_model' in message  # unexpected
    assert _unchanged(model, before)
    # On the meta device too (nothing allocated).
    with torch.device('meta'):
        meta = build_recognizer(num_classes=5)
    assert find_mismatches(meta, state) == find_mismatches(model, state)


def test_what_the_pipeline_adapts_fits():
    """An 8-frame checkpoint into a 4-frame model: the pipeline's resize
    step makes it fit; a new head can be exempt."""
    model = build_recognizer(num_frames=4, num_classes=5)
    eight = build_recognizer(num_frames=8, num_classes=9).state_dict()
    assert [s.split(':')[0] for s in find_mismatches(model, eight)[
        'shape']] == ['backbone.temporal_embedding',
                      'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias']
    problems = find_mismatches(model, model.adapt_state_dict(eight))
    assert problems['missing'] == problems['unexpected'] == []
    assert [s.split(':')[0] for s in problems['shape']] == [
        'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias']
    assert find_mismatches(model, model.adapt_state_dict(eight),
                           ignore=[r'^cls_head\.']) == dict(
        missing=[], unexpected=[], shape=[])


def _runner(cfg):
    from mmaction.registry import RUNNERS
    return RUNNERS.build(cfg)


def _count_reads(monkeypatch):
    reads = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        reads.append(str(getattr(f, 'name', f)))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, 'load', counting_load)
    return reads


def test_runner_reads_the_checkpoint_once(tmp_path, monkeypatch):
    """tools/test.py's path: AIMRunner reads the file once, safely, and
    loads it strictly."""
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    model = build_recognizer(arch=ARCH, input_resolution=32, num_classes=3)
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    cfg.load_from = path
    runner = _runner(cfg)
    reads = _count_reads(monkeypatch)
    runner.load_or_resume()
    assert reads == [path]
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v)
               for k, v in model.state_dict().items())


def test_unreadable_remote_checkpoint_is_an_error(tmp_path, monkeypatch):
    """Before 0.2 it was logged as unchecked and left to MMEngine's
    non-strict load; now it is an error naming it."""
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = 'https://example.invalid/ckpt.pth'
    runner = _runner(cfg)

    class Unreachable:
        def get(self, filename):
            raise OSError('network unreachable')

    monkeypatch.setattr('mmengine.fileio.io.get_file_backend',
                        lambda *a, **k: Unreachable())
    with pytest.raises(CheckpointReadError,
                       match=r'example\.invalid.*network unreachable'):
        runner.load_or_resume()


@pytest.mark.parametrize('initialises', [False, True])
def test_adapter_only_checkpoint_reads_each_file_once(tmp_path, monkeypatch,
                                                       initialises):
    """An adapter-only file: the image model's file is read once (testing:
    by the merge; training: by init_weights, the adapters then loaded onto
    it), the adapter file once."""
    torch.manual_seed(0)
    trained = build_recognizer(arch=ARCH, input_resolution=32, num_classes=3)
    image_model = str(tmp_path / 'image_model.pth')
    plain = clip_backbone(arch=ARCH, input_resolution=32, init=False,
                          adapters=(), temporal_embedding=False)
    torch.save({k[len('image_model.'):]: v for k, v in
                trained.backbone.state_dict().items()
                if k in plain.state_dict()}, image_model)
    trained.backbone.pretrained = image_model
    adapters = str(tmp_path / 'adapters.pth')
    trained.save_adapters(adapters)

    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.pretrained = image_model
    cfg.load_from = adapters
    runner = _runner(cfg)
    reads = _count_reads(monkeypatch)
    if initialises:
        runner.model.init_weights()
    runner.load_or_resume()
    assert sorted(reads) == sorted([adapters, image_model])
    got = runner.model.state_dict()
    for key, value in trained.state_dict().items():
        assert torch.equal(got[key], value), key
