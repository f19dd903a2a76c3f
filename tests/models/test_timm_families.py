"""AIM on timm's image-model families: identity with timm at init, the
original ImageNet-ViT's outputs, strict loading from timm's file formats."""
import os

import pytest
import timm
import torch
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401
from mmaction.registry import MODELS
from mmaction_aim.checkpoint import ImageModelMismatchError
from mmaction_aim.models import AIMBackbone
from mmaction_aim.models.families import UnsupportedImageModelError
from mmaction_aim.models.layers import Adapter
from mmaction_aim.models.utils import convert_official_aim, count_parameters
from .helpers import (assert_adapters_see_time,
                      assert_reproduces_reference, clip_backbone,
                      convert_with_the_tool, official_key_shapes,
                      official_parameter_counts)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
REF_DIR = os.path.join(REPO, 'tests', 'data', 'aim_reference')

TINY = dict(embed_dim=32, depth=2, num_heads=2)
#: (timm name, timm_kwargs, frame size): one tiny instance of every family.
FAMILIES = {
    'in21k': ('vit_base_patch16_224.augreg_in21k', dict(TINY, img_size=32),
              32),
    'in21k_ft_in1k': ('vit_base_patch16_224.orig_in21k_ft_in1k',
                      dict(TINY, img_size=32), 32),
    'deit3': ('deit3_base_patch16_224', dict(TINY, img_size=32), 32),
    'dinov2': ('vit_base_patch14_dinov2', dict(TINY, img_size=28), 28),
    'dinov2_reg4': ('vit_base_patch14_reg4_dinov2', dict(TINY, img_size=28),
                    28),
    'siglip': ('vit_base_patch16_siglip_224', dict(TINY, img_size=32), 32),
    'eva02': ('eva02_base_patch16_clip_224', dict(TINY, img_size=32), 32),
    'beit': ('beit_base_patch16_224.in22k_ft_in22k_in1k',
             dict(TINY, img_size=32), 32),
    'beitv2': ('beitv2_base_patch16_224', dict(TINY, img_size=32), 32),
    'clip_quickgelu': ('vit_base_patch16_clip_quickgelu_224.openai',
                       dict(TINY, img_size=32), 32),
}


def _backbone(family, **kwargs):
    """The AIMBackbone of :data:`FAMILIES` ``family``."""
    name, timm_kwargs, _ = FAMILIES[family]
    kind = dict(eva02='TimmEva', beit='TimmBeit', beitv2='TimmBeit').get(
        family, 'TimmViT')
    return AIMBackbone(dict(type=kind, model_name=name,
                            timm_kwargs=timm_kwargs), **kwargs)


def _perturb(module, seed=1):
    """Non-trivial norms and layer scales (timm starts them at 1 / 1e-5),
    so that a skipped or misplaced one is detected."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if 'adapter' in name or 'temporal_embedding' in name:
                continue
            if param.dim() == 1 and ('norm' in name or 'gamma' in name
                                     or 'ls' in name):
                param.copy_(1 + 0.3 * torch.randn_like(param))
            elif 'relative_position_bias_table' in name or 'q_bias' in name \
                    or 'v_bias' in name:  # BEiT starts them at zero
                param.copy_(0.3 * torch.randn_like(param))


def _plain_twin(backbone, name, kwargs):
    """timm's own model holding the backbone's image-model weights."""
    plain = timm.create_model(name, pretrained=False, num_classes=0,
                              **kwargs).eval()
    image = {k[len('image_model.'):]: v
             for k, v in backbone.state_dict().items()
             if k.startswith('image_model.')}
    result = plain.load_state_dict(image, strict=False)
    assert not result.missing_keys
    assert all('adapter' in k for k in result.unexpected_keys)
    return plain


def _timm_frames(plain, clips):
    frames = clips.transpose(1, 2).flatten(0, 1)  # [B*T, 3, H, W]
    with torch.no_grad():
        return plain.forward_head(plain.forward_features(frames),
                                  pre_logits=True)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_identity_at_init_against_timm(family):
    name, kwargs, size = FAMILIES[family]
    torch.manual_seed(0)
    backbone = _backbone(family, num_frames=3)
    backbone.init_weights()
    _perturb(backbone)
    backbone.eval()
    plain = _plain_twin(backbone, name, kwargs)
    clips = torch.randn(2, 3, 3, size, size)
    with torch.no_grad():
        out = backbone(clips)  # [B, D, T]
    assert out.shape == (2, 32, 3)
    expected = _timm_frames(plain, clips).view(2, 3, 32).transpose(1, 2)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)

    # Trained adapters change the output, and the temporal ones make each
    # frame's feature depend on the other frames.
    assert_adapters_see_time(backbone, clips, out)


def test_clip_through_timm_equals_aimvit():
    """timm's QuickGELU CLIP (TimmViT) and our CLIPViT compute the same AIM
    model."""
    torch.manual_seed(0)
    ours = clip_backbone(arch=dict(patch_size=16, width=32, layers=2,
                                   heads=2), input_resolution=32,
                         num_frames=3)
    _perturb(ours)
    with torch.no_grad():
        for module in ours.modules():
            if isinstance(module, Adapter):
                module.fc2.weight.normal_(std=0.2)
                module.fc2.bias.normal_(std=0.2)
        ours.temporal_embedding.normal_(std=0.2)
    # OpenAI's layout -> timm's, by the TimmViT family (timm's filter).
    clip_file = {f'visual.{k[len("image_model."):]}': v
                 for k, v in ours.state_dict().items()
                 if 'adapter' not in k and k.startswith('image_model.')}
    clip_file['visual.proj'] = torch.randn(32, 16)
    _, _, size = FAMILIES['clip_quickgelu']
    theirs = _backbone('clip_quickgelu', num_frames=3)
    theirs.load_image_state_dict(theirs.family.convert(
        clip_file, theirs.image_model, 'clip file'))
    # AIM's own parameters under the other family's names.
    with torch.no_grad():
        theirs.temporal_embedding.copy_(ours.temporal_embedding)
        for mine, other in zip(ours.image_model.transformer.resblocks,
                               theirs.image_model.blocks, strict=True):
            other.load_state_dict({k: v for k, v in mine.state_dict().items()
                                   if 'adapter' in k}, strict=False)
    clips = torch.randn(2, 3, 3, size, size)
    with torch.no_grad():
        torch.testing.assert_close(theirs.eval()(clips), ours.eval()(clips),
                                   atol=2e-5, rtol=0)


def _other_cases():
    return torch.load(os.path.join(REF_DIR, 'reference_outputs_other.pt'),
                      weights_only=True)


def _in21k_recognizer(meta):
    init_default_scope('mmaction')
    return MODELS.build(dict(
        type='AIMRecognizer',
        backbone=dict(
            type='AIMBackbone',
            image_model=dict(
                type='TimmViT', model_name='vit_base_patch16_224',
                timm_kwargs=dict(img_size=meta['img_size'],
                                 patch_size=meta['patch_size'],
                                 embed_dim=meta['embed_dim'],
                                 depth=meta['depth'],
                                 num_heads=meta['num_heads'],
                                 qkv_bias=meta['qkv_bias'])),
            num_frames=meta['num_frames'],
            num_tadapter=meta['num_tadapter'],
            adapter_scale=meta['adapter_scale']),
        cls_head=dict(type='AIMHead', num_classes=meta['num_classes'],
                      in_channels=meta['out_channels'],
                      average_clips='prob')))


@pytest.mark.parametrize('case',
                         ['vit_in21k_k400_style', 'vit_in21k_ssv2_style'])
def test_converted_official_imagenet_vit_reproduces_reference(case,
                                                              tmp_path):
    ref = _other_cases()[case]
    converted, printed = convert_with_the_tool(ref['state_dict'], tmp_path)
    assert 'imagenet_vit layout' in printed
    assert_reproduces_reference(_in21k_recognizer(ref['meta']), converted, ref,
                                atol=1e-4)


@pytest.mark.parametrize('tadapter', [1, 2])
def test_official_imagenet_vit_keys_map_onto_aimtimmvit(tadapter):
    shapes = official_key_shapes(
        f'official_keys_vit-b16-in21k_8f_tadapter{tadapter}.txt')
    converted = convert_official_aim(dict.fromkeys(shapes))
    init_default_scope('mmaction')
    with torch.device('meta'):
        model = MODELS.build(dict(
            type='AIMRecognizer',
            backbone=dict(type='AIMBackbone',
                          image_model=dict(
                              type='TimmViT',
                              model_name='vit_base_patch16_224.augreg_in21k'),
                          num_frames=8, num_tadapter=tadapter),
            cls_head=dict(type='AIMHead', num_classes=400,
                          in_channels=768)))
    ours = {k: str(list(v.shape)) for k, v in model.state_dict().items()}
    assert ours == dict(zip(converted, shapes.values(), strict=True))
    # The original's count: every key of its list, trainable by its rule.
    assert count_parameters(model) == official_parameter_counts(
        f'official_keys_vit-b16-in21k_8f_tadapter{tadapter}.txt')


def _timm_file(tmp_path, name, kwargs, fmt, seed=3):
    """A released-format file of a randomly initialised timm model."""
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False, **kwargs)
    _perturb(model, seed)
    state = model.state_dict()
    if fmt == 'safetensors':
        from safetensors.torch import save_file
        path = tmp_path / 'model.safetensors'
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    elif fmt == 'pth_wrapped':
        path = tmp_path / 'model.pth'
        torch.save(dict(model=state, epoch=3), path)
    elif fmt == 'open_clip':
        path = tmp_path / 'open_clip.pth'
        torch.save({f'visual.trunk.{k}': v for k, v in state.items()}, path)
    else:
        raise ValueError(fmt)
    return model.eval(), path


def _assert_loads_as(plain, path, family):
    """The backbone loading ``path`` computes ``plain``'s frame features."""
    _, _, size = FAMILIES[family]
    backbone = _backbone(family, num_frames=2, pretrained=str(path))
    backbone.init_weights()
    clips = torch.randn(1, 3, 2, size, size)
    with torch.no_grad():
        torch.testing.assert_close(
            backbone.eval()(clips),
            _timm_frames(plain, clips).view(1, 2, 32).transpose(1, 2),
            atol=1e-5, rtol=0)


@pytest.mark.parametrize('fmt', ['safetensors', 'pth_wrapped', 'open_clip'])
def test_pretrained_files_load_strictly_through_timm(fmt, tmp_path):
    name, kwargs, size = FAMILIES['deit3']
    plain, path = _timm_file(tmp_path, name, kwargs, fmt)
    plain.reset_classifier(0)
    _assert_loads_as(plain, path, 'deit3')


def test_original_dinov2_file_is_converted_by_timms_filter(tmp_path):
    name, kwargs, size = FAMILIES['dinov2']
    torch.manual_seed(0)
    plain = timm.create_model(name, pretrained=False, num_classes=0,
                              **kwargs).eval()
    _perturb(plain)
    # The original DINOv2 release: timm's names plus a mask token, which
    # timm's filter recognises and drops.
    original = dict(plain.state_dict())
    original['mask_token'] = torch.zeros(1, 32)
    path = tmp_path / 'dinov2_vitb14_pretrain.pth'
    torch.save(original, path)
    _assert_loads_as(plain, path, 'dinov2')


def test_google_npz_loads_through_timm(tmp_path):
    """An original Google (big_vision / jax) `.npz` file."""
    import numpy as np
    torch.set_grad_enabled(False)
    name, kwargs, size = FAMILIES['in21k']
    torch.manual_seed(0)
    plain = timm.create_model(name, pretrained=False, num_classes=0,
                              **kwargs).eval()
    _perturb(plain)
    arrays = {
        'embedding/kernel':
        plain.patch_embed.proj.weight.permute(2, 3, 1, 0).numpy(),
        'embedding/bias': plain.patch_embed.proj.bias.numpy(),
        'cls': plain.cls_token.numpy(),
        'Transformer/posembed_input/pos_embedding':
        plain.pos_embed.numpy(),
        'Transformer/encoder_norm/scale': plain.norm.weight.numpy(),
        'Transformer/encoder_norm/bias': plain.norm.bias.numpy(),
    }
    for i, block in enumerate(plain.blocks):
        p = f'Transformer/encoderblock_{i}/'
        d, h = 32, 2
        arrays[p + 'LayerNorm_0/scale'] = block.norm1.weight.numpy()
        arrays[p + 'LayerNorm_0/bias'] = block.norm1.bias.numpy()
        arrays[p + 'LayerNorm_2/scale'] = block.norm2.weight.numpy()
        arrays[p + 'LayerNorm_2/bias'] = block.norm2.bias.numpy()
        qkv_w = block.attn.qkv.weight.detach().view(3, h, d // h, d)
        qkv_b = block.attn.qkv.bias.detach().view(3, h, d // h)
        for j, n in enumerate(('query', 'key', 'value')):
            a = p + f'MultiHeadDotProductAttention_1/{n}/'
            arrays[a + 'kernel'] = qkv_w[j].permute(2, 0, 1).numpy()
            arrays[a + 'bias'] = qkv_b[j].numpy()
        a = p + 'MultiHeadDotProductAttention_1/out/'
        arrays[a + 'kernel'] = block.attn.proj.weight.detach().view(
            d, h, d // h).permute(1, 2, 0).numpy()
        arrays[a + 'bias'] = block.attn.proj.bias.numpy()
        for j, fc in enumerate((block.mlp.fc1, block.mlp.fc2)):
            m = p + f'MlpBlock_3/Dense_{j}/'
            arrays[m + 'kernel'] = fc.weight.detach().t().numpy()
            arrays[m + 'bias'] = fc.bias.numpy()
    torch.set_grad_enabled(True)
    path = tmp_path / 'ViT-B_16.npz'
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    _assert_loads_as(plain, path, 'in21k')


def test_a_file_of_another_model_is_an_error_naming_what_differs(tmp_path):
    name, kwargs, _ = FAMILIES['deit3']
    _, path = _timm_file(tmp_path, name, dict(kwargs, depth=1),
                         'safetensors')
    backbone = _backbone('deit3', num_frames=2, pretrained=str(path))
    with pytest.raises(ImageModelMismatchError, match='depth 1 vs 2'):
        backbone.init_weights()
    _, path = _timm_file(tmp_path, name, dict(kwargs, embed_dim=48),
                         'safetensors')
    backbone = _backbone('deit3', num_frames=2, pretrained=str(path))
    with pytest.raises(ImageModelMismatchError, match='width 48 vs 32'):
        backbone.init_weights()


@pytest.mark.parametrize('file_family,config_family,differing', [
    ('dinov2', 'siglip', 'class_token True vs False'),
    ('clip_quickgelu', 'siglip', 'class_token True vs False'),
    ('dinov2_reg4', 'dinov2', 'registers 4 vs 0'),
])
def test_weights_of_another_family_are_recognised_before_timm(
        file_family, config_family, differing, tmp_path):
    """Before 0.2 these ended inside timm's position resampling
    (``RuntimeError: shape '[1, 37, 37, -1]' is invalid ...``)."""
    name, kwargs, _ = FAMILIES[file_family]
    plain, path = _timm_file(tmp_path, name, kwargs, 'safetensors')
    if file_family == 'clip_quickgelu':  # as OpenAI / open_clip release it
        from mmaction_aim.models.families import FAMILIES as REGISTRY
        assert REGISTRY.get('CLIPViT')
        ours = clip_backbone(arch=dict(patch_size=16, width=32, layers=2,
                                       heads=2), input_resolution=32)
        path = tmp_path / 'open_clip.pth'
        torch.save({f'visual.{k[len("image_model."):]}': v
                    for k, v in ours.state_dict().items()
                    if k.startswith('image_model.') and 'adapter' not in k},
                   path)
    backbone = _backbone(config_family, num_frames=2, pretrained=str(path))
    with pytest.raises(ImageModelMismatchError) as info:
        backbone.init_weights()
    message = str(info.value)
    assert str(path) in message and differing in message
    assert 'model.backbone.pretrained' in message


def test_unsupported_timm_models_are_refused_with_the_reason():
    def build(name, family='TimmViT', **timm_kwargs):
        return AIMBackbone(dict(type=family, model_name=name,
                                timm_kwargs=timm_kwargs), num_frames=2)

    with pytest.raises(UnsupportedImageModelError, match='ResNet'):
        build('resnet18')
    with pytest.raises(UnsupportedImageModelError,
                       match='ParallelThingsBlock'):
        build('vit_small_patch16_18x2_224', img_size=32, embed_dim=32,
              depth=1, num_heads=2)
    # A model of another registered family says which one adapts it.
    with pytest.raises(UnsupportedImageModelError, match="type='TimmEva'"):
        build('eva02_base_patch16_clip_224', img_size=32, embed_dim=32,
              depth=1, num_heads=2)
    with pytest.raises(ValueError, match='drop_path_rate'):
        build('vit_base_patch16_224', drop_path_rate=0.1)
    with pytest.raises(KeyError, match='registered'):
        AIMBackbone(dict(type='NoSuchFamily'), num_frames=2)


def test_normalisation_comes_from_the_image_model():
    init_default_scope('mmaction')
    name, kwargs, _ = FAMILIES['in21k']
    model = MODELS.build(dict(
        type='AIMRecognizer',
        backbone=dict(type='AIMBackbone',
                      image_model=dict(type='TimmViT', model_name=name,
                                       timm_kwargs=kwargs), num_frames=2),
        cls_head=dict(type='AIMHead', num_classes=3, in_channels=32),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               mean='image_model', std='image_model',
                               format_shape='NCTHW')))
    mean = model.data_preprocessor.mean.flatten().tolist()
    std = model.data_preprocessor.std.flatten().tolist()
    assert mean == pytest.approx([127.5] * 3)
    assert std == pytest.approx([127.5] * 3)
    # The config's own numbers win.
    model = MODELS.build(dict(
        type='AIMRecognizer',
        backbone=dict(type='AIMBackbone',
                      image_model=dict(type='TimmViT', model_name=name,
                                       timm_kwargs=kwargs), num_frames=2),
        cls_head=dict(type='AIMHead', num_classes=3, in_channels=32),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               mean=[1., 2., 3.], std=[4., 5., 6.],
                               format_shape='NCTHW')))
    assert model.data_preprocessor.mean.flatten().tolist() == [1., 2., 3.]


def test_a_family_registered_outside_the_package():
    """Another package's family (tests/external_family.py), pulled in by a
    config's custom_imports, builds and is exact to its image model."""
    from mmaction_aim.analysis import build_model
    name = 'deit_tiny_distilled_patch16_224'
    kwargs = dict(TINY, img_size=32)
    cfg = dict(
        custom_imports=dict(imports=['external_family'],
                            allow_failed_imports=False),
        model=dict(type='AIMRecognizer',
                   backbone=dict(type='AIMBackbone', num_frames=2,
                                 image_model=dict(
                                     type='ExternalDistilledViT',
                                     model_name=name, timm_kwargs=kwargs)),
                   cls_head=dict(type='AIMHead', num_classes=3,
                                 in_channels=32)))
    torch.manual_seed(0)
    model = build_model(cfg, init=True).eval()
    assert type(model.backbone.family).__module__ == 'external_family'
    plain = timm.create_model(name, pretrained=False, num_classes=0,
                              **kwargs).eval()
    image = {k[len('backbone.image_model.'):]: v
             for k, v in model.state_dict().items()
             if k.startswith('backbone.image_model.') and 'adapter' not in k}
    plain.load_state_dict(image, strict=True)
    clips = torch.randn(1, 3, 2, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            model.backbone(clips),
            _timm_frames(plain, clips).view(1, 2, 32).transpose(1, 2),
            atol=1e-5, rtol=0)
