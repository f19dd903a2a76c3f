"""The synthetic "what moves, and which way in time" task of the demo.

Two kinds of data come out of one renderer:

* **still images** (for pre-training the image model): one object of a given
  shape and colour on a random background; the label is the shape and colour.
  A model trained on them learns *what* is in a frame and nothing about time.
* **videos** (for adapting it): a shape that moves right or left, grows or
  shrinks, appears or vanishes, or stands still. A class is a shape and a
  motion. Every moving class has a *time-reversed twin*: each rendered clip
  is written twice, once as is and once with its frames in reverse order, with
  the two labels of the pair. A model that ignores frame order gives both the
  same scores, so inside a pair it cannot beat chance.

Everything is drawn with NumPy from a seeded generator, so a seed gives the
same set on every machine (the video files themselves go through OpenCV's
MPEG-4 encoder, see :func:`mmaction_aim.utils.video.write_video`).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

SHAPES = ('circle', 'square', 'triangle', 'cross')
COLOURS = {
    'red': (220, 50, 40),
    'green': (40, 190, 60),
    'blue': (50, 90, 230),
    'yellow': (235, 210, 40),
}
# Motions that come in time-reversed twins: (forward, reversed).
TWIN_MOTIONS = (('move_right', 'move_left'), ('grow', 'shrink'),
                ('appear', 'vanish'))
STILL_MOTION = 'still'
DEFAULT_VIDEO_SHAPES = ('circle', 'square')

_SUPERSAMPLE = 4  # shapes are drawn at 4x and averaged down (anti-aliasing)


def _shape_mask(shape: str, size: int, cx: float, cy: float,
                radius: float) -> np.ndarray:
    """Coverage in [0, 1] of a shape centred at (cx, cy), ``[size, size]``."""
    s = _SUPERSAMPLE
    coords = (np.arange(size * s, dtype=np.float32) + 0.5) / s
    x = coords[None, :] - cx
    y = coords[:, None] - cy
    if shape == 'circle':
        inside = x * x + y * y <= radius * radius
    elif shape == 'square':
        half = radius * 0.85
        inside = (np.abs(x) <= half) & (np.abs(y) <= half)
    elif shape == 'triangle':
        # Upward triangle: apex on top, base at the bottom.
        top, bottom = -radius, radius * 0.8
        rel = (y - top) / (bottom - top)
        inside = (y >= top) & (y <= bottom) & (np.abs(x) <= rel * radius)
    elif shape == 'cross':
        arm = radius * 0.35
        inside = (((np.abs(x) <= arm) & (np.abs(y) <= radius))
                  | ((np.abs(y) <= arm) & (np.abs(x) <= radius)))
    else:
        raise ValueError(f'Unknown shape {shape!r}; choose from {SHAPES}')
    mask = inside.astype(np.float32).reshape(size, s, size, s)
    return mask.mean(axis=(1, 3))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth, dim, random two-colour gradient, float ``[size, size, 3]``."""
    c0 = rng.uniform(0, 90, size=3)
    c1 = rng.uniform(0, 90, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    coords = np.arange(size, dtype=np.float32) / max(size - 1, 1)
    ramp = (np.cos(angle) * coords[None, :] + np.sin(angle) * coords[:, None])
    ramp = (ramp - ramp.min()) / max(ramp.max() - ramp.min(), 1e-6)
    return c0 + (c1 - c0) * ramp[..., None]


def _object_colour(rng: np.random.Generator, colour: str) -> np.ndarray:
    base = np.asarray(COLOURS[colour], dtype=np.float32)
    return np.clip(base + rng.uniform(-20, 20, size=3), 0, 255)


def _compose(bg: np.ndarray, mask: np.ndarray, colour: np.ndarray,
             alpha: float = 1.0) -> np.ndarray:
    cover = (mask * alpha)[..., None]
    return np.clip(bg * (1 - cover) + colour * cover + 0.5, 0,
                   255).astype(np.uint8)


def render_image(rng: np.random.Generator, shape: str, colour: str,
                 size: int = 32) -> np.ndarray:
    """One still image: a shape of a colour, random place and size."""
    radius = rng.uniform(0.14, 0.32) * size
    cx, cy = rng.uniform(radius, size - radius, size=2)
    mask = _shape_mask(shape, size, cx, cy, radius)
    return _compose(_background(rng, size), mask, _object_colour(rng, colour))


def render_clip(rng: np.random.Generator, shape: str, motion: str,
                num_frames: int = 8, size: int = 32) -> np.ndarray:
    """Frames ``[T, size, size, 3]`` (uint8 RGB) of a forward motion.

    ``motion`` is ``'move_right'``, ``'grow'``, ``'appear'`` or ``'still'``;
    the other member of each twin pair is this clip reversed in time.
    """
    colour = _object_colour(rng, rng.choice(sorted(COLOURS)))
    bg = _background(rng, size)
    t = np.linspace(0., 1., num_frames)
    radius = np.full(num_frames, rng.uniform(0.16, 0.26) * size)
    alpha = np.ones(num_frames)
    cx = np.full(num_frames, rng.uniform(0.3, 0.7) * size)
    cy = np.full(num_frames, rng.uniform(0.3, 0.7) * size)
    if motion == 'move_right':
        r = radius[0]
        start = rng.uniform(0.0, 0.15) * size + r * 0.5
        stop = size - rng.uniform(0.0, 0.15) * size - r * 0.5
        cx = start + (stop - start) * t
        cy = np.full(num_frames, rng.uniform(r, size - r))
    elif motion == 'grow':
        small = rng.uniform(0.06, 0.10) * size
        big = rng.uniform(0.30, 0.40) * size
        radius = small + (big - small) * t
    elif motion == 'appear':
        alpha = t
    elif motion != STILL_MOTION:
        raise ValueError(f'{motion!r} is not a forward motion')
    frames = [
        _compose(bg, _shape_mask(shape, size, cx[i], cy[i], radius[i]),
                 colour, alpha[i]) for i in range(num_frames)
    ]
    return np.stack(frames)


def video_classes(shapes: Sequence[str] = DEFAULT_VIDEO_SHAPES,
                  with_still: bool = True) -> List[str]:
    """Class names, in label order: ``'<shape>_<motion>'``.

    Twins are adjacent (label ``2k`` and ``2k + 1``), still classes last.
    """
    names = [f'{s}_{m}' for s in shapes for pair in TWIN_MOTIONS for m in pair]
    if with_still:
        names += [f'{s}_{STILL_MOTION}' for s in shapes]
    return names


def twin_pairs(shapes: Sequence[str] = DEFAULT_VIDEO_SHAPES
               ) -> List[Tuple[int, int]]:
    """Label pairs ``(forward, reversed)`` of the time-reversed twins."""
    return [(2 * k, 2 * k + 1)
            for k in range(len(shapes) * len(TWIN_MOTIONS))]


def make_video_split(out_dir: str, split: str, clips_per_class: int,
                     seed: int, shapes: Sequence[str] = DEFAULT_VIDEO_SHAPES,
                     num_frames: int = 8, size: int = 32,
                     fps: float = 8.0, codec: str = 'mpeg4-opencv') -> str:
    """Write one split as ``.mp4`` files plus an MMAction2 list file.

    Each moving clip is rendered once and written twice (forward with the
    forward label, reversed with its twin's label), so the split holds
    ``clips_per_class`` videos of every class and every reversed video has
    its forward partner in the same split.

    Args:
        out_dir (str): Dataset root; videos go to ``out_dir/<split>/``.
        split (str): Split name (``'train'``, ``'val'``, ``'test'``).
        clips_per_class (int): Videos per class.
        seed (int): Seed of this split's random generator.
        shapes (Sequence[str]): Shapes of the video classes.
        num_frames (int): Frames per video. Defaults to 8.
        size (int): Frame height and width in pixels. Defaults to 32.
        fps (float): Frame rate stored in the files. Defaults to 8.
        codec (str): ``'mpeg4-opencv'`` (OpenCV's MPEG-4 part 2), or a
            real dataset's codec through the packaged FFmpeg: ``'h264'``
            (``.mp4``, B-frames) or ``'vp9'`` (``.webm``). Defaults to
            ``'mpeg4-opencv'``.

    Returns:
        str: Path of the list file ``out_dir/<split>.txt`` whose lines are
        ``<split>/<name>.<ext> <label>``.
    """
    from mmaction_aim.utils.video import encode_video, write_video

    ext = 'webm' if codec == 'vp9' else 'mp4'

    def write(path, frames):
        if codec == 'mpeg4-opencv':
            return write_video(path, frames, fps)
        return encode_video(path, frames, fps=fps, codec=codec)

    rng = np.random.default_rng(seed)
    names = video_classes(shapes)
    label = {name: i for i, name in enumerate(names)}
    lines = []
    for shape in shapes:
        for fwd, rev in TWIN_MOTIONS:
            for i in range(clips_per_class):
                frames = render_clip(rng, shape, fwd, num_frames, size)
                for motion, clip in ((fwd, frames), (rev, frames[::-1])):
                    rel = f'{split}/{shape}_{motion}_{i:04d}.{ext}'
                    write(osp.join(out_dir, rel), clip)
                    lines.append(f'{rel} {label[f"{shape}_{motion}"]}')
        for i in range(clips_per_class):
            frames = render_clip(rng, shape, STILL_MOTION, num_frames, size)
            rel = f'{split}/{shape}_{STILL_MOTION}_{i:04d}.{ext}'
            write(osp.join(out_dir, rel), frames)
            lines.append(f'{rel} {label[f"{shape}_{STILL_MOTION}"]}')
    ann_file = osp.join(out_dir, f'{split}.txt')
    with open(ann_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return ann_file


def make_video_dataset(out_dir: str, seed: int = 0,
                       clips_per_class: Optional[Dict[str, int]] = None,
                       shapes: Sequence[str] = DEFAULT_VIDEO_SHAPES,
                       num_frames: int = 8, size: int = 32,
                       codec: str = 'mpeg4-opencv') -> Dict[str, str]:
    """Write train/val/test splits and a ``classes.json`` describing them.

    Args:
        out_dir (str): Dataset root.
        seed (int): Base seed; split ``k`` uses ``seed * 100 + k``.
        clips_per_class (dict, optional): Videos per class for each split.
            Defaults to ``dict(train=24, val=4, test=12)``.
        shapes (Sequence[str]): Shapes of the video classes.
        num_frames (int): Frames per video. Defaults to 8.
        size (int): Frame size in pixels. Defaults to 32.
        codec (str): Of :func:`make_video_split`. Defaults to
            ``'mpeg4-opencv'``.

    Returns:
        dict: Split name to list-file path.
    """
    if clips_per_class is None:
        clips_per_class = dict(train=24, val=4, test=12)
    os.makedirs(out_dir, exist_ok=True)
    ann_files = {}
    for k, (split, n) in enumerate(clips_per_class.items()):
        ann_files[split] = make_video_split(out_dir, split, n,
                                            seed * 100 + k, shapes,
                                            num_frames, size, codec=codec)
    with open(osp.join(out_dir, 'classes.json'), 'w') as f:
        json.dump(dict(classes=video_classes(shapes),
                       twin_pairs=twin_pairs(shapes), seed=seed,
                       num_frames=num_frames, size=size,
                       clips_per_class=clips_per_class), f, indent=1)
    return ann_files


def image_classes(shapes: Sequence[str] = SHAPES,
                  colours: Sequence[str] = tuple(COLOURS)) -> List[str]:
    """Class names of the still-image task: ``'<colour>_<shape>'``."""
    return [f'{c}_{s}' for s in shapes for c in colours]


def make_image_batch(rng: np.random.Generator, num: int, size: int = 32,
                     shapes: Sequence[str] = SHAPES,
                     colours: Sequence[str] = tuple(COLOURS)
                     ) -> Tuple[np.ndarray, np.ndarray]:
    """``num`` still images ``[num, size, size, 3]`` and their labels."""
    labels = rng.integers(0, len(shapes) * len(colours), size=num)
    images = np.stack([
        render_image(rng, shapes[y // len(colours)], colours[y % len(colours)],
                     size) for y in labels
    ])
    return images, labels
