"""RandAugment as imgaug 0.4.0 defines it, the original AIM's SSv2 recipe.

The original's SSv2 configs apply ``Imgaug(transforms=[dict(type=
'RandAugment', n=4, m=7)])``, made deterministic once per clip so that every
frame gets the same operations. imgaug's ``RandAugment`` is not the
RandAugment of torchvision or timm: it always flips horizontally with
probability 0.5 and crops 0-``m`` of 224 pixels from each side (resizing
back) before ``n`` *distinct* operations out of 18, in random order, among
them Invert, Cutout, blur and smooth; geometric operations fill with 128.
imgaug itself is unmaintained and fails on NumPy 2, so this is our own
implementation of its definition with Pillow.
"""
import math
from typing import List, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from mmaction.registry import TRANSFORMS

#: imgaug's maximum magnitude: ``m`` is read as ``m / 30`` of each
#: operation's largest strength.
M_MAX = 30
#: The value geometric operations and Cutout fill with (imgaug's ``cval``).
FILL = 128

Plan = List[Tuple[str, float]]


def _signed(value: float) -> float:
    return value if np.random.rand() < 0.5 else -value


def _affine(img: Image.Image, matrix: Tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, matrix, Image.NEAREST,
                         fillcolor=(FILL, ) * 3)


def _cutout(img: Image.Image, box: Tuple[float, float, float]
            ) -> Image.Image:
    """A grey square of side ``box[2]`` (fraction of the shorter side)
    centred at ``box[:2]`` (fractions of width and height)."""
    cx, cy, size = box
    w, h = img.size
    side = size * min(w, h)
    array = np.array(img)
    x0, x1 = (int(round(cx * w - side / 2)), int(round(cx * w + side / 2)))
    y0, y1 = (int(round(cy * h - side / 2)), int(round(cy * h + side / 2)))
    array[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = FILL
    return Image.fromarray(array)


#: name -> (draw the clip's parameter from m, apply it to one frame).
OPERATIONS: dict = {
    'Identity': (lambda m: 0., lambda img, v: img),
    'Autocontrast': (lambda m: 0., lambda img, v: ImageOps.autocontrast(img)),
    'Equalize': (lambda m: 0., lambda img, v: ImageOps.equalize(img)),
    'Invert': (lambda m: 0., lambda img, v: ImageOps.invert(img)),
    # Degrees about the centre.
    'Rotate': (lambda m: _signed(m * 30 / M_MAX),
               lambda img, v: img.rotate(v, Image.NEAREST,
                                         fillcolor=(FILL, ) * 3)),
    # Bits kept.
    'Posterize': (lambda m: 8 - min(max(int(m * 6 / M_MAX), 0), 6),
                  lambda img, v: ImageOps.posterize(img, int(v))),
    # Values at or above the threshold are inverted.
    'Solarize': (lambda m: min(max(256 - int(m * 256 / M_MAX), 0), 256),
                 lambda img, v: ImageOps.solarize(img, int(v))),
    'Color': (lambda m: 1 + _signed(m * 0.9 / M_MAX),
              lambda img, v: ImageEnhance.Color(img).enhance(v)),
    'Contrast': (lambda m: 1 + _signed(m * 0.9 / M_MAX),
                 lambda img, v: ImageEnhance.Contrast(img).enhance(v)),
    'Brightness': (lambda m: 1 + _signed(m * 0.9 / M_MAX),
                   lambda img, v: ImageEnhance.Brightness(img).enhance(v)),
    'Sharpness': (lambda m: 1 + _signed(m * 0.9 / M_MAX),
                  lambda img, v: ImageEnhance.Sharpness(img).enhance(v)),
    # Shear angles (degrees, up to 0.3 rad) about the top-left corner.
    'ShearX': (lambda m: _signed(m * math.degrees(0.3) / M_MAX),
               lambda img, v: _affine(
                   img, (1, math.tan(math.radians(v)), 0, 0, 1, 0))),
    'ShearY': (lambda m: _signed(m * math.degrees(0.3) / M_MAX),
               lambda img, v: _affine(
                   img, (1, 0, 0, math.tan(math.radians(v)), 1, 0))),
    # Fractions of the frame (up to 0.33).
    'TranslateX': (lambda m: _signed(m * 0.33 / M_MAX),
                   lambda img, v: _affine(
                       img, (1, 0, -v * img.size[0], 0, 1, 0))),
    'TranslateY': (lambda m: _signed(m * 0.33 / M_MAX),
                   lambda img, v: _affine(
                       img, (1, 0, 0, 0, 1, -v * img.size[1]))),
    # One square of side up to 20/32 of the frame, centre uniform.
    'Cutout': (lambda m: (np.random.rand(), np.random.rand(),
                          min(max(m * (20 / 32) / M_MAX, 0), 20 / 32)),
               _cutout),
    'FilterBlur': (lambda m: 0., lambda img, v: img.filter(
        ImageFilter.BLUR)),
    'FilterSmooth': (lambda m: 0., lambda img, v: img.filter(
        ImageFilter.SMOOTH)),
}


@TRANSFORMS.register_module()
class ImgaugRandAugment(BaseTransform):
    """imgaug 0.4.0's ``RandAugment(n, m)``, the same for every frame.

    For each clip, drawn once and applied to every frame:

    1. a horizontal flip with probability 0.5;
    2. a crop of ``U(0, m) / 224`` of the frame from each side (drawn per
       side), resized back to the frame size (bilinear);
    3. ``n`` distinct operations of :data:`OPERATIONS`, in random order, at
       magnitude ``m`` of 30: rotation ``±m`` degrees, posterize to
       ``8 - int(m/5)`` bits, solarize above ``256 - int(m*256/30)``, colour,
       contrast, brightness and sharpness factors ``1 ± 0.03m``, shears
       ``±0.01m`` rad, translations ``±0.011m`` of the frame, a Cutout
       square of ``m/48`` of the frame, and the parameter-free identity,
       autocontrast, equalize, invert, blur and smooth. The sign of each
       signed operation is drawn once per clip; geometric operations and
       Cutout fill with 128.

    At ``n=4, m=7``: 50% of clips flipped, 0-3.1% cropped per side, each
    operation in 4/18 = 22% of clips (so Invert, and Cutout, in 22%),
    rotation ±7°, shear ±4.0°, translation ±7.7%, factors 1±0.21,
    posterize 7 bits, solarize at 197, Cutout side 14.6%.

    Required keys: ``imgs`` (uint8 RGB frames). Modified keys: ``imgs``,
    and ``flip`` / ``flip_direction`` set as MMAction2's ``Flip`` does.

    Args:
        n (int): Operations per clip. Defaults to 4.
        m (int): Magnitude, 0-30. Defaults to 7.
    """

    def __init__(self, n: int = 4, m: int = 7) -> None:
        if not 0 <= n <= len(OPERATIONS):
            raise ValueError(f'n must be in 0..{len(OPERATIONS)}, got {n}')
        self.n = n
        self.m = m

    def plan(self) -> Tuple[bool, Tuple[float, ...], Plan]:
        """One clip's draws: flip, crop fractions (top, right, bottom,
        left), and the operations with their parameters, in order."""
        flip = np.random.rand() < 0.5
        crop = tuple(np.random.uniform(0, self.m) / 224 for _ in range(4))
        names = list(OPERATIONS)
        chosen = np.random.choice(len(names), self.n, replace=False)
        ops = [(names[i], OPERATIONS[names[i]][0](self.m)) for i in chosen]
        return flip, crop, ops

    @staticmethod
    def apply(img: np.ndarray, flip: bool, crop: Tuple[float, ...],
              ops: Plan) -> np.ndarray:
        """One frame through a clip's :meth:`plan`."""
        h, w = img.shape[:2]
        if flip:
            img = img[:, ::-1]
        top, right, bottom, left = (int(round(c * s)) for c, s in zip(
            crop, (h, w, h, w), strict=True))
        if top or right or bottom or left:
            img = cv2.resize(
                np.ascontiguousarray(img[top:h - bottom, left:w - right]),
                (w, h), interpolation=cv2.INTER_LINEAR)
        frame = Image.fromarray(np.ascontiguousarray(img))
        for name, value in ops:
            frame = OPERATIONS[name][1](frame, value)
        return np.asarray(frame)

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        if any(img.dtype != np.uint8 for img in imgs):
            raise TypeError(
                'ImgaugRandAugment takes uint8 frames; put it before any '
                'transform that makes them float (PCALighting, '
                'ClipRandomErasing)')
        flip, crop, ops = self.plan()
        results['imgs'] = [self.apply(img, flip, crop, ops) for img in imgs]
        if flip:
            results['flip'] = True
            results['flip_direction'] = 'horizontal'
        results['rand_augment'] = [name for name, _ in ops]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(n={self.n}, m={self.m})'
