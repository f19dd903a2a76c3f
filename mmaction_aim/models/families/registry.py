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
import inspect
from typing import Optional

from mmengine.registry import Registry

from ...utils.errors import BadInputError

class UnknownFamilyError(BadInputError, KeyError):
    """An ``image_model`` type no registered family has (a KeyError, said
    in one line by the tools)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


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


def _arguments_misfit(family: type, cfg: dict) -> Optional[str]:
    """What is wrong with ``cfg`` as the arguments of ``family``'s
    constructor (besides ``num_frames``, which the backbone gives), or None
    where they bind."""
    try:
        signature = inspect.signature(family)
    except (TypeError, ValueError):  # a callable without a signature
        return None
    params = [p for name, p in signature.parameters.items()
              if name != 'num_frames' and p.kind in (
                  p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
        unknown = []
    else:
        unknown = sorted(set(cfg) - {p.name for p in params})
    missing = [p.name for p in params
               if p.default is p.empty and p.name not in cfg]
    if not unknown and not missing:
        return None
    takes = ', '.join(f'{p.name} (required)' if p.default is p.empty else
                      p.name for p in params) or 'nothing'
    name = getattr(family, '__name__', family)
    wrong = '; '.join(filter(None, [
        f'it does not take {", ".join(unknown)}' if unknown else '',
        f'it needs {", ".join(missing)}' if missing else '']))
    return (f'image_model (model.backbone.image_model): the family '
            f'{name!r} takes {takes} besides type; {wrong}')


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
        UnknownFamilyError: An unknown family (a KeyError), naming the
            registered ones.
        BadInputError: Arguments the family does not take (or lacks),
            naming those it takes.
    """
    cfg = dict(cfg)
    if 'type' not in cfg and 'model_name' in cfg:
        cfg['type'] = family_of_timm_model(cfg['model_name'],
                                           cfg.get('timm_kwargs'))
    name: Optional[str] = cfg.pop('type', None)
    family = FAMILIES.get(name) if isinstance(name, str) else name
    if family is None:
        raise UnknownFamilyError(
            f'image_model type {name!r} is not a registered image-model '
            f'family; registered: {sorted(FAMILIES.module_dict)} (a '
            "family of another package needs it in the config's "
            'custom_imports)')
    # Checked against the signature, not by catching a TypeError: one
    # raised inside the constructor is a bug, and keeps its traceback.
    misfit = _arguments_misfit(family, cfg)
    if misfit is not None:
        raise BadInputError(misfit)
    return family(num_frames=num_frames, **cfg)
