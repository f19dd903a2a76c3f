"""Which image model adapter-only files are merged onto: decided by what
computes (family, activation, weights), not by how a config spells the
model's name; another family is said in one short sentence."""
import pytest
import torch

from mmaction_aim.checkpoint import CheckpointMismatchError, read_checkpoint
from models.helpers import build_recognizer, randomise_adapters, \
    tiny_open_clip


def _adapter_file(tmp_path, image_model, edit):
    model = build_recognizer(backbone_extra=dict(pretrained=image_model))
    model.init_weights()
    randomise_adapters(model)
    path = tmp_path / 'adapters.pth'
    model.save_adapters(str(path))
    checkpoint = torch.load(path, weights_only=True)
    edit(checkpoint)
    torch.save(checkpoint, path)
    return model.eval(), str(path)


def _fresh(image_model):
    return build_recognizer(backbone_extra=dict(pretrained=image_model))


def test_the_same_weights_spelled_another_way_merge(tmp_path):
    """Before: refused by the name before the weights were compared."""
    image_model = str(tmp_path / 'clip.pth')
    torch.save(tiny_open_clip(seed=0).state_dict(), image_model)

    def respell(checkpoint):
        checkpoint['meta']['image_model']['name'] = 'ViT-B-16-quickgelu'
    trained, path = _adapter_file(tmp_path, image_model, respell)
    fresh = _fresh(image_model)
    fresh.load_checkpoint(read_checkpoint(path), name=path)
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_other_weights_are_refused_with_the_names(tmp_path):
    first, other = str(tmp_path / 'a.pth'), str(tmp_path / 'b.pth')
    torch.save(tiny_open_clip(seed=0).state_dict(), first)
    torch.save(tiny_open_clip(seed=1).state_dict(), other)

    def respell(checkpoint):
        checkpoint['meta']['image_model']['name'] = 'ViT-B-16-quickgelu'
    _, path = _adapter_file(tmp_path, first, respell)
    with pytest.raises(CheckpointMismatchError) as info:
        _fresh(other).load_checkpoint(read_checkpoint(path), name=path)
    assert 'weights:' in str(info.value)
    assert "name: file 'ViT-B-16-quickgelu'" in str(info.value)


def test_another_family_is_one_short_sentence(tmp_path):
    """Before: 1,360 characters of key names, no family named."""
    image_model = str(tmp_path / 'clip.pth')
    torch.save(tiny_open_clip(seed=0).state_dict(), image_model)

    def as_timm(checkpoint):
        checkpoint['meta']['image_model'] = dict(
            family='TimmViT', name='vit_base_patch16_224.augreg_in21k')
        checkpoint['state_dict'] = {
            k.replace('transformer.resblocks', 'blocks'): v
            for k, v in checkpoint['state_dict'].items()}
    _, path = _adapter_file(tmp_path, image_model, as_timm)
    with pytest.raises(CheckpointMismatchError) as info:
        _fresh(image_model).load_checkpoint(read_checkpoint(path), name=path)
    message = str(info.value)
    assert "family: file 'TimmViT' vs model 'CLIPViT'" in message
    assert len(message) < 600 and '\n' not in message
