"""RandAugment as imgaug 0.4.0 defines it, the original AIM's SSv2 recipe.

The original's SSv2 configs apply ``Imgaug(transforms=[dict(type=
'RandAugment', n=4, m=7)])``, made deterministic once per clip so that every
frame gets the same operations. imgaug's ``RandAugment`` is not the
RandAugment of torchvision or timm: it always flips horizontally with
probability 0.5 and crops 0-``m`` of 224 pixels from each side (resizing
back) before ``n`` *distinct* operations out of 18, in random order, among
them Invert, Cutout, blur and smooth; geometric operations fill with 128.
imgaug itself is unmaintained and fails on NumPy >= 1.24, so this is our own
implementation of its definition, with the same Pillow and OpenCV calls
where imgaug makes them and its own arithmetic where it has its own: the
affine matrix built in float32 as ``pillike._create_affine_matrix`` builds
it (rotation clockwise for a positive angle, shear by ``tanh`` of the
angle), its histogram equalization for frames of 64*64 components or more,
Cutout's square of a fraction of the height placed as imgaug truncates it,
and each magnitude computed as imgaug computes it (``m`` times a float32
factor, enhance factors clipped to 0.1-1.9).

``tests/test_recipe_transforms.py`` compares every operation, the flip and
the crop, at fixed parameters, with imgaug's own outputs
(``tests/data/randaugment_imgaug_refs.npz``, made by
``tools/analysis/make_randaugment_references.py`` with imgaug 0.4.0,
Pillow 13.0.0 and OpenCV 4.11): all are equal pixel for pixel, which the
test requires of all but the crop's bilinear resize (allowed 1 level on 2%
of values, the rounding of that interpolation); and the parameters drawn
at every ``m`` in 0-40 are equal to the last bit.
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
#: imgaug equalizes arrays of fewer components with PIL, larger ones (any
#: training frame) with its own code, whose step ignores the count of value
#: 255 where PIL's ignores the count of the brightest value present.
EQUALIZE_PIL_BELOW = 64 * 64

Plan = List[Tuple[str, float]]


def _level(m: float, maxval: float) -> float:
    """imgaug's ``_float_parameter``: ``m * (maxval / 30)``, the factor
    held in float32 (imgaug's ``Deterministic``) and the product in
    float64."""
    return m * float(np.float32(maxval / M_MAX))


def _int_level(m: float, maxval: float) -> int:
    """imgaug's ``_int_parameter``: the level truncated, not rounded."""
    return int(_level(m, maxval))


def _signed(value: float) -> float:
    return value if np.random.rand() < 0.5 else -value


def _enhance_factor(m: float) -> float:
    return min(max(1 + _signed(_level(m, 0.9)), 0.1), 1.9)


def _pil(func):
    """An operation on a PIL image as one on a uint8 array."""
    return lambda img, v: np.asarray(func(Image.fromarray(img), v))


def _enhance(enhancer):
    return _pil(lambda img, v: enhancer(img).enhance(v))


def _affine(img: np.ndarray, rotate: float = 0., shear_x: float = 0.,
            shear_y: float = 0., translate_x: float = 0.,
            translate_y: float = 0., center: float = 0.) -> np.ndarray:
    """imgaug's ``pillike.warp_affine``: degrees of rotation (clockwise)
    about ``center`` (a fraction of width and height, 0 the top-left),
    shears in degrees (by their ``tanh``) and translations in pixels,
    composed in float32 as ``pillike._create_affine_matrix`` composes them
    (its scale is 1 and left out: multiplying by the identity is exact),
    inverted and applied by PIL with nearest-neighbour sampling."""
    h, w = img.shape[:2]
    cx, cy = w * center, h * center
    rot, shx, shy = np.deg2rad([rotate, shear_x, shear_y])
    rot = -rot
    steps = (
        [[1, 0, -cx], [0, 1, -cy], [0, 0, 1]],
        [[np.cos(rot), np.sin(rot), 0], [-np.sin(rot), np.cos(rot), 0],
         [0, 0, 1]],
        [[1, np.tanh(shx), 0], [np.tanh(shy), 1, 0], [0, 0, 1]],
        [[1, 0, translate_x], [0, 1, translate_y], [0, 0, 1]],
        [[1, 0, cx], [0, 1, cy], [0, 0, 1]],
    )
    matrix = np.eye(3, dtype=np.float32)
    for step in steps:
        matrix = np.matmul(np.array(step, np.float32), matrix)
    inverse = np.linalg.inv(matrix)[:2].flatten().tolist()
    return np.asarray(Image.fromarray(img).transform(
        (w, h), Image.Transform.AFFINE, inverse,
        Image.Resampling.NEAREST, fillcolor=(FILL, ) * 3))


def _equalize(img: np.ndarray) -> np.ndarray:
    """imgaug's ``pillike.equalize``: PIL's below
    :data:`EQUALIZE_PIL_BELOW` components, imgaug's own code above."""
    if img.size < EQUALIZE_PIL_BELOW:
        return np.asarray(ImageOps.equalize(Image.fromarray(img)))
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        channel = img[..., c]
        hist = np.bincount(channel.ravel(), minlength=256)
        step = int(hist[:-1].sum()) // 255
        if np.count_nonzero(hist) <= 1 or not step:
            out[..., c] = channel
            continue
        below = np.concatenate([[0], np.cumsum(hist)[:-1]])
        lut = np.minimum((step // 2 + below) // step, 255).astype(np.uint8)
        out[..., c] = lut[channel]
    return out


def _cutout(img: np.ndarray, box: Tuple[float, float, float]
            ) -> np.ndarray:
    """imgaug's ``Cutout(squared=True)``: a square of side ``box[2]`` of
    the height centred at ``box[:2]`` (fractions of width and height),
    its corners truncated to pixels, in imgaug's order of operations."""
    h, w = img.shape[:2]
    cx, cy, side = box
    half = side / 2
    x1, x2 = (cx - half) * w, (cx + half) * w
    y1, y2 = (cy - half) * h, (cy + half) * h
    half_side = (y2 - y1) / 2
    centre = x1 + (x2 - x1) / 2
    x1, x2 = centre - half_side, centre + half_side
    x1, x2 = (min(max(int(v), 0), w) for v in (x1, x2))
    y1, y2 = (min(max(int(v), 0), h) for v in (y1, y2))
    out = img.copy()
    out[y1:y2, x1:x2] = FILL
    return out


#: name -> (draw the clip's parameter from m, apply it to one uint8 frame),
#: in imgaug's order.
OPERATIONS: dict = {
    'Identity': (lambda m: 0., lambda img, v: img),
    'Autocontrast': (lambda m: 0., _pil(
        lambda img, v: ImageOps.autocontrast(img))),
    'Equalize': (lambda m: 0., lambda img, v: _equalize(img)),
    'Invert': (lambda m: 0., lambda img, v: 255 - img),
    # Degrees, clockwise, about the centre.
    'Rotate': (lambda m: _signed(_level(m, 30)),
               lambda img, v: _affine(img, rotate=v, center=0.5)),
    # Bits kept.
    'Posterize': (lambda m: 8 - min(max(_int_level(m, 6), 0), 6),
                  _pil(lambda img, v: ImageOps.posterize(img, int(v)))),
    # Values at or above the threshold are inverted.
    'Solarize': (lambda m: min(max(256 - _int_level(m, 256), 0), 256),
                 _pil(lambda img, v: ImageOps.solarize(img, int(v)))),
    'Color': (_enhance_factor, _enhance(ImageEnhance.Color)),
    'Contrast': (_enhance_factor, _enhance(ImageEnhance.Contrast)),
    'Brightness': (_enhance_factor, _enhance(ImageEnhance.Brightness)),
    'Sharpness': (_enhance_factor, _enhance(ImageEnhance.Sharpness)),
    # Shear angles (degrees, up to 0.3 rad) about the top-left corner.
    'ShearX': (lambda m: _signed(_level(m, math.degrees(0.3))),
               lambda img, v: _affine(img, shear_x=v)),
    'ShearY': (lambda m: _signed(_level(m, math.degrees(0.3))),
               lambda img, v: _affine(img, shear_y=v)),
    # Fractions of the frame (up to 0.33), positive right and down.
    'TranslateX': (lambda m: _signed(_level(m, 0.33)),
                   lambda img, v: _affine(img,
                                          translate_x=v * img.shape[1])),
    'TranslateY': (lambda m: _signed(_level(m, 0.33)),
                   lambda img, v: _affine(img,
                                          translate_y=v * img.shape[0])),
    # One square of side up to 20/32 of the height, centre uniform.
    'Cutout': (lambda m: (np.random.rand(), np.random.rand(),
                          min(max(_level(m, 20 / 32), 0), 20 / 32)),
               _cutout),
    'FilterBlur': (lambda m: 0., _pil(
        lambda img, v: img.filter(ImageFilter.BLUR))),
    'FilterSmooth': (lambda m: 0., _pil(
        lambda img, v: img.filter(ImageFilter.SMOOTH))),
}


@TRANSFORMS.register_module()
class ImgaugRandAugment(BaseTransform):
    """imgaug 0.4.0's ``RandAugment(n, m)``, the same for every frame.

    For each clip, drawn once and applied to every frame:

    1. a horizontal flip with probability 0.5;
    2. a crop of ``U(0, m) / 224`` of the frame from each side (drawn per
       side, rounded to pixels half to even), resized back to the frame
       size (OpenCV, bilinear);
    3. ``n`` distinct operations of :data:`OPERATIONS`, in random order, at
       magnitude ``m`` of 30: rotation ``±m`` degrees about the centre,
       posterize to ``8 - int(m/5)`` bits, solarize at or above
       ``256 - int(m*256/30)``, colour, contrast, brightness and sharpness
       factors ``1 ± 0.03m`` (clipped to 0.1-1.9), shears of ``±0.01m``
       rad about the top-left corner (moving by their ``tanh``),
       translations ``±0.011m`` of the frame, a Cutout square of ``m/48``
       of the height (at most 20/32), and the parameter-free identity,
       autocontrast, equalize, invert, blur and smooth. The sign of each
       signed operation is drawn once per clip; geometric operations and
       Cutout fill with 128.

    At ``n=4, m=7``: 50% of clips flipped, 0-3.1% cropped per side, each
    operation in 4/18 = 22% of clips (so Invert, and Cutout, in 22%),
    rotation ±7°, shear ±4.0°, translation ±7.7%, factors 1±0.21,
    posterize 7 bits, solarize at 197, Cutout side 14.6%.

    Each operation computes what imgaug's computes for the same
    parameter, pixel for pixel (see the module's docstring).

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
        # Pixels as imgaug's CropAndPad computes them, in float32.
        top, right, bottom, left = (
            int(np.round(np.float32(s) * np.float32(c)))
            for c, s in zip(crop, (h, w, h, w), strict=True))
        if top or right or bottom or left:
            img = cv2.resize(
                np.ascontiguousarray(img[top:h - bottom, left:w - right]),
                (w, h), interpolation=cv2.INTER_LINEAR)
        img = np.ascontiguousarray(img)
        for name, value in ops:
            img = OPERATIONS[name][1](img, value)
        return img

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
