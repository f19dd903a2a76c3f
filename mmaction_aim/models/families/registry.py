"""The open registry of image-model families.

A family says how AIM adapts one kind of image model; it is one class in one
file, registered with one decorator::

    from mmaction_aim.models.families import FAMILIES, ImageModelFamily

    @FAMILIES.register_module()
    class MyFamily(ImageModelFamily):
        ...

and chosen in a config by its name::

    backbone=dict(type='AIMBackbone', image_model=dict(type='MyFamily', ...))

A package outside ours registers its families the same way (and lists
itself in the config's ``custom_imports``).
"""
from typing import Optional

from mmengine.registry import Registry

#: Image-model families by name (an MMEngine registry: open to other
#: packages, listed by ``FAMILIES.module_dict``).
FAMILIES = Registry('AIM image-model family', scope='mmaction_aim')


def family_of_timm_model(model_name: str,
                         timm_kwargs: Optional[dict] = None) -> str:
    """The registered family whose ``model_cls`` is the class timm builds
    for ``model_name`` (built on the meta device: nothing allocated).

    Raises:
        UnsupportedImageModelError: No family adapts that class (naming the
            families and what each adapts), or timm has no such model.
    """
    import timm
    import torch

    from .base import UnsupportedImageModelError
    try:
        with torch.device('meta'):
            model = timm.create_model(model_name, pretrained=False,
                                      num_classes=0, **(timm_kwargs or {}))
    except RuntimeError as exc:  # timm's "Unknown model"
        raise UnsupportedImageModelError(
            f'timm has no model {model_name!r} ({exc})') from None
    cls = type(model)
    for name, family in FAMILIES.module_dict.items():
        if getattr(family, 'model_cls', None) is cls:
            return name
    adapts = ', '.join(
        f'{name} ({family.model_cls.__name__})'
        for name, family in sorted(FAMILIES.module_dict.items())
        if isinstance(getattr(family, 'model_cls', None), type)
        and family.model_cls.__module__.startswith('timm'))
    raise UnsupportedImageModelError(
        f'timm {model_name} is a {cls.__module__}.{cls.__name__}, which no '
        f'registered image-model family adapts; the timm families adapt: '
        f'{adapts}')


def build_family(cfg: dict, num_frames: int):
    """The family a config's ``image_model`` dict names, for ``num_frames``.

    Args:
        cfg (dict): ``type`` (a registered family) and the family's own
            arguments; without ``type``, a timm ``model_name`` chooses the
            family by the class timm builds (:func:`family_of_timm_model`).
        num_frames (int): Frames per clip.

    Returns:
        ImageModelFamily: The family.

    Raises:
        KeyError: An unknown family, naming the registered ones.
    """
    cfg = dict(cfg)
    if 'type' not in cfg and 'model_name' in cfg:
        cfg['type'] = family_of_timm_model(cfg['model_name'],
                                           cfg.get('timm_kwargs'))
    name: Optional[str] = cfg.pop('type', None)
    family = FAMILIES.get(name) if isinstance(name, str) else name
    if family is None:
        raise KeyError(
            f'image_model type {name!r} is not a registered image-model '
            f'family; registered: {sorted(FAMILIES.module_dict)} (a '
            "family of another package needs it in the config's "
            'custom_imports)')
    return family(num_frames=num_frames, **cfg)
