"""Make imgaug 0.4.0's reference outputs for our RandAugment.

``tests/test_recipe_transforms.py`` compares
``mmaction_aim.datasets.transforms.rand_augment.ImgaugRandAugment`` with
imgaug 0.4.0's ``iaa.RandAugment``, operation by operation, pixel for
pixel, against the file this script writes,
``tests/data/randaugment_imgaug_refs.npz``.

This script runs ONLY in a side environment with imgaug, which needs
NumPy < 1.24 (it does not import ``mmaction_aim``). Pillow and OpenCV are
pinned to the versions of the project's environment, as imgaug calls them
for the affine warps, enhancers, filters and the crop's resize::

    python3.11 -m venv /tmp/imgaug_env
    /tmp/imgaug_env/bin/pip install numpy==1.23.5 imgaug==0.4.0 \\
        Pillow==13.0.0 opencv-python==4.11.0.86 scikit-image==0.24.0 \\
        scipy==1.15.3 Shapely==2.1.2 imageio==2.38.2
    /tmp/imgaug_env/bin/python tools/analysis/make_randaugment_references.py

Each operation is imgaug's own child augmenter of ``RandAugment(n=1, m=M)``
(``RandAugment[1]``, the ``SomeOf`` over the 18 operations), with its one
random draw pinned: the sign of the signed operations (their
``RandomSign``'s ``p_positive`` set to 1 or 0) and Cutout's position.
The parameter it then draws, exactly as ``RandAugment`` computes it from
``M``, is stored next to the output. For the signed operations the script
also checks that the unpinned child only ever gives one of the two pinned
outputs. The front (``Fliplr`` and ``KeepSizeByResize(Crop(percent=...))``)
is built as ``RandAugment._create_initial_augmenters_list`` builds it,
with fixed crop fractions.

Key layout of the ``.npz`` (``OP`` is a name of our ``OPERATIONS``, or
``Flip`` or ``Crop``; ``IMG`` one of the input images):

- ``image/IMG``: uint8 ``(H, W, 3)`` inputs: ``noise`` (24x32, uniform),
  ``gradient`` (40x48, ramps saturating at 230 and a few shapes) and
  ``lowcontrast`` (36x40, uniform in 40-190 and a block at 190). ``noise``
  has fewer than 64*64 components, the other two more: imgaug equalizes
  the first with PIL and the others with its own code, which differs
  from PIL's where the brightest value is frequent (as in the last two).
- ``value/OP``: float64 ``(K, P)``, the K parameters the operation was run
  at, one row each: P=1 for every operation (0 where it has none) but
  Cutout (P=3: centre x, centre y as fractions of width and height, side
  as a fraction of the height) and Crop (P=4: fractions cropped at top,
  right, bottom, left, each followed by the resize back, bilinear).
  Values imgaug holds in float32 (Cutout's centre, the crop fractions)
  are stored as it holds them.
- ``m/OP``: int ``(K,)``, the magnitude ``M`` of ``RandAugment`` that row's
  parameter came from (-1 for Flip and Crop, whose rows are chosen here).
- ``out/OP/IMG``: uint8 ``(K, H, W, 3)``, imgaug's outputs.
- ``magnitude/m``: int ``(L,)``, the magnitudes 0-40 at which the parameter
  sampling is recorded, and ``magnitude/OP`` float64 ``(L, 2)``: the
  smallest and largest value the operation's parameter takes at each
  (the two signs, or twice the one value), drawn 200 times.
- ``versions``: the versions of imgaug, NumPy, Pillow and OpenCV used.
"""
import argparse
import copy
import os.path as osp

import cv2
import imgaug
import imgaug.augmenters as iaa
import imgaug.parameters as iap
import imgaug.random as iarandom
import numpy as np
import PIL

#: imgaug's order of ``RandAugment``'s 18 operations, in our names.
NAMES = ('Identity', 'Autocontrast', 'Equalize', 'Invert', 'Rotate',
         'Posterize', 'Solarize', 'Color', 'Contrast', 'Brightness',
         'Sharpness', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY',
         'Cutout', 'FilterBlur', 'FilterSmooth')
#: The parameter each operation draws, as an attribute path of its
#: augmenter.
PARAMETER = {
    'Rotate': ('rotate', ), 'Posterize': ('counts', ),
    'Solarize': ('threshold', ), 'Color': ('factor', ),
    'Contrast': ('factor', ), 'Brightness': ('factor', ),
    'Sharpness': ('factor', ), 'ShearX': ('shear', 0),
    'ShearY': ('shear', 1), 'TranslateX': ('translate', 0),
    'TranslateY': ('translate', 1), 'Cutout': ('size', )}
SIGNED = ('Rotate', 'Color', 'Contrast', 'Brightness', 'Sharpness',
          'ShearX', 'ShearY', 'TranslateX', 'TranslateY')
#: (M, sign) of each row: both signs at the AIM recipe's M=7, and at 22.
SIGNED_ROWS = ((7, 1), (7, -1), (22, 1), (22, -1))
UNSIGNED_MS = (7, 15, 22)
#: Cutout's centre in each row (the last square runs over two borders).
CUTOUT_CENTRES = ((0.5, 0.5), (0.1, 0.85), (0.8, 0.3))
#: Crop fractions (top, right, bottom, left); 1/16 of 24 or 40 rows is a
#: half pixel, which imgaug rounds half to even.
CROPS = ((7 / 224, 0., 0.02, 0.01), (0.09, 0.05, 0., 0.0625),
         (0.0625, 0.09, 0.06, 0.03))


def make_images() -> dict:
    rng = np.random.RandomState(0)
    noise = rng.randint(0, 256, (24, 32, 3), dtype=np.uint8)
    y, x = np.mgrid[0:40, 0:48].astype(np.float64)
    gradient = np.stack(
        [20 + 5 * x, 40 + 3 * y,
         120 + 60 * np.sin(x / 7.) * np.cos(y / 5.)], axis=-1)
    gradient[8:16, 30:42] = (230, 30, 200)
    gradient[28:31, :] = 5
    gradient = np.clip(np.round(gradient), 0, 230).astype(np.uint8)
    lowcontrast = rng.randint(40, 191, (36, 40, 3)).astype(np.uint8)
    lowcontrast[4:16, 22:38] = 190
    return dict(noise=noise, gradient=gradient, lowcontrast=lowcontrast)


def children(m: int) -> dict:
    """``RandAugment(n=1, m=m)``'s 18 operations, by our names."""
    some_of = iaa.RandAugment(n=1, m=m, seed=0)[1]
    assert len(some_of) == len(NAMES)
    return dict(zip(NAMES, some_of, strict=True))


def parameter(aug, name: str):
    obj = aug
    for key in PARAMETER[name]:
        obj = obj[key] if isinstance(key, int) else getattr(obj, key)
    return obj


def random_signs(param) -> list:
    """The ``RandomSign`` parameters in a parameter tree."""
    found = []
    if isinstance(param, iap.RandomSign):
        found.append(param)
    if isinstance(param, iap.StochasticParameter):
        for value in vars(param).values():
            found += random_signs(value)
    return found


def pin_sign(aug, name: str, sign: int):
    aug = copy.deepcopy(aug)
    signs = random_signs(parameter(aug, name))
    assert len(signs) == 1, (name, signs)
    signs[0].p_positive = 1.0 if sign > 0 else 0.0
    return aug


def run(aug, image: np.ndarray) -> np.ndarray:
    out = aug(image=image.copy())
    assert out.shape == image.shape and out.dtype == np.uint8
    return out


def draw(aug, name: str) -> float:
    values = parameter(aug, name).draw_samples(
        (50, ), random_state=iarandom.RNG(0))
    assert len(set(values.tolist())) == 1, (name, values)
    return float(values[0])


def operation_rows(images: dict) -> dict:
    """name -> (values (K, P), ms (K,), {image: outputs (K, H, W, 3)})."""
    rows = {}
    for name in NAMES:
        values, ms, outs = [], [], {key: [] for key in images}
        if name in SIGNED:
            for m, sign in SIGNED_ROWS:
                aug = children(m)[name]
                pinned = pin_sign(aug, name, sign)
                other = pin_sign(aug, name, -sign)
                values.append([draw(pinned, name)])
                ms.append(m)
                for key, image in images.items():
                    out = run(pinned, image)
                    outs[key].append(out)
                    alternatives = (out, run(other, image))
                    for seed in range(8):  # the unpinned child: either
                        free = copy.deepcopy(aug)
                        free.seed_(seed)
                        got = run(free, image)
                        assert any(np.array_equal(got, a)
                                   for a in alternatives), name
        elif name in ('Posterize', 'Solarize'):
            for m in UNSIGNED_MS:
                aug = children(m)[name]
                values.append([draw(aug, name)])
                ms.append(m)
                for key, image in images.items():
                    outs[key].append(run(aug, image))
        elif name == 'Cutout':
            for m, (cx, cy) in zip(UNSIGNED_MS, CUTOUT_CENTRES,
                                   strict=True):
                aug = copy.deepcopy(children(m)[name])
                aug.position = (iap.Deterministic(cx), iap.Deterministic(cy))
                # The centre as imgaug holds it, in float32.
                values.append([float(np.float32(cx)), float(np.float32(cy)),
                               draw(aug, name)])
                ms.append(m)
                for key, image in images.items():
                    outs[key].append(run(aug, image))
        else:  # no parameter: the same at every M
            aug = children(7)[name]
            values.append([0.])
            ms.append(7)
            for key, image in images.items():
                outs[key].append(run(aug, image))
        rows[name] = (values, ms, outs)

    flip = iaa.Fliplr(1.0)
    rows['Flip'] = ([[1.]], [-1], {
        key: [run(flip, image)] for key, image in images.items()})
    values, outs = [], {key: [] for key in images}
    for crop in CROPS:
        # As RandAugment._create_initial_augmenters_list, crop fixed.
        aug = iaa.KeepSizeByResize(
            iaa.Crop(percent=crop, keep_size=False), interpolation='linear')
        values.append([float(np.float32(c)) for c in crop])  # as held
        for key, image in images.items():
            outs[key].append(run(aug, image))
    rows['Crop'] = (values, [-1] * len(CROPS), outs)
    return rows


def magnitude_rows(ms) -> dict:
    """name -> (L, 2): each operation's smallest and largest parameter."""
    table = {name: [] for name in PARAMETER}
    for m in ms:
        augs = children(m)
        for name in PARAMETER:
            values = parameter(augs[name], name).draw_samples(
                (200, ), random_state=iarandom.RNG(m))
            table[name].append([values.min(), values.max()])
            distinct = len(set(values.tolist()))
            assert distinct == (2 if name in SIGNED and m > 0 else 1), (
                name, m, distinct)
    return {name: np.asarray(rows, np.float64)
            for name, rows in table.items()}


def main() -> None:
    here = osp.dirname(osp.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(
        here, '..', '..', 'tests', 'data', 'randaugment_imgaug_refs.npz'))
    args = parser.parse_args()
    assert imgaug.__version__ == '0.4.0', imgaug.__version__

    images = make_images()
    arrays = {f'image/{key}': image for key, image in images.items()}
    for name, (values, ms, outs) in operation_rows(images).items():
        arrays[f'value/{name}'] = np.asarray(values, np.float64)
        arrays[f'm/{name}'] = np.asarray(ms, np.int64)
        for key, out in outs.items():
            arrays[f'out/{name}/{key}'] = np.stack(out)
    ms = np.arange(41)
    arrays['magnitude/m'] = ms
    for name, table in magnitude_rows(ms).items():
        arrays[f'magnitude/{name}'] = table
    arrays['versions'] = np.asarray([
        f'imgaug=={imgaug.__version__}', f'numpy=={np.__version__}',
        f'Pillow=={PIL.__version__}', f'opencv=={cv2.__version__}'])
    np.savez_compressed(args.out, **arrays)
    print(f'wrote {osp.normpath(args.out)} '
          f'({osp.getsize(args.out) / 1024:.0f} KiB, {len(arrays)} arrays)')


if __name__ == '__main__':
    main()
