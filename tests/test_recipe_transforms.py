"""The transforms the original AIM recipes need, by their semantics:
MMAction2 0.x test-clip placement, imgaug's RandAugment, the 0.x
``ColorJitter`` (PCA lighting) and timm's random erasing with the mean
colour."""
import functools
import math
import os.path as osp
from collections import Counter

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmaction.registry import TRANSFORMS
from mmaction_aim.datasets.transforms import (ClipRandomErasing,
                                              ImgaugRandAugment, PCALighting)
from mmaction_aim.datasets.transforms.rand_augment import OPERATIONS


def _build(**cfg):
    init_default_scope('mmaction')
    return TRANSFORMS.build(cfg)


def _starts(sampler_type, total, num_clips, clip_len=8, interval=16):
    sampler = _build(type=sampler_type, clip_len=clip_len,
                     frame_interval=interval, num_clips=num_clips,
                     test_mode=True)
    inds = sampler(dict(total_frames=total, start_index=0))['frame_inds']
    return inds.reshape(num_clips, clip_len)[:, 0].tolist()


def test_test_clips_are_centred_in_equal_segments_as_in_0x():
    # 300 frames, 3 clips of 8x16: 0.x 28/86/144; 1.x 0/94/187 (the last
    # clip ends on the last frame: 1.x spans (8 - 1) * 16 + 1 frames).
    assert _starts('CentredSampleFrames', 300, 3) == [28, 86, 144]
    assert _starts('SampleFrames', 300, 3) == [0, 94, 187]
    # int(k*s + s/2), s = (n - L + 1) / num_clips, for other counts too.
    for total, clips in ((250, 4), (129, 3), (1000, 10)):
        s = (total - 128 + 1) / clips
        assert _starts('CentredSampleFrames', total, clips) == [
            int(k * s + s / 2) for k in range(clips)]
    # One clip: the centre of 0.x, int((n - L + 1) / 2); 1.x starts
    # (n - L') // 2, half an interval later (7 frames here).
    assert _starts('CentredSampleFrames', 300, 1) == [86]
    assert _starts('SampleFrames', 300, 1) == [93]
    # A short video: every clip at 0.
    assert _starts('CentredSampleFrames', 100, 3) == [0, 0, 0]


def test_training_sampling_is_mmaction2s():
    ours = _build(type='CentredSampleFrames', clip_len=8, frame_interval=4,
                  num_clips=1)
    theirs = _build(type='SampleFrames', clip_len=8, frame_interval=4,
                    num_clips=1)
    for seed in range(5):
        np.random.seed(seed)
        a = ours(dict(total_frames=300, start_index=0))['frame_inds']
        np.random.seed(seed)
        b = theirs(dict(total_frames=300, start_index=0))['frame_inds']
        assert np.array_equal(a, b)


def _frames(n=4, size=32, seed=0):
    rng = np.random.RandomState(seed)
    frame = rng.randint(0, 256, (size, size, 3), dtype=np.uint8)
    return [frame.copy() for _ in range(n)]


# ------------------------------------------------------------ PCA lighting
def test_lighting_shifts_every_frame_of_a_clip_alike():
    frames = [np.full((4, 4, 3), 100, np.uint8), np.zeros((4, 4, 3),
                                                          np.uint8)]
    np.random.seed(3)
    out = PCALighting()(dict(imgs=frames))['imgs']
    shift = out[0] - 100
    assert out[0].dtype == np.float32
    np.testing.assert_allclose(out[1], shift, atol=1e-5)  # not clipped
    assert np.allclose(shift, shift[0, 0])  # one offset per channel
    np.random.seed(3)
    alpha = np.random.normal(0, 0.1, 3)
    expected = np.asarray(PCALighting().eigvec) @ (
        alpha * np.asarray(PCALighting().eigval))
    np.testing.assert_allclose(shift[0, 0], expected, rtol=1e-5)


def test_lighting_is_about_three_levels():
    np.random.seed(0)
    shifts = np.stack([
        PCALighting()(dict(imgs=[np.zeros((1, 1, 3), np.uint8)]))['imgs'][0]
        [0, 0] for _ in range(4000)])
    # Var of channel i: sum_j (0.1 * eigval_j * eigvec_ij)^2; ~3.2 levels.
    t = PCALighting()
    expected = np.sqrt(((0.1 * t.eigval * t.eigvec)**2).sum(1))
    np.testing.assert_allclose(shifts.std(0), expected, rtol=0.06)
    assert 3.0 < expected.mean() < 3.4


# ------------------------------------------------------------ erasing
MEAN = (122.769, 116.74, 104.04)


def test_erasing_fills_one_rectangle_per_clip_with_the_mean():
    frames = [np.full((40, 60, 3), i * 10, np.uint8) for i in range(5)]
    np.random.seed(1)
    out = ClipRandomErasing(fill=MEAN, erase_prob=1.)(dict(imgs=frames))[
        'imgs']
    masks = [np.all(np.isclose(f, MEAN, atol=1e-4), axis=-1) for f in out]
    assert masks[0].any()
    for mask in masks[1:]:
        assert np.array_equal(mask, masks[0])  # the same box in every frame
    rows, cols = np.where(masks[0])
    h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert mask.sum() == h * w  # one rectangle
    assert h < 40 and w < 60  # drawn inside, never clipped at the border
    for f in out:  # normalised with the mean: exactly 0 there
        assert np.all(((f - np.float32(MEAN)) / 58.)[masks[0]] == 0)
        assert f.dtype == np.float32


def test_erasing_follows_timms_law():
    t = ClipRandomErasing(fill=MEAN, erase_prob=0.25)
    np.random.seed(0)
    erased = sum(
        t(dict(imgs=[np.zeros((8, 8, 3), np.uint8)]))['imgs'][0].any()
        for _ in range(4000))
    assert abs(erased / 4000 - 0.25) < 0.02
    np.random.seed(0)
    boxes = [t.box(224, 224) for _ in range(3000)]
    areas = np.array([b[2] * b[3] / 224**2 for b in boxes if b])
    aspects = np.array([b[2] / b[3] for b in boxes if b])
    assert len(areas) == 3000  # 224x224 nearly always fits in 10 draws
    assert areas.min() > 0.015 and areas.max() < 0.35
    assert abs(np.log(aspects).mean()) < 0.05  # log-uniform, symmetric
    assert aspects.min() >= 0.28 and aspects.max() <= 1 / 0.28


# ------------------------------------------------------------ RandAugment
def test_rand_augment_draws_distinct_operations_at_imgaugs_magnitudes():
    t = ImgaugRandAugment(n=4, m=7)
    np.random.seed(0)
    counts, flips, values = Counter(), 0, {}
    plans = 3000
    for _ in range(plans):
        flip, crop, ops = t.plan()
        flips += flip
        assert all(0 <= c <= 7 / 224 for c in crop)
        names = [name for name, _ in ops]
        assert len(set(names)) == 4  # distinct
        counts.update(names)
        for name, value in ops:
            values.setdefault(name, set()).add(
                tuple(np.round(value, 4)) if isinstance(value, tuple)
                else round(float(value), 4))
    assert len(OPERATIONS) == 18 and set(counts) == set(OPERATIONS)
    assert abs(flips / plans - 0.5) < 0.03
    for name in OPERATIONS:  # each in 4/18 of clips
        assert abs(counts[name] / plans - 4 / 18) < 0.03, name
    assert values['Rotate'] == {7.0, -7.0}
    shear = round(7 * math.degrees(0.3) / 30, 4)
    assert values['ShearX'] == {shear, -shear} and 4.0 < shear < 4.02
    assert values['TranslateX'] == {0.077, -0.077}
    assert values['Posterize'] == {7.0} and values['Solarize'] == {197.0}
    assert values['Contrast'] == {1.21, 0.79}
    assert {v[2] for v in values['Cutout']} == {round(7 / 48, 4)}


def test_rand_augment_gives_every_frame_the_same_operations():
    t = ImgaugRandAugment(n=4, m=7)
    for seed in range(20):
        np.random.seed(seed)
        out = t(dict(imgs=_frames()))
        for frame in out['imgs'][1:]:
            assert np.array_equal(frame, out['imgs'][0])
        assert out['imgs'][0].shape == (32, 32, 3)
        assert out['imgs'][0].dtype == np.uint8


@pytest.mark.parametrize('name,value,check', [
    ('Invert', 0., lambda x, y: np.array_equal(y, 255 - x)),
    ('Solarize', 197., lambda x, y: np.array_equal(
        y, np.where(x >= 197, 255 - x, x))),
    ('Posterize', 7., lambda x, y: np.array_equal(y, x & 0xFE)),
    ('Cutout', (0.5, 0.5, 0.25), lambda x, y: np.all(
        y[12:20, 12:20] == 128) and np.array_equal(y[:12], x[:12])),
    ('TranslateX', 0.25, lambda x, y: np.all(y[:, :8] == 128) and
     np.array_equal(y[:, 8:], x[:, :-8])),
    ('Rotate', 7., lambda x, y: (y == 128).all(-1).any() and
     not np.array_equal(x, y)),
])
def test_operations_do_what_imgaug_does(name, value, check):
    x = _frames(n=1)[0]
    y = ImgaugRandAugment.apply(x, False, (0, 0, 0, 0), [(name, value)])
    assert check(x, y)


def test_flip_and_crop_come_first():
    x = _frames(n=1, size=224)[0]
    flipped = ImgaugRandAugment.apply(x, True, (0, 0, 0, 0), [])
    assert np.array_equal(flipped, x[:, ::-1])
    cropped = ImgaugRandAugment.apply(x, False, (7 / 224, 0, 0, 0), [])
    assert cropped.shape == x.shape and not np.array_equal(cropped, x)


# ------------------------------------------------ RandAugment and imgaug
#: imgaug 0.4.0's outputs of every operation, the flip and the crop at
#: fixed parameters on three small images, and its parameters at every m in
#: 0-40; made by tools/analysis/make_randaugment_references.py with imgaug
#: 0.4.0, Pillow 13.0.0 and OpenCV 4.11 (the versions here), where the
#: .npz's key layout is documented.
IMGAUG_REFS = osp.join(osp.dirname(__file__), 'data',
                       'randaugment_imgaug_refs.npz')

#: Per operation: the largest |difference| from imgaug's output allowed, in
#: levels, and the fraction of values that may differ at all.
#: - Identity, Invert, Posterize, Solarize, Autocontrast, Equalize: exact,
#:   lookup tables on integers (Equalize our copy of imgaug's own code on
#:   the two larger images, PIL's below 64*64 components, as imgaug).
#: - Color, Contrast, Brightness, Sharpness, FilterBlur, FilterSmooth:
#:   exact, the Pillow call imgaug makes, with the same factor (Pillow's
#:   8-bit rounding is the same on both sides).
#: - Rotate, ShearX, ShearY, TranslateX, TranslateY: exact. Sampling is
#:   nearest-neighbour, through the float32 matrix imgaug builds: nothing
#:   is interpolated, so there is no rounding to allow for (a wrong matrix
#:   moves whole pixels, by far more than a level).
#: - Cutout and Flip: exact, a fill and a copy.
#: - Crop: the crop is exact, the resize back is bilinear (OpenCV's
#:   INTER_LINEAR, 11-bit fixed-point weights): at most 1 level on at most
#:   2% of values, the rounding of that interpolation, should another
#:   OpenCV build round a tie differently (with OpenCV 4.11: exact).
#:   A crop one pixel off differs by many levels on the noise image.
IMGAUG_TOLERANCE = {'Crop': (1, 0.02)}


@functools.lru_cache(maxsize=1)
def _imgaug_refs() -> dict:
    with np.load(IMGAUG_REFS) as refs:
        return {key: refs[key] for key in refs.files}


@pytest.mark.parametrize('name', [*OPERATIONS, 'Flip', 'Crop'])
def test_operations_compute_what_imgaug_computes(name):
    refs = _imgaug_refs()
    images = sorted(key.split('/')[1] for key in refs
                    if key.startswith('image/'))
    assert len(images) == 3
    max_diff, max_fraction = IMGAUG_TOLERANCE.get(name, (0, 0.))
    for k, value in enumerate(refs[f'value/{name}']):
        for image in images:
            x = refs[f'image/{image}']
            if name == 'Flip':
                y = ImgaugRandAugment.apply(x, True, (0, ) * 4, [])
            elif name == 'Crop':
                y = ImgaugRandAugment.apply(x, False, tuple(value), [])
            else:
                param = tuple(value) if value.size > 1 else value[0]
                y = ImgaugRandAugment.apply(x, False, (0, ) * 4,
                                            [(name, param)])
            want = refs[f'out/{name}/{image}'][k]
            where = f'{name}{value.tolist()} on {image}'
            assert y.shape == want.shape and y.dtype == np.uint8, where
            diff = np.abs(y.astype(np.int16) - want)
            assert diff.max() <= max_diff, (where, diff.max())
            assert (diff > 0).mean() <= max_fraction, (where,
                                                       (diff > 0).mean())


def test_magnitudes_are_imgaugs_at_every_m():
    # imgaug draws each parameter as m times a float32 factor, truncates
    # the integer ones and clips: equal to the last bit, both signs.
    refs = _imgaug_refs()
    names = [key.split('/')[1] for key in refs
             if key.startswith('magnitude/') and key != 'magnitude/m']
    assert len(names) == 12 and set(names) < set(OPERATIONS)
    for i, m in enumerate(refs['magnitude/m'].tolist()):
        np.random.seed(i)
        for name in names:
            values = [OPERATIONS[name][0](m) for _ in range(64)]
            if name == 'Cutout':  # (centre x, centre y, side)
                values = [value[2] for value in values]
            assert [min(values), max(values)] == refs[
                f'magnitude/{name}'][i].tolist(), (name, m)


def test_rand_augment_refuses_float_frames():
    with pytest.raises(TypeError, match='uint8'):
        ImgaugRandAugment()(dict(imgs=[np.zeros((4, 4, 3), np.float32)]))
