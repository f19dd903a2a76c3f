"""AIM on today's image models (PE-Core, DINOv3, SigLIP 2, AIMv2,
InternViT-300M): each config's image model, shrunk to a tiny size that
keeps its own blocks and features, gives exactly timm's features of every
frame at initialisation, and a file in timm's layout loads strictly."""
import os.path as osp

import pytest
import timm
import torch
from torch import nn

import mmaction_aim  # noqa: F401  (registrations)
from conftest import load_config
from mmaction_aim.models import AIMBackbone
from .helpers import assert_adapters_see_time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Config stem -> frame size of its tiny instance (3x3 patches).
MODELS = {
    'aim_pecore-vitb16': 48,
    'aim_pecore-vitl14': 42,
    'aim_dinov3-vitb16': 48,
    'aim_dinov3-vitl16': 48,
    'aim_siglip2-vitb16': 48,
    'aim_siglip2-so400m14': 42,
    'aim_aimv2-vitl14': 42,
    'aim_internvit-300m14': 42,
}
#: What makes each image model what it is, as :func:`_features` reads it
#: (the same for the full model and its tiny instance).
FEATURES = {
    'aim_pecore-vitb16': dict(
        cls='Eva', block='EvaBlock', attn='AttentionRope', mlp='Mlp',
        norm='LayerNorm', class_token=True, registers=0, rope=True,
        positions=True, layer_scale=False, qk_norm=False, pool='map',
        norm_pre=True, final_norm=True),
    'aim_dinov3-vitb16': dict(
        cls='Eva', block='EvaBlock', attn='EvaAttention', mlp='Mlp',
        norm='LayerNorm', class_token=True, registers=4, rope=True,
        positions=False, layer_scale=True, qk_norm=False, pool='token',
        norm_pre=False, final_norm=True),
    'aim_siglip2-vitb16': dict(
        cls='VisionTransformer', block='Block', attn='Attention', mlp='Mlp',
        norm='LayerNorm', class_token=False, registers=0, rope=False,
        positions=True, layer_scale=False, qk_norm=False, pool='map',
        norm_pre=False, final_norm=True),
    'aim_aimv2-vitl14': dict(
        cls='VisionTransformer', block='Block', attn='Attention',
        mlp='SwiGLU', norm='RmsNorm', class_token=False, registers=0,
        rope=False, positions=True, layer_scale=False, qk_norm=False,
        pool='avg', norm_pre=False, final_norm=True),
    'aim_internvit-300m14': dict(
        cls='VisionTransformer', block='Block', attn='Attention', mlp='Mlp',
        norm='LayerNorm', class_token=True, registers=0, rope=False,
        positions=True, layer_scale=True, qk_norm=False, pool='token',
        norm_pre=False, final_norm=False),
}
FEATURES['aim_pecore-vitl14'] = FEATURES['aim_pecore-vitb16']
FEATURES['aim_dinov3-vitl16'] = FEATURES['aim_dinov3-vitb16']
FEATURES['aim_siglip2-so400m14'] = FEATURES['aim_siglip2-vitb16']
TINY = dict(embed_dim=32, depth=2, num_heads=2)


def _image_model(stem: str, dataset: str = 'k400') -> dict:
    return dict(load_config(osp.join(REPO, 'configs', f'{stem}_{dataset}.py')
                            ).model.backbone.image_model)


def _tiny(stem: str) -> dict:
    """The config's image model (type, name, its timm_kwargs) at width 32,
    2 blocks, 3x3 patches."""
    cfg = _image_model(stem)
    return dict(cfg, timm_kwargs=dict(cfg.get('timm_kwargs') or {}, **TINY,
                                      img_size=MODELS[stem]))


def _timm(image_model: dict, **kwargs) -> nn.Module:
    return timm.create_model(image_model['model_name'], pretrained=False,
                             **dict(image_model['timm_kwargs'], **kwargs))


def _features(model: nn.Module) -> dict:
    block = model.blocks[0]
    layer_scale = getattr(block, 'gamma_1', None) is not None or not \
        isinstance(getattr(block, 'ls1', nn.Identity()), nn.Identity)
    return dict(
        cls=type(model).__name__, block=type(block).__name__,
        attn=type(block.attn).__name__, mlp=type(block.mlp).__name__,
        norm=type(block.norm1).__name__,
        class_token=getattr(model, 'cls_token', None) is not None,
        registers=model.num_prefix_tokens - int(
            getattr(model, 'cls_token', None) is not None),
        rope=getattr(model, 'rope', None) is not None,
        positions=getattr(model, 'pos_embed', None) is not None,
        layer_scale=layer_scale,
        qk_norm=not isinstance(getattr(block.attn, 'q_norm', nn.Identity()),
                               nn.Identity),
        pool=model.global_pool,
        norm_pre=not isinstance(model.norm_pre, nn.Identity),
        final_norm=not isinstance(model.norm, nn.Identity))


def _perturb(module: nn.Module, seed: int = 1) -> None:
    """Non-trivial norms, layer scales and prefix tokens (timm starts them
    at 1, 1e-5 or near 0), so that a skipped or misplaced one shows."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if 'adapter' in name or 'temporal_embedding' in name:
                continue
            if param.dim() == 1 and ('norm' in name or 'gamma' in name):
                param.copy_(1 + 0.3 * torch.randn_like(param))
            elif name.endswith(('cls_token', 'reg_token')):
                param.copy_(0.3 * torch.randn_like(param))


def _frames(plain: nn.Module, clips: torch.Tensor) -> torch.Tensor:
    """timm's own features of every frame, ``[B, D, T]``."""
    b, _, t = clips.shape[:3]
    frames = clips.transpose(1, 2).flatten(0, 1)  # [B*T, 3, H, W]
    with torch.no_grad():
        out = plain.forward_head(plain.forward_features(frames),
                                 pre_logits=True)  # [B*T, D]
    return out.view(b, t, -1).transpose(1, 2)


@pytest.mark.parametrize('stem', sorted(MODELS))
def test_both_datasets_adapt_the_same_image_model(stem):
    assert _image_model(stem, 'ssv2') == _image_model(stem)
    assert _image_model(stem)['type'] in ('TimmViT', 'TimmEva')


@pytest.mark.parametrize('stem', sorted(MODELS))
def test_tiny_instance_keeps_the_models_features(stem):
    image_model = _image_model(stem)
    with torch.device('meta'):
        full = _timm(image_model, num_classes=0)
    tiny = _timm(_tiny(stem), num_classes=0)
    assert _features(full) == _features(tiny) == FEATURES[stem]


@pytest.mark.parametrize('stem', sorted(MODELS))
def test_identity_at_init_against_timm(stem):
    image_model, size = _tiny(stem), MODELS[stem]
    torch.manual_seed(0)
    backbone = AIMBackbone(image_model, num_frames=3)
    backbone.init_weights()
    _perturb(backbone)
    backbone.eval()
    plain = _timm(image_model, num_classes=0).eval()
    weights = {k[len('image_model.'):]: v
               for k, v in backbone.state_dict().items()
               if k.startswith('image_model.') and 'adapter' not in k}
    plain.load_state_dict(weights, strict=True)
    clips = torch.randn(2, 3, 3, size, size)
    with torch.no_grad():
        out = backbone(clips)  # [B, D, T]
    assert out.shape == (2, 32, 3)
    torch.testing.assert_close(out, _frames(plain, clips), atol=1e-5,
                               rtol=0)

    # Trained adapters change the output, and frame 0 sees frame 2
    # through the temporal adaptation (PE-Core's attention pool gives
    # features of about 0.06 at init: a smaller bound).
    assert_adapters_see_time(backbone, clips, out, frame_effect=1e-5)


@pytest.mark.parametrize('stem', sorted(MODELS))
def test_timm_file_loads_strictly(stem, tmp_path):
    """A ``.safetensors`` file of timm's model as timm releases it (its
    pretrained head included, where it has one) loads strictly: only
    AIM's new parameters are missing."""
    from safetensors.torch import save_file
    image_model, size = _tiny(stem), MODELS[stem]
    torch.manual_seed(3)
    plain = _timm(image_model).eval()
    _perturb(plain, seed=3)
    path = tmp_path / f"{image_model['model_name']}.safetensors"
    save_file({k: v.contiguous() for k, v in plain.state_dict().items()},
              str(path))
    plain.reset_classifier(0)
    backbone = AIMBackbone(image_model, num_frames=2, pretrained=str(path))
    backbone.init_weights()
    clips = torch.randn(1, 3, 2, size, size)
    with torch.no_grad():
        torch.testing.assert_close(backbone.eval()(clips),
                                   _frames(plain, clips), atol=1e-5, rtol=0)
