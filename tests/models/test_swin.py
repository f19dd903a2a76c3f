"""AIM on timm's Swin Transformer: identity with timm at init, the
original's outputs, its key layout and parameter count, training."""
import os
import re

import pytest
import timm
import torch
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401
from mmaction.registry import MODELS
from mmaction_aim.checkpoint import ImageModelMismatchError
from mmaction_aim.models import AIMBackbone
from mmaction_aim.models.layers import Adapter
from .helpers import (assert_reproduces_reference,
                      assert_steps_train_exactly_the_trainable,
                      convert_with_the_tool, official_key_shapes)
from mmaction_aim.models.utils import convert_official_aim

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
REF_DIR = os.path.join(REPO, 'tests', 'data', 'aim_reference')
NAME = 'swin_base_patch4_window7_224'


def _tiny(depths=(2, 2), window=7, size=56, dim=16):
    return dict(img_size=size, embed_dim=dim, depths=depths,
                num_heads=tuple(2 * 2**i for i in range(len(depths))),
                window_size=window)


def _swin(timm_kwargs=None, model_name=None, tubelet_size=2,
          train_temporal_bias=True, **kwargs):
    """An AIMBackbone on timm's Swin (family TimmSwin)."""
    return AIMBackbone(dict(type='TimmSwin', model_name=model_name or NAME,
                            timm_kwargs=timm_kwargs,
                            tubelet_size=tubelet_size,
                            train_temporal_bias=train_temporal_bias),
                       **kwargs)


def _tables(backbone):
    """The temporal bias tables, the family's own new parameters."""
    return list(backbone.own_block_parameters())


def _perturb_norms(module, seed=1):
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if 'norm' in name and param.dim() == 1:
                param.copy_(1 + 0.3 * torch.randn_like(param))


@pytest.mark.parametrize('depths,window,size', [
    ((2, 2), 7, 56), ((2, 3, 2), 7, 112), ((1, 2), 4, 32), ((4, ), 2, 16)])
def test_identity_at_init_against_timm(depths, window, size):
    """Frames in identical pairs: every time step is timm's own Swin."""
    kwargs = _tiny(depths, window, size)
    torch.manual_seed(0)
    backbone = _swin(timm_kwargs=kwargs, num_frames=4,
                       tubelet_size=2)
    backbone.init_weights()
    _perturb_norms(backbone)
    backbone.eval()
    plain = timm.create_model(NAME, pretrained=False, num_classes=0,
                              **kwargs).eval()
    image = {k[len('image_model.'):]: v
             for k, v in backbone.state_dict().items()
             if k.startswith('image_model.')}
    # The tubelet weight back to 2-D: the sum over its frames.
    image['patch_embed.proj.weight'] = image['patch_embed.proj.weight'].sum(2)
    result = plain.load_state_dict(image, strict=False)
    assert not result.missing_keys
    assert all('adapter' in k or 'temporal_position' in k
               for k in result.unexpected_keys)
    frames = torch.randn(2, 3, 2, size, size)  # 2 distinct frames
    clips = frames.repeat_interleave(2, dim=2)  # [f0, f0, f1, f1]
    with torch.no_grad():
        out = backbone(clips)  # [B, C, T', H', W']
        expected = plain.forward_features(
            frames.transpose(1, 2).flatten(0, 1))  # [B*T', H', W', C]
    c = expected.shape[-1]
    assert out.shape == (2, c, 2, *expected.shape[1:3])
    torch.testing.assert_close(out, expected.view(2, 2, *expected.shape[1:])
                               .permute(0, 4, 1, 2, 3), atol=1e-5, rtol=0)


def _swin_recognizer(meta, device=None):
    init_default_scope('mmaction')
    cfg = dict(
        type='AIMRecognizer',
        backbone=dict(type='AIMBackbone',
                      image_model=dict(
                          type='TimmSwin', model_name=NAME, tubelet_size=2,
                          timm_kwargs=dict(
                              embed_dim=meta['embed_dim'],
                              depths=tuple(meta['depths']),
                              num_heads=tuple(meta['num_heads']),
                              window_size=meta['window_size'],
                              img_size=meta.get('img_size', 224))),
                      num_frames=meta['num_frames'], adapter_scale=0.5),
        cls_head=dict(type='AIMHead', num_classes=meta['num_classes'],
                      in_channels=meta['out_channels']))
    if device is None:
        return MODELS.build(cfg)
    with torch.device(device):
        return MODELS.build(cfg)


def test_converted_official_swin_reproduces_reference(tmp_path):
    ref = torch.load(os.path.join(REF_DIR, 'reference_outputs_other.pt'),
                     weights_only=True)['swin2d_adapter']
    converted, printed = convert_with_the_tool(ref['state_dict'], tmp_path)
    assert 'swin layout' in printed
    assert_reproduces_reference(_swin_recognizer(ref['meta']), converted, ref,
                                atol=1e-4)


def _numel(shape):
    n = 1
    for d in eval(shape):
        n *= d
    return n


def test_official_swin_b_keys_map_and_count():
    """Swin-B, 32 frames, 400 classes, built on the meta device: every
    parameter of the original's key list has a home here with its shape,
    and the totals agree (the stored buffers are rebuilt, not loaded)."""
    shapes = official_key_shapes('official_keys_swin-b_32f.txt')
    theirs = convert_official_aim(shapes)  # values carried along
    init_default_scope('mmaction')
    with torch.device('meta'):
        model = MODELS.build(dict(
            type='AIMRecognizer',
            backbone=dict(type='AIMBackbone',
                          image_model=dict(
                              type='TimmSwin',
                              model_name='swin_base_patch4_window7_224',
                              tubelet_size=2),
                          num_frames=32),
            cls_head=dict(type='AIMHead', num_classes=400,
                          in_channels=1024)))
    ours = {k: str(list(v.shape)) for k, v in model.state_dict().items()}
    assert ours == theirs
    total = sum(p.numel() for p in model.parameters())
    buffers = ('relative_position_index', 't_relative_coords', 'attn_mask')
    assert total == sum(_numel(s) for k, s in shapes.items()
                        if not k.endswith(buffers))
    assert round(total / 1e6, 2) == 95.93


def test_only_the_adaptation_trains_and_gets_gradients():
    meta = dict(embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                window_size=7, num_frames=4, num_classes=3, out_channels=32,
                img_size=56)
    model = _swin_recognizer(meta)
    model.init_weights()
    model.train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    for name in trainable:
        assert ('adapter' in name or 'temporal_position_bias_table' in name
                or name.startswith(('cls_head.', 'backbone.image_model.'
                                    'norm.'))), name
    # Temporal adaptation in the unshifted (even) blocks of every stage.
    blocks = [m for m in model.modules() if type(m).__name__ ==
              'AIMSwinBlock']
    assert [b.temporal_adapter is not None for b in blocks] == \
        [True, False, True, False]
    torch.manual_seed(0)
    assert_steps_train_exactly_the_trainable(
        model, torch.randn(2, 1, 3, 4, 56, 56), torch.tensor([0, 2]),
        steps=3)


def test_temporal_bias_trains_by_choice():
    kwargs = dict(timm_kwargs=_tiny(), num_frames=4)
    frozen = _swin(train_temporal_bias=False, **kwargs)
    tables = _tables(frozen)
    assert tables and not any(t.requires_grad for t in tables)
    # Chosen by structure, an adapter-only file keeps them either way.
    assert any('temporal_position_bias_table' in k
               for k in frozen.adaptation_parameter_names())
    assert all(t.requires_grad for t in _tables(_swin(**kwargs)))


def test_microsoft_swin_file_loads_in_timms_layout(tmp_path):
    """An original Microsoft Swin file (`model` key, downsampling at the
    end of stages, stored buffers) loads strictly and is inflated."""
    kwargs = _tiny()
    torch.manual_seed(0)
    plain = timm.create_model(NAME, pretrained=False, num_classes=0,
                              **kwargs).eval()
    _perturb_norms(plain)
    original = {}
    for key, value in plain.state_dict().items():
        key = re.sub(r'^layers\.(\d+)\.downsample',
                     lambda m: f'layers.{int(m.group(1)) - 1}.downsample',
                     key)
        original[key] = value
    original['layers.0.blocks.0.attn.relative_position_index'] = \
        torch.zeros(49, 49, dtype=torch.long)
    path = tmp_path / 'swin_tiny_patch4_window7_224.pth'
    torch.save(dict(model=original), path)
    backbone = _swin(timm_kwargs=kwargs, num_frames=2,
                       pretrained=str(path))
    backbone.init_weights()
    frames = torch.randn(1, 3, 1, 56, 56)
    with torch.no_grad():
        out = backbone.eval()(frames.repeat_interleave(2, dim=2))
        expected = plain.forward_features(frames[:, :, 0])
    torch.testing.assert_close(out[:, :, 0], expected.permute(0, 3, 1, 2),
                               atol=1e-5, rtol=0)
    # A file of another model is an error naming what differs.
    del original['layers.1.blocks.1.mlp.fc1.weight']
    torch.save(dict(model=original), path)
    with pytest.raises(ImageModelMismatchError, match=r'mlp\.fc1\.weight'):
        _swin(timm_kwargs=kwargs, num_frames=2,
                pretrained=str(path)).init_weights()


def test_trained_adapters_connect_time_steps():
    torch.manual_seed(0)
    backbone = _swin(timm_kwargs=_tiny(), num_frames=6).eval()
    with torch.no_grad():
        for module in backbone.modules():
            if isinstance(module, Adapter):
                module.fc1.weight.normal_(std=0.5)
                module.fc2.weight.normal_(std=0.5)
        clips = torch.randn(1, 3, 6, 56, 56)
        out = backbone(clips)
        other = clips.clone()
        other[:, :, 4:] = torch.randn(1, 3, 2, 56, 56)  # time step 2 only
        step0 = backbone(other)[:, :, 0]
    assert (step0 - out[:, :, 0]).abs().max() > 1e-4


def test_activation_checkpointing_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    kwargs = dict(timm_kwargs=_tiny(), num_frames=4, drop_path_rate=0.)
    plain = _swin(**kwargs)
    with torch.no_grad():
        for module in plain.modules():
            if isinstance(module, Adapter):
                module.fc2.weight.normal_(std=0.2)
    checkpointed = _swin(with_cp=True, **kwargs)
    checkpointed.load_state_dict(plain.state_dict())
    clips = torch.randn(1, 3, 4, 56, 56)
    outs, grads = [], []
    for model in (plain.train(), checkpointed.train()):
        out = model(clips)
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.requires_grad})
    torch.testing.assert_close(outs[0], outs[1])
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], msg=name)


def test_a_file_of_another_window_size_is_resized_as_timm_does(tmp_path):
    """Pre-trained at another window (as the 384-px Swins, window 12): the
    relative position tables are resized as timm does; the load is strict."""
    other = dict(_tiny(), window_size=4)
    torch.manual_seed(0)
    # Headless: timm 1.0.24 and older take such a file for Microsoft's
    # layout; ours tells them apart by stage 0's patch merging.
    source = timm.create_model(NAME, pretrained=False, num_classes=0,
                               **other)
    path = tmp_path / 'swin_window4.pth'
    torch.save(source.state_dict(), path)
    backbone = _swin(timm_kwargs=_tiny(), num_frames=2,
                       pretrained=str(path))
    backbone.init_weights()
    table = backbone.image_model.layers[0].blocks[0].attn \
        .relative_position_bias_table
    assert table.shape == (13 * 13, 2)  # (2 * 7 - 1)^2 entries
    torch.testing.assert_close(backbone.image_model.layers[0].blocks[0]
                               .mlp.fc1.weight,
                               source.layers[0].blocks[0].mlp.fc1.weight)
