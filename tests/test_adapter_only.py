"""Adapter-only checkpoints: one definition (by structure), tied to the
image model they were trained on, and read by every tool."""
import os

import pytest
import torch

from mmaction_aim.checkpoint import CheckpointMismatchError, read_checkpoint
from conftest import TINY_CONFIG, call_tool, data_options
from models.helpers import (build_recognizer, clip_backbone, clips,
                            randomise_adapters, tiny_open_clip)


def _clip_file(path, seed=0):
    torch.manual_seed(seed)
    torch.save(tiny_open_clip(seed=seed).state_dict(), path)
    return str(path)


def _trained(image_model, **extra):
    model = build_recognizer(backbone_extra=dict(pretrained=image_model,
                                                 **extra))
    model.init_weights()
    randomise_adapters(model)
    return model.eval()


def test_an_adapter_file_of_vit_b16_holds_what_the_original_trains():
    """ViT-B/16 with a 400-class head: 10,966,672 numbers, the original's
    trainable count, out of 97M (the file is about a ninth of the full
    one)."""
    with torch.device('meta'):
        model = build_recognizer(arch='ViT-B/16', input_resolution=224,
                                 num_frames=8, num_classes=400)
    state = model.state_dict()
    kept = sum(state[k].numel() for k in model.adapter_keys())
    assert kept == 10_966_672
    assert kept / sum(v.numel() for v in state.values()) < 0.12


def test_adapter_only_checkpoint_reproduces_full_model(tmp_path):
    image_model = _clip_file(tmp_path / 'clip.pth')
    trained = _trained(image_model)
    path = tmp_path / 'adapters.pth'
    trained.save_adapters(str(path))
    checkpoint = torch.load(path, weights_only=True)
    meta = checkpoint['meta']
    assert meta['adapter_only'] is True
    assert meta['image_model']['family'] == 'CLIPViT'
    assert len(meta['image_model']['weights']) == 16
    state = checkpoint['state_dict']
    # Chosen by structure: with the default freezing, exactly what trains.
    assert set(state) == {n for n, p in trained.named_parameters()
                          if p.requires_grad}
    # ... and the same set when a user has changed what trains.
    trained.backbone.image_model.ln_post.requires_grad_(False)
    assert set(trained.adapter_state_dict()) == set(state)

    # A fresh model, image model never loaded: the merge loads it.
    fresh = build_recognizer(
        backbone_extra=dict(pretrained=image_model)).eval()
    fresh.load_checkpoint(read_checkpoint(path), name=str(path))
    with torch.no_grad():
        torch.testing.assert_close(
            fresh(clips(), mode='tensor', stage='head'),
            trained(clips(), mode='tensor', stage='head'))
    # Without the image model's path the merge cannot happen, and a plain
    # state-dict load does not guess: it reports the missing image model.
    with pytest.raises(CheckpointMismatchError, match='pretrained'):
        build_recognizer().load_adapters(state, meta)
    with pytest.raises(RuntimeError, match='Missing key'):
        fresh.load_state_dict(state, strict=True)


def test_adapters_of_another_image_model_are_refused(tmp_path):
    """Before 0.2, DINOv2 adapters merged onto a SigLIP config without a
    word. Here: the same architecture with other weights, and another
    family of the same width."""
    trained_on = _clip_file(tmp_path / 'a.pth', seed=0)
    other_weights = _clip_file(tmp_path / 'b.pth', seed=1)
    path = tmp_path / 'adapters.pth'
    _trained(trained_on).save_adapters(str(path))
    checkpoint = read_checkpoint(path)

    model = build_recognizer(backbone_extra=dict(pretrained=other_weights))
    with pytest.raises(CheckpointMismatchError) as info:
        model.load_checkpoint(checkpoint, name=str(path))
    message = str(info.value)
    assert str(path) in message and 'weights' in message
    assert '--allow-other-image-model' in message
    # Allowed explicitly: merged, with a warning.
    model.load_checkpoint(checkpoint, name=str(path),
                          allow_other_image_model=True)
    # Another family altogether is refused before its weights are read.
    other_family = build_recognizer(
        backbone_extra=dict(pretrained=str(tmp_path / 'never_read.pth')),
        image_model=dict(type='CLIPViT', arch=dict(
            patch_size=8, width=32, layers=2, heads=2, act='gelu'),
            input_resolution=16))
    with pytest.raises(CheckpointMismatchError, match="act: file 'quick_gelu"):
        other_family.load_checkpoint(checkpoint, name=str(path))


def test_files_without_an_image_model_record_still_load(tmp_path):
    """Adapter-only files written before 0.2 (``trainable_only`` or
    ``adapter_only`` without ``image_model``) load, with a warning."""
    image_model = _clip_file(tmp_path / 'clip.pth')
    trained = _trained(image_model)
    path = tmp_path / 'old.pth'
    torch.save(dict(state_dict=trained.adapter_state_dict(),
                    meta=dict(trainable_only=True)), path)
    fresh = build_recognizer(backbone_extra=dict(pretrained=image_model))
    fresh.load_checkpoint(read_checkpoint(path), name=str(path))
    for key, value in trained.adapter_state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_a_published_adapter_file_of_a_frozen_norm_config_tests(
        video_dataset, tmp_path):
    """publish_model --adapter-only and tools/test.py share one definition:
    before 0.2 the tool kept what trained (no ln_post with
    freeze_ln_post=True) and tools/test.py refused its own file."""
    image_model = str(tmp_path / 'clip.pth')
    torch.save({f'visual.{k[len("image_model."):]}': v for k, v in
                clip_backbone(input_resolution=32).state_dict().items()
                if k.startswith('image_model.')}, image_model)
    options = data_options(video_dataset) + [
        f'model.backbone.pretrained={image_model}',
        'model.backbone.freeze_ln_post=True', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=2']  # no validation: not what is tested
    work = str(tmp_path / 'work')
    call_tool(['train.py', TINY_CONFIG, '--work-dir', work,
               '--cfg-options', *options])
    published = call_tool([
        'analysis/publish_model.py', os.path.join(work, 'epoch_1.pth'),
        str(tmp_path / 'adapters.pth'), '--adapter-only']).stdout
    path = published.split(':')[0]
    meta = read_checkpoint(path)['meta']
    assert meta['adapter_only'] and 'trainable_only' not in meta
    assert any('ln_post' in k for k in read_checkpoint(path)['state_dict'])
    full = call_tool(['test.py', TINY_CONFIG, os.path.join(work,
                                                           'epoch_1.pth'),
                      '--work-dir', str(tmp_path / 't1'), '--cfg-options',
                      *options])
    adapters = call_tool(['test.py', TINY_CONFIG, path, '--work-dir',
                          str(tmp_path / 't2'), '--cfg-options', *options])
    assert full.returncode == adapters.returncode == 0
    # Another image model: one error line.
    other = _clip_file(tmp_path / 'other.pth', seed=3)
    proc = call_tool(['test.py', TINY_CONFIG, path, '--cfg-options',
                      *options, f'model.backbone.pretrained={other}'],
                     check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ')
    assert 'another image model' in lines[0]
