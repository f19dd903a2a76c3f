"""Each private part of timm a family uses
(:data:`mmaction_aim.models.families.timm_private.TIMM_PRIVATE`) still does
what the family relies on: checked against timm's public forward, so that a
timm release that changes one fails here, naming it."""
import importlib

import pytest
import timm
import torch

from mmaction_aim.models.families.timm_private import TIMM_PRIVATE

TINY = dict(embed_dim=32, depth=1, num_heads=2, img_size=32, num_classes=0)


def _resolve(name):
    module, _, attribute = name.rpartition('.')
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError:  # Class.method
        module, _, owner = module.rpartition('.')
        return getattr(getattr(importlib.import_module(module), owner),
                       attribute)


@pytest.mark.parametrize('name', sorted(TIMM_PRIVATE))
def test_every_listed_part_exists(name):
    assert callable(_resolve(name)), name


def _tokens(model, x):
    return model.patch_embed(x)


def test_vit_pos_embed_is_what_forward_features_does():
    torch.manual_seed(0)
    model = timm.create_model('vit_base_patch16_224', reg_tokens=2,
                              **TINY).eval()
    x = torch.randn(2, 3, 32, 32)
    ours = model.norm(model.blocks(model.norm_pre(model._pos_embed(
        _tokens(model, x)))))
    torch.testing.assert_close(ours, model.forward_features(x), rtol=0,
                               atol=0)
    assert ours.shape[1] == 1 + 2 + 4  # class, registers, 2x2 patches


def test_eva_pos_embed_gives_tokens_and_rope():
    torch.manual_seed(0)
    model = timm.create_model('vit_pe_core_base_patch16_224', **TINY).eval()
    x = torch.randn(2, 3, 32, 32)
    tokens, rope = model._pos_embed(_tokens(model, x))
    tokens = model.norm_pre(tokens)
    for block in model.blocks:
        tokens = block(tokens, rope=rope)
    torch.testing.assert_close(model.norm(tokens), model.forward_features(x),
                               rtol=0, atol=0)


def test_swin_attn_is_the_blocks_attention_branch():
    torch.manual_seed(0)
    model = timm.create_model('swin_tiny_patch4_window7_224', img_size=56,
                              embed_dim=32, depths=(2,), num_heads=(2,),
                              num_classes=0).eval()
    block = model.layers[0].blocks[1]  # a shifted window
    x = torch.randn(2, 14, 14, 32)  # NHWC
    branch = block._attn(block.norm1(x))
    expected = x + branch
    expected = expected + block.mlp(block.norm2(expected))
    torch.testing.assert_close(block(x), expected, rtol=0, atol=1e-6)


def test_checkpoint_filter_fn_keeps_timms_own_names():
    from timm.models.vision_transformer import checkpoint_filter_fn
    model = timm.create_model('vit_base_patch16_224', **TINY)
    state = model.state_dict()
    filtered = checkpoint_filter_fn(dict(state), model)
    assert set(filtered) == set(state)
    for key, value in state.items():
        assert torch.equal(filtered[key], value), key
