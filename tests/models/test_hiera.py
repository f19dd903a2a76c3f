"""AIM on timm's Hiera, a hierarchical ViT whose blocks pool their tokens:
exact to timm at initialisation, timm's files load strictly, one training
step trains exactly AIM's parameters, the adapters see time."""
import pytest
import timm
import torch
from safetensors.torch import save_file

import mmaction_aim  # noqa: F401  (registrations)
from mmaction_aim.checkpoint import ImageModelMismatchError
from mmaction_aim.models import AIMBackbone
from mmaction_aim.models.families import (TimmHiera,
                                          UnsupportedImageModelError)
from .helpers import (assert_adapters_see_time,
                      assert_steps_train_exactly_the_trainable,
                      build_recognizer)

NAME = 'hiera_tiny_224'
#: A tiny Hiera (width 16, four stages of 2 blocks, 64-px frames); the
#: abswin variant: windowed absolute positions, layer scale, the pooled
#: shortcut without a projection (a concatenated max and mean pool).
TINY = dict(embed_dim=16, num_heads=1, stages=(2, 2, 2, 2), img_size=64)
ABSWIN = dict(embed_dim=16, num_heads=1, stages=(1, 2, 2, 1), img_size=64,
              global_pos_size=(4, 4))
CASES = {
    'hiera_tiny_224': (NAME, TINY),
    'hiera_abswin': ('hiera_small_abswin_256', ABSWIN),
    'hiera_mask_units_everywhere': (NAME, dict(
        TINY, img_size=96, mask_unit_attn=(True, True, True, False))),
}


def _backbone(name=NAME, timm_kwargs=TINY, **kwargs):
    backbone = AIMBackbone(dict(model_name=name, timm_kwargs=timm_kwargs),
                           num_frames=kwargs.pop('num_frames', 4), **kwargs)
    backbone.init_weights()
    return backbone


def _perturbed_twin(backbone, name, timm_kwargs, seed=1):
    """timm's model with the backbone's image weights, every norm and layer
    scale perturbed in both (a skipped affine map or scale shows)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for key, param in backbone.image_model.named_parameters():
            if 'adapter' not in key and ('norm' in key or '.ls' in key):
                param.add_(torch.randn_like(param) * 0.2)
    plain = timm.create_model(name, pretrained=False, num_classes=0,
                              **timm_kwargs).eval()
    image = {k: v for k, v in backbone.image_model.state_dict().items()
             if 'adapter' not in k}
    plain.load_state_dict(image, strict=True)
    return plain


def _timm_frames(plain, clips):
    b, c, t, h, w = clips.shape
    with torch.no_grad():
        out = plain(clips.transpose(1, 2).reshape(b * t, c, h, w))
    return out.view(b, t, -1).transpose(1, 2)  # [B, D, T]


@pytest.mark.parametrize('case', sorted(CASES))
def test_identity_at_init_against_timm(case):
    name, timm_kwargs = CASES[case]
    torch.manual_seed(0)
    backbone = _backbone(name, timm_kwargs).eval()
    assert isinstance(backbone.family, TimmHiera)  # chosen by the name
    plain = _perturbed_twin(backbone, name, timm_kwargs)
    size = timm_kwargs['img_size']
    clips = torch.randn(2, 3, 4, size, size)
    with torch.no_grad():
        out = backbone(clips)
    assert out.shape == (2, plain.num_features, 4)
    assert torch.equal(out, _timm_frames(plain, clips))
    # The temporal embedding is on every token: one per time step.
    assert backbone.temporal_embedding.shape == (1, 4, 16)


def test_no_attention_along_time_where_the_block_pools():
    backbone = _backbone()
    blocks = list(backbone.image_model.blocks)
    pools = [b.do_expand for b in blocks]
    assert pools == [False, False, True, False, True, False, True, False]
    assert [b.temporal_adapter is not None for b in blocks] == \
        [not p for p in pools]
    # Adapters at each block's output width (doubling at each stage).
    assert [b.joint_adapter.fc1.in_features for b in blocks] == \
        [16, 16, 32, 32, 64, 64, 128, 128]


def test_one_training_step_trains_exactly_aims_parameters():
    torch.manual_seed(0)
    model = build_recognizer(image_model=dict(
        model_name=NAME, timm_kwargs=TINY), num_classes=3,
        backbone_extra=dict(drop_path_rate=0.2))
    model.init_weights()
    model.train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    for name in trainable:
        assert ('adapter' in name or name.startswith((
            'cls_head.', 'backbone.image_model.head.norm.',
            'backbone.temporal_embedding'))), name
    assert 'backbone.image_model.head.norm.weight' in trainable
    assert_steps_train_exactly_the_trainable(
        model, torch.randn(2, 1, 3, 4, 64, 64), torch.tensor([0, 2]))


def test_trained_adapters_see_time():
    torch.manual_seed(0)
    backbone = _backbone().eval()
    clips = torch.randn(1, 3, 4, 64, 64)
    with torch.no_grad():
        out = backbone(clips)
    assert_adapters_see_time(backbone, clips, out)


def test_recomputation_and_checkpointing_change_nothing():
    torch.manual_seed(0)
    models = [_backbone(recompute_frozen=r, with_cp=cp)
              for r, cp in (((), False), (('temporal', 'spatial', 'mlp'),
                                          False), ((), True))]
    with torch.no_grad():
        for module in models[0].modules():
            if hasattr(module, 'fc2'):
                module.fc2.weight.normal_(std=0.2)
    for model in models[1:]:
        model.load_state_dict(models[0].state_dict())
    clips = torch.randn(1, 3, 4, 64, 64)
    results = []
    for model in models:
        out = model.train()(clips)
        out.square().mean().backward()
        results.append((out.detach(), {n: p.grad for n, p in
                                       model.named_parameters()
                                       if p.requires_grad}))
    for out, grads in results[1:]:
        torch.testing.assert_close(out, results[0][0], rtol=0, atol=0)
        for name, grad in grads.items():
            torch.testing.assert_close(grad, results[0][1][name], msg=name)


def test_timm_file_loads_strictly(tmp_path):
    torch.manual_seed(3)
    plain = timm.create_model(NAME, pretrained=False, num_classes=10,
                              **TINY)
    path = tmp_path / 'model.safetensors'
    save_file(plain.state_dict(), str(path))  # timm's layout, classifier
    backbone = _backbone(pretrained=str(path)).eval()
    plain.reset_classifier(0)
    plain.eval()
    clips = torch.randn(1, 3, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(backbone(clips), _timm_frames(plain, clips))
    vit = timm.create_model('vit_base_patch16_224', pretrained=False,
                            num_classes=0, img_size=32, embed_dim=32,
                            depth=1, num_heads=2)
    save_file(vit.state_dict(), str(tmp_path / 'vit.safetensors'))
    with pytest.raises(ImageModelMismatchError):
        _backbone(pretrained=str(tmp_path / 'vit.safetensors'))


def test_hieradet_is_not_hiera():
    with pytest.raises(UnsupportedImageModelError, match='HieraDet'):
        AIMBackbone(dict(type='TimmHiera', model_name='hieradet_small',
                         timm_kwargs=dict(embed_dim=16, num_heads=1,
                                          stages=(1, 1, 1, 1))),
                    num_frames=2)


def test_meta_original_file_loads(tmp_path):
    """Meta's release wraps its weights in ``model_state`` and names the
    final norm ``norm``; timm's filter renames it."""
    torch.manual_seed(4)
    plain = timm.create_model(NAME, pretrained=False, num_classes=0,
                              **TINY).eval()
    state = {('norm.' + k[len('head.norm.'):] if k.startswith('head.norm.')
              else k): v for k, v in plain.state_dict().items()}
    path = tmp_path / 'hiera_meta.pth'
    torch.save({'model_state': state, 'epoch': 1}, path)
    backbone = _backbone(pretrained=str(path)).eval()
    clips = torch.randn(1, 3, 4, 64, 64)
    with torch.no_grad():
        assert torch.equal(backbone(clips), _timm_frames(plain, clips))


def test_positions_are_resized_to_the_frame_size(tmp_path):
    """A 64-px file in a 96-px model: the positions resampled as timm
    resamples a ViT's (bicubic on the patch grid)."""
    from timm.layers import resample_abs_pos_embed
    torch.manual_seed(5)
    plain = timm.create_model(NAME, pretrained=False, num_classes=0, **TINY)
    path = tmp_path / 'hiera64.safetensors'
    save_file(plain.state_dict(), str(path))
    backbone = _backbone(timm_kwargs=dict(TINY, img_size=96),
                         pretrained=str(path))
    expected = resample_abs_pos_embed(plain.pos_embed.detach(), [24, 24],
                                      [16, 16], num_prefix_tokens=0)
    assert torch.equal(backbone.image_model.pos_embed.detach(), expected)


def test_another_models_file_and_frame_size_are_refused(tmp_path):
    vit = timm.create_model('vit_base_patch16_224', pretrained=False,
                            num_classes=0, img_size=32, embed_dim=32,
                            depth=1, num_heads=2)
    path = tmp_path / 'vit.safetensors'
    save_file(vit.state_dict(), str(path))
    with pytest.raises(ImageModelMismatchError,
                       match=r'a ViT \(timm layout\).*16 -> 32 -> 64 -> 128'):
        _backbone(pretrained=str(path))
    with pytest.raises(UnsupportedImageModelError,
                       match='must be a multiple of 32'):
        _backbone(timm_kwargs=dict(TINY, img_size=80))


def test_a_hiera_file_is_not_called_a_vit(tmp_path):
    plain = timm.create_model(NAME, pretrained=False, num_classes=0, **TINY)
    path = tmp_path / 'hiera.safetensors'
    save_file(plain.state_dict(), str(path))
    with pytest.raises(ImageModelMismatchError,
                       match=r'a hierarchical ViT .*16 -> 32 -> 64 -> 128'):
        AIMBackbone(dict(model_name='vit_base_patch16_224', timm_kwargs=dict(
            img_size=32, embed_dim=32, depth=1, num_heads=2)),
            num_frames=2, pretrained=str(path)).init_weights()
