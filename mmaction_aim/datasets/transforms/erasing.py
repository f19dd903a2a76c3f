"""Random erasing as the original AIM's SSv2 recipe applied it."""
import math
from typing import List, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ClipRandomErasing(BaseTransform):
    """Erase one rectangle of a clip, the same in every frame, with a
    constant colour, by timm's ``RandomErasing`` law.

    The original AIM applied timm's ``RandomErasing(probability=0.25)``
    (mode ``'const'``) after normalisation, with a generator reset for every
    frame: one rectangle per clip, filled with zeros, i.e. with the mean
    colour. Here, before the data preprocessor normalises, the fill is that
    mean on the 0-255 scale (frames always become float32, so it normalises
    to exactly 0). With probability ``erase_prob``: up to ``max_attempts``
    draws of an area ``U(area_range) * H * W`` and a log-uniform aspect
    ratio in ``aspect_range``, the first that fits inside the frame kept
    (MMAction2 1.x's ``RandomErasing`` clips an oversized box instead, and
    its default mode fills with noise drawn anew for every frame).

    Required keys: ``imgs``. Modified keys: ``imgs``.

    Args:
        erase_prob (float): Probability of erasing a clip. Defaults to 0.25.
        fill (Sequence[float]): The colour, RGB on the 0-255 scale: the
            model's normalisation mean. In configs, ``'mean'``, which the
            run's resolution (:func:`mmaction_aim.engine.resolve.resolve`,
            every tool and ``AIMRunner``) replaces by the model's
            normalisation mean.
        area_range (tuple[float, float]): Fraction of the frame.
            Defaults to ``(0.02, 1/3)``.
        aspect_range (tuple[float, float]): Height over width. Defaults to
            ``(0.3, 1/0.3)``.
        max_attempts (int): Draws before giving up. Defaults to 10.
    """

    def __init__(self, fill: Sequence[float], erase_prob: float = 0.25,
                 area_range: Tuple[float, float] = (0.02, 1 / 3),
                 aspect_range: Tuple[float, float] = (0.3, 1 / 0.3),
                 max_attempts: int = 10) -> None:
        if isinstance(fill, str):
            raise ValueError(
                f"ClipRandomErasing: fill={fill!r} is resolved to the "
                "model's normalisation mean when a run is resolved (the "
                "tools, runner_type='AIMRunner'); elsewhere give the RGB "
                'colour on the 0-255 scale')
        if len(fill) != 3:
            raise ValueError(f'fill is an RGB colour, got {fill}')
        self.fill = np.asarray(fill, dtype=np.float32)
        self.erase_prob = erase_prob
        self.area_range = area_range
        self.log_aspect = (math.log(aspect_range[0]),
                           math.log(aspect_range[1]))
        self.max_attempts = max_attempts

    def box(self, height: int, width: int):
        """``(top, left, h, w)`` of a rectangle by timm's law, or None."""
        for _ in range(self.max_attempts):
            area = np.random.uniform(*self.area_range) * height * width
            aspect = math.exp(np.random.uniform(*self.log_aspect))
            h = int(round(math.sqrt(area * aspect)))
            w = int(round(math.sqrt(area / aspect)))
            if w < width and h < height:
                return (np.random.randint(0, height - h + 1),
                        np.random.randint(0, width - w + 1), h, w)
        return None

    def transform(self, results: dict) -> dict:
        # Float32 whether or not a box is erased, so that every clip of a
        # batch has one dtype (copies: frames may share memory).
        imgs = [img.astype(np.float32) for img in results['imgs']]
        results['imgs'] = imgs
        if np.random.rand() >= self.erase_prob:
            return results
        box = self.box(*imgs[0].shape[:2])
        if box is not None:
            top, left, h, w = box
            for img in imgs:
                img[top:top + h, left:left + w] = self.fill
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(erase_prob={self.erase_prob}, '
                f'fill={self.fill.tolist()})')


def with_mean_fill(pipeline: Sequence, mean: Sequence[float]) -> List:
    """``pipeline`` with every ``fill='mean'`` made ``mean``.

    Args:
        pipeline (Sequence): Transform configs.
        mean (Sequence[float]): The model's normalisation mean, RGB 0-255.

    Returns:
        list: A new list; the configs that change are copies.
    """
    fill = [round(float(v), 4) for v in mean]
    return [dict(t, fill=fill) if isinstance(t, dict) and
            t.get('fill') == 'mean' else t for t in pipeline]
