"""The one way the analysis tools and the tests build a model from a config.

:func:`build_model` builds ``cfg.model`` through MMAction2's registry (the
config's ``custom_imports`` applied), with the image-model file switched off
(nothing is read; the weights are random), optionally changed into one of
the comparison :data:`VARIANTS`, on the default device or the one given
(``meta`` allocates nothing).
"""
import contextlib
import copy
from typing import Optional, Union

import torch
from mmengine.config import Config, ConfigDict

from ..utils.errors import BadInputError

#: Backbone overrides that turn an AIM config into what it is compared with
#: (``image_model``: merged into the backbone's ``image_model`` dict).
VARIANTS = {
    'aim': {},
    # Full fine-tuning of the same image model.
    'full': dict(adapters=(), freeze_image_model=False),
    # The frozen image model with a linear head.
    'linear': dict(adapters=(), temporal_embedding=False,
                   freeze_ln_post=True),
    # The same AIM model, computed the straightforward way (CLIP only).
    'plain': dict(image_model=dict(type='PlainCLIPViT')),
}

#: Variants that swap the image-model family for one of their own, and the
#: family (or a subclass of it) the config's image model must be.
VARIANT_NEEDS = {'plain': 'CLIPViT'}


def check_variant(cfg: Union[Config, dict], variant: str) -> None:
    """Raise :class:`BadInputError` unless ``variant`` can be made of the
    config's model (``'plain'``: CLIP image models only).

    Args:
        cfg (Config | dict): A config with a ``model`` (and possibly
            ``custom_imports``), or a model dict itself.
        variant (str): A key of :data:`VARIANTS`.
    """
    if variant not in VARIANTS:
        raise BadInputError(f'variant {variant!r} is none of '
                            f'{sorted(VARIANTS)}')
    needed = VARIANT_NEEDS.get(variant)
    if needed is None:
        return
    import mmaction_aim  # noqa: F401  (registers the families)
    from mmengine.utils import import_modules_from_strings

    from ..models.families import FAMILIES
    if 'model' in cfg and cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    model = cfg['model'] if 'model' in cfg else cfg
    image_model = (model.get('backbone') or {}).get('image_model') or {}
    kind = image_model.get('type')
    family = FAMILIES.get(kind) if isinstance(kind, str) else kind
    if isinstance(family, type) and issubclass(family, FAMILIES.get(needed)):
        return
    what = (f'type {getattr(kind, "__name__", kind)!r}' if kind is not None
            else f'the timm model {image_model.get("model_name")!r}')
    own = VARIANTS[variant]['image_model']['type']
    raise BadInputError(
        f'the {variant!r} variant is AIM on a {needed} image model computed '
        f'the straightforward way ({own}), but this config\'s image model '
        f'(model.backbone.image_model) is {what}; {variant!r} is for '
        f'{needed} configs (e.g. configs/aim_vitb_k400.py)')


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """A config file (or a copy of a config) with ``cfg_options`` merged."""
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        Config(config.to_dict() if isinstance(config, Config) else config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model(cfg: Union[Config, dict],
                device: Optional[Union[str, torch.device]] = None,
                variant: str = 'aim', with_cp: bool = False,
                init: bool = False,
                keep_pretrained: bool = False) -> torch.nn.Module:
    """Build a recognizer from a config, by default without its image
    model's file.

    Args:
        cfg (Config | dict): A config with a ``model`` (and possibly
            ``custom_imports``), or a model dict itself.
        device (str | torch.device, optional): Where to build it; ``'meta'``
            allocates nothing. Defaults to None: PyTorch's current default
            device (an enclosing ``with torch.device(...)`` included).
        variant (str): A key of :data:`VARIANTS`. Defaults to ``'aim'``.
        with_cp (bool): Activation checkpointing of the backbone.
        init (bool): Run ``init_weights()`` (the adapters' initialisation;
            the image model stays random unless ``keep_pretrained``).
            Defaults to False.
        keep_pretrained (bool): Keep ``backbone.pretrained`` (and a text
            head's ``text_weights``), so that ``init_weights()`` reads the
            image model (and its text tower). Defaults to False.

    Returns:
        torch.nn.Module: The model, in train mode as built.

    Raises:
        BadInputError: ``variant`` cannot be made of this model
            (:func:`check_variant`).
    """
    check_variant(cfg, variant)
    import mmaction_aim  # noqa: F401  (registers AIM)
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings

    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    if 'model' in cfg:  # a whole config
        if cfg.get('custom_imports'):
            import_modules_from_strings(**cfg['custom_imports'])
        model_cfg = ConfigDict(copy.deepcopy(cfg['model']))
    else:
        model_cfg = ConfigDict(copy.deepcopy(cfg))
    backbone = model_cfg.get('backbone')
    if backbone is not None:
        if 'pretrained' in backbone and not keep_pretrained:
            backbone.pretrained = None
        for key, value in VARIANTS[variant].items():
            if key == 'image_model':
                backbone.image_model = dict(backbone.image_model, **value)
            else:
                backbone[key] = value
        if with_cp:
            backbone.with_cp = True
    head = model_cfg.get('cls_head')
    if head is not None and 'text_weights' in head and not keep_pretrained:
        head.text_weights = None  # a random classifier, as the image model
    place = torch.device(device) if device is not None else \
        contextlib.nullcontext()
    with place:
        model = MODELS.build(model_cfg)
    if init:
        model.init_weights()
    return model
