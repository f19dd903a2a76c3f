"""Drop-path units: which elements of ``[B, T, N, D]`` share one mask."""
import pytest
import torch
from timm.layers import DropPath

from mmaction_aim.models import AIMBackbone
from mmaction_aim.models.layers import BranchDropPath
from .helpers import build_recognizer, clip_family, randomise_adapters

B, T, N, D = 3, 4, 50, 2


def _masks(per, p=0.5, seed=0):
    """The kept scale of every (clip, frame, token) for an input of ones."""
    module = BranchDropPath(p, T, per).train()
    torch.manual_seed(seed)
    out = module(torch.ones(B * T, N, D))
    assert torch.equal(out[..., 0], out[..., 1])  # channels always share
    return out[..., 0].view(B, T, N)


def _varies(masks, dim):
    return not torch.equal(masks, masks.narrow(dim, 0, 1).expand_as(masks))


@pytest.mark.parametrize('per,shared,drawn', [
    (('clip', 'frame'), (2, ), (0, 1)),
    (('token', ), (0, 1), (2, )),
    (('clip', 'token'), (1, ), (0, 2)),
])
def test_one_mask_per_unit(per, shared, drawn):
    masks = _masks(per)
    assert set(masks.unique().tolist()) == {0., 2.}  # kept ones rescaled
    for dim in shared:
        assert not _varies(masks, dim), f'{per}: axis {dim} must share'
    for dim in drawn:
        assert _varies(masks, dim), f'{per}: axis {dim} must be drawn'


def test_per_frame_draws_what_a_per_sample_drop_path_draws():
    """The default unit is timm's DropPath on ``[B*T, N, D]``, draw for
    draw, so that frame-unit training is unchanged by the option."""
    x = torch.randn(B * T, N, D)
    torch.manual_seed(5)
    ours = BranchDropPath(0.3, T).train()(x)
    torch.manual_seed(5)
    theirs = DropPath(0.3).train()(x)
    assert torch.equal(ours, theirs)


def test_identity_in_eval_mode_and_at_rate_zero():
    x = torch.randn(B * T, N, D)
    assert BranchDropPath(0.5, T, ('token', )).eval()(x) is x
    assert BranchDropPath(0., T, ('token', )).train()(x) is x
    with pytest.raises(ValueError, match='subset'):
        BranchDropPath(0.1, T, ('channel', ))


TIMM_VIT = dict(type='TimmViT', model_name='vit_base_patch16_224',
                timm_kwargs=dict(img_size=32, embed_dim=32, depth=2,
                                 num_heads=2))
SWIN = dict(type='TimmSwin', model_name='swin_tiny_patch4_window7_224',
            tubelet_size=2,
            timm_kwargs=dict(embed_dim=16, depths=(2, 2), num_heads=(1, 2),
                             window_size=7, img_size=224))


@pytest.mark.parametrize('image_model,axis,temporal,joint', [
    (clip_family(), 'frame', ('clip', 'frame'), ('clip', 'frame')),
    (clip_family(), 'original', ('token', ), ('token', )),
    # The original's ViT_ImageNet ran batch-first: per frame.
    (TIMM_VIT, 'original', ('clip', 'frame'), ('clip', 'frame')),
    (SWIN, 'original', ('clip', 'token'), ('clip', 'frame')),
])
def test_the_backbone_gives_every_block_its_unit(image_model, axis, temporal,
                                                 joint):
    with torch.device('meta'):
        model = build_recognizer(
            image_model=image_model,
            backbone_extra=dict(drop_path_rate=0.2, drop_path_axis=axis))
    blocks = [m for m in model.modules()
              if hasattr(m, 'temporal_drop_path')]
    assert blocks
    for block in blocks:
        assert block.temporal_drop_path.per == temporal
        assert block.drop_path.per == joint
    # Rates rise linearly from 0 over the blocks, as before.
    rates = [b.drop_path.drop_prob for b in blocks]
    assert rates[0] == 0 and rates[-1] == pytest.approx(0.2)


def test_an_unknown_axis_is_refused():
    with pytest.raises(ValueError, match="'frame' or 'original'"):
        build_recognizer(backbone_extra=dict(drop_path_axis='batch'))


def _timm_vit_block(p, num_frames=T):
    """The last block (rate ``p``) of a tiny TimmViT AIM backbone drawing
    drop-path as the original, its adapters non-zero, in train mode."""
    torch.manual_seed(0)
    backbone = AIMBackbone(TIMM_VIT, num_frames=num_frames,
                           drop_path_rate=p, drop_path_axis='original')
    randomise_adapters(backbone)
    block = backbone.image_model.blocks[-1].train()
    assert block.drop_path.drop_prob == pytest.approx(p)
    return block


def test_timm_vit_original_draws_what_timm_draws_on_frames():
    """Both branches of a TimmViT block under 'original' draw exactly what
    timm's DropPath draws on ``[B*T, N, D]`` (what the original's
    ViT_ImageNet applied it to), draw for draw."""
    block = _timm_vit_block(0.5)
    x = torch.randn(B * T, N, D)
    for branch in (block.temporal_drop_path, block.drop_path):
        torch.manual_seed(3)
        ours = branch(x)
        torch.manual_seed(3)
        theirs = DropPath(0.5).train()(x)
        assert torch.equal(ours, theirs)
        assert not torch.equal(ours, x)  # something was dropped


def test_timm_vit_block_trains_as_the_originals_vit_imagenet_block():
    """A whole training forward of a TimmViT block under 'original', with a
    seeded RNG, equals the original ViT_ImageNet block's formula
    (``vit_imagenet.py``: batch-first, one timm DropPath used by both the
    temporal and the joint branch) on the same layers and the same draws."""
    block = _timm_vit_block(0.5)
    n, d = 5, 32  # a 32-pixel frame: 4 patches and the class token
    b = 2
    x = torch.randn(b * T, n, d)
    with torch.no_grad():
        torch.manual_seed(11)
        ours = block(x)
        drop_path = DropPath(0.5).train()
        torch.manual_seed(11)
        # '(b t) n d -> (b n) t d', attention along time, back.
        xt = x.view(b, T, n, d).transpose(1, 2).reshape(b * n, T, d)
        xt = block.temporal_adapter(block.attn(block.norm1(xt)))
        xt = xt.view(b, n, T, d).transpose(1, 2).reshape(b * T, n, d)
        y = x + drop_path(xt)
        y = y + block.spatial_adapter(block.attn(block.norm1(y)))
        yn = block.norm2(y)
        theirs = y + block.mlp(yn) + drop_path(
            block.adapter_scale * block.joint_adapter(yn))
        torch.manual_seed(11)
        block.eval()
        undropped = block(x)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert not torch.allclose(ours, undropped)  # the draws mattered
