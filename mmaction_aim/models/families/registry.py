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


def build_family(cfg: dict, num_frames: int):
    """The family a config's ``image_model`` dict names, for ``num_frames``.

    Args:
        cfg (dict): ``type`` (a registered family) and the family's own
            arguments.
        num_frames (int): Frames per clip.

    Returns:
        ImageModelFamily: The family.

    Raises:
        KeyError: An unknown family, naming the registered ones.
    """
    cfg = dict(cfg)
    name: Optional[str] = cfg.pop('type', None)
    family = FAMILIES.get(name) if isinstance(name, str) else name
    if family is None:
        raise KeyError(
            f'image_model type {name!r} is not a registered image-model '
            f'family; registered: {sorted(FAMILIES.module_dict)} (a '
            "family of another package needs it in the config's "
            'custom_imports)')
    return family(num_frames=num_frames, **cfg)
