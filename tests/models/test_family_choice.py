"""A timm name is enough: the family is chosen from the class timm builds
for it, and a class no family adapts is refused naming the families."""
import pytest
import torch
from mmengine.config import Config

from mmaction_aim.engine.resolve import resolve
from mmaction_aim.models.families import (UnsupportedImageModelError,
                                          build_family, family_of_timm_model)


@pytest.mark.parametrize('name,family', [
    ('vit_pe_core_base_patch16_224', 'TimmEva'),      # PE-Core: an Eva
    ('vit_base_patch16_dinov3', 'TimmEva'),           # DINOv3: an Eva
    ('vit_base_patch16_siglip_224.v2_webli', 'TimmViT'),  # SigLIP 2
    ('aimv2_large_patch14_224', 'TimmViT'),
    ('vit_intern300m_patch14_448', 'TimmViT'),
    ('swin_base_patch4_window7_224', 'TimmSwin'),
    ('beit_base_patch16_224', 'TimmBeit'),
    ('hiera_base_224.mae_in1k_ft_in1k', 'TimmHiera'),
])
def test_the_family_of_a_timm_name(name, family):
    assert family_of_timm_model(name) == family


def test_a_class_no_family_adapts_is_refused_naming_the_families():
    with pytest.raises(UnsupportedImageModelError) as info:
        family_of_timm_model('mvitv2_tiny')
    message = str(info.value)
    assert 'timm.models.mvitv2.MultiScaleVit' in message
    for adapts in ('TimmEva (Eva)', 'TimmViT (VisionTransformer)',
                   'TimmSwin (SwinTransformer)', 'TimmBeit (Beit)',
                   'TimmHiera (Hiera)'):
        assert adapts in message
    with pytest.raises(UnsupportedImageModelError, match='no model'):
        family_of_timm_model('vit_no_such_model')


def test_a_config_naming_only_the_model():
    """The resolution names the family (shown by print_config); building
    without it chooses the same."""
    tiny = dict(embed_dim=32, depth=1, num_heads=2, img_size=32)
    image_model = dict(model_name='vit_pe_core_base_patch16_224',
                       timm_kwargs=tiny)
    cfg = Config(dict(model=dict(backbone=dict(type='AIMBackbone',
                                               image_model=image_model))))
    resolved, changes = resolve(cfg, accelerator=False)
    assert resolved.model.backbone.image_model.type == 'TimmEva'
    assert any('model.backbone.image_model.type' in str(c) and
               'vit_pe_core_base_patch16_224' in str(c) for c in changes)
    with torch.device('meta'):
        family = build_family(image_model, num_frames=2)
    assert type(family).__name__ == 'TimmEva'


def test_a_head_of_another_width_is_refused_when_built():
    """Naming another image model but keeping the head: one sentence when
    the model is built, not a failed product at the first step."""
    from mmaction_aim.analysis import build_model
    from mmaction_aim.utils import BadInputError
    cfg = dict(type='AIMRecognizer', backbone=dict(
        type='AIMBackbone', num_frames=2, image_model=dict(
            model_name='vit_tiny_patch16_224',
            timm_kwargs=dict(img_size=32, depth=1))),
        cls_head=dict(type='AIMHead', num_classes=3, in_channels=768))
    with pytest.raises(BadInputError, match='in_channels=192'):
        build_model(cfg, device='meta')
    cfg['cls_head']['in_channels'] = 192
    assert build_model(cfg, device='meta').cls_head.in_channels == 192
