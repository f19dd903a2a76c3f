"""Which image models have a text tower, and whether a head's text model
goes with the backbone's image model.

A classifier started from class names is only meaningful when the text
tower was trained with the very image model the backbone adapts: its
embeddings live in that image model's joint space. :func:`check_pairing`
compares the two configs (no weights are read): CLIP's vision transformer
with an open_clip CLIP of the same patch, width, depth, heads and
activation; a timm model with the open_clip model whose image tower is
that timm model (SigLIP, SigLIP 2, PE-Core, EVA-02-CLIP), pooled the same
way. Anything else is refused in one sentence saying why.
"""
from typing import List, Union

import torch

from ...utils.errors import BadInputError
from .towers import NoTextTowerError, text_tower_spec

#: What timm models without a text tower are, by a part of their name.
IMAGE_ONLY = (
    ('dinov2', 'self-supervised (DINOv2)'),
    ('dinov3', 'self-supervised (DINOv3)'),
    ('mim', 'masked image modelling'),
    ('aimv2', 'autoregressive pre-training (AIMv2)'),
    ('intern', "InternVL's vision encoder (InternViT)"),
    ('beit', 'masked image modelling (BEiT)'),
    ('swin', 'ImageNet classification (Swin)'),
    ('in21k', 'ImageNet-21K classification'),
    ('in22k', 'ImageNet-22K classification'),
    ('in1k', 'ImageNet classification'),
    ('deit', 'ImageNet classification (DeiT)'),
)


class TextTowerMismatchError(BadInputError):
    """A head's text model that was not trained with the backbone's image
    model."""


def open_clip_models_of_timm(model_name: str) -> List[str]:
    """open_clip's models whose image tower is timm ``model_name`` (its
    pretrained tag ignored)."""
    import open_clip
    base = model_name.split('.')[0]
    return [name for name in open_clip.list_models()
            if (open_clip.get_model_config(name) or {}).get(
                'vision_cfg', {}).get('timm_model_name') == base]


def _image_only_reason(model_name: str) -> str:
    lowered = model_name.lower()
    for part, what in IMAGE_ONLY:
        if part in lowered:
            return f'an image model\'s weights only ({what})'
    return 'no open_clip image-text model has it as its image tower'


def check_pairing(image_model: dict, text_model: Union[str, dict]) -> None:
    """Refuse a text model that does not go with the backbone's image model.

    Args:
        image_model (dict): The backbone's ``image_model`` config.
        text_model (str | dict): The head's open_clip model (name or
            config dict).

    Raises:
        NoTextTowerError: The image model has no text tower (an image-only
            family or timm model), in one sentence saying why.
        TextTowerMismatchError: The text model is another image model's.
    """
    from ..families import build_family, family_of_timm_model
    spec = text_tower_spec(text_model)
    family = image_model.get('type')
    model_name = image_model.get('model_name')
    if family is None and model_name:
        family = family_of_timm_model(model_name,
                                      image_model.get('timm_kwargs'))
    if family == 'CLIPViT':
        arch = build_family(image_model, 1).arch
        if spec.timm_model is not None:
            raise TextTowerMismatchError(
                f'the head\'s text model {spec.name} goes with timm '
                f'{spec.timm_model}, not with the backbone\'s CLIP vision '
                'transformer (CLIPViT)')
        vision = spec.vision_cfg
        width = vision.get('width', 768)
        theirs = dict(patch_size=vision.get('patch_size', 16), width=width,
                      layers=vision.get('layers', 12),
                      heads=width // vision.get('head_width', 64),
                      act='quick_gelu' if spec.quick_gelu else 'gelu')
        differ = [f'{k} {arch[k]} vs {v}' for k, v in theirs.items()
                  if arch.get(k) != v]
        if differ:
            raise TextTowerMismatchError(
                f'the head\'s text model {spec.name} goes with another CLIP '
                f'than the backbone\'s ({", ".join(differ)}; backbone vs '
                'text model): OpenAI\'s weights need the *-quickgelu names, '
                'LAION\'s and DataComp\'s the plain ones')
        return
    if family in ('TimmViT', 'TimmEva') and model_name:
        _check_timm(image_model, family, model_name, spec)
        return
    described = f'timm {model_name}' if model_name else 'they'
    raise NoTextTowerError(
        f'{family} image models ({described}) have no text tower, so the '
        'classifier cannot start from class names: use AIMHead')


def _check_timm(image_model: dict, family: str, model_name: str,
                spec) -> None:
    from ..families import build_family
    base = model_name.split('.')[0]
    if spec.timm_model != base:
        towers = open_clip_models_of_timm(model_name)
        if not towers and '_clip_' in base:
            raise NoTextTowerError(
                f'timm {model_name} is a CLIP image tower whose text tower '
                'the text head reads with open_clip\'s own vision '
                'transformer: adapt the same weights as '
                "image_model=dict(type='CLIPViT', arch=...) (the arch and "
                'activation of its open_clip name; docs/few_shot.md)')
        if not towers:
            raise NoTextTowerError(
                f'timm {model_name} has no text tower '
                f'({_image_only_reason(model_name)}), so the classifier '
                'cannot start from class names: use AIMHead')
        raise TextTowerMismatchError(
            f'the head\'s text model {spec.name} goes with '
            f'{spec.timm_model or "CLIP"}, not with the backbone\'s timm '
            f'{model_name}; its image-text models in open_clip: '
            f'{", ".join(towers)}')
    with torch.device('meta'):
        model = build_family(dict(image_model, type=family), 1).build()
    pool = spec.vision_cfg.get('timm_pool', 'avg')
    if getattr(model, 'global_pool', pool) != pool:
        raise TextTowerMismatchError(
            f'the backbone\'s timm {model_name} pools by '
            f'{model.global_pool!r} but open_clip {spec.name}\'s image tower '
            f'by {pool!r}: set timm_kwargs=dict(global_pool={pool!r})')
