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


def test_hiera_pos_embed_and_block_are_what_forward_features_does():
    from mmaction_aim.models.layers.projected_attention import \
        projected_attention
    torch.manual_seed(0)
    model = timm.create_model('hiera_tiny_224', embed_dim=16, num_heads=1,
                              stages=(1, 1, 1, 2), img_size=64,
                              num_classes=0).eval()
    x = torch.randn(2, 3, 64, 64)
    tokens = model.unroll(model._pos_embed(model.patch_embed(x)))
    for block in model.blocks:
        # The residual as the family re-implements it, then the rest of
        # timm's block.
        if block.do_expand:
            short = block.proj(block.norm1(tokens))
            short = short.view(2, block.attn.q_stride, -1,
                               short.shape[-1]).amax(1)
        else:
            short = tokens
        tokens_next = short + block.ls1(block.attn(block.norm1(tokens)))
        tokens_next = tokens_next + block.ls2(block.mlp(block.norm2(
            tokens_next)))
        torch.testing.assert_close(tokens_next, block(tokens), rtol=0,
                                   atol=0)
        tokens = tokens_next
    torch.testing.assert_close(tokens, model.forward_features(x), rtol=0,
                               atol=0)
    # The attention's qkv layout: on a global-attention block without
    # pooling, the projections alone give timm's attention.
    block = model.blocks[-1]
    assert not block.attn.use_mask_unit_attn and block.attn.q_stride == 1
    h = torch.randn(3, 5, block.dim)
    torch.testing.assert_close(projected_attention(block.attn, h),
                               block.attn(h), rtol=0, atol=1e-6)
