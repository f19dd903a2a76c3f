"""The private parts of timm the families use, in one place.

A family uses an image model's own computation wherever it can, so that
its features stay exactly timm's; where timm exposes a step only as a
private method or a module-level function, it is named here with what the
family relies on, and ``tests/models/test_timm_private.py`` checks each
against timm's public forward, so that a timm release that changes one
fails there first, naming it. The timm releases tested are the range in
``setup.py``.
"""

#: ``module.attribute`` -> what the families rely on (and who uses it).
TIMM_PRIVATE = {
    'timm.models.vision_transformer.VisionTransformer._pos_embed':
        'patch tokens [B, L, D] -> [B, prefix + L, D]: prefix tokens '
        'concatenated and positions added as forward_features does '
        '(TimmViT.embed)',
    'timm.models.eva.Eva._pos_embed':
        'patch tokens -> (tokens with the class token and positions, after '
        'patch dropout; the rotary embedding or None) as forward_features '
        'computes them (TimmEva.embed)',
    'timm.models.swin_transformer.SwinTransformerBlock._attn':
        'normalised NHWC tokens -> the block\'s shifted-window attention '
        'branch, NHWC, without the residual (AIMSwinBlock.attention)',
    'timm.models.hiera.Hiera._pos_embed':
        'patch tokens [B, H*W, D] in raster order -> the same with the '
        'absolute positions added (windowed and global ones for abswin) as '
        'forward_features does, before unroll (TimmHiera.embed)',
    'timm.models.hiera.HieraBlock.forward':
        'the residual AIMHieraBlock.shortcut re-implements: x, or at a '
        'stage transition (do_expand) proj(norm1(x)) max-pooled over the '
        'attention\'s q_stride (without proj: max and mean pools '
        'concatenated); the attention\'s qkv laid out [3, heads, head_dim] '
        '(projected_attention)',
    'timm.models.hiera.checkpoint_filter_fn':
        '(state dict, model) -> timm\'s names of an original or timm Hiera '
        'file (TimmHiera.convert)',
    'timm.models.vision_transformer.checkpoint_filter_fn':
        '(state dict, model) -> the state dict in the model\'s names, '
        'converting released layouts (TimmViT.convert; the same '
        'module-level function of eva, beit and swin_transformer)',
}
