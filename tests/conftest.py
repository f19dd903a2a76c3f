"""Shared fixtures: real encoded videos on disk, MMAction2 list files, and
helpers to run the command-line tools: in this process (:func:`call_tool`,
the default) or, where a process of its own is what is tested, in a
subprocess (:func:`run_tool`)."""
import contextlib
import copy
import functools
import importlib.util
import io
import itertools
import logging
import os
import os.path as osp
import subprocess
import sys
from typing import List, NamedTuple, Optional

import numpy as np
import pytest

from mmaction_aim.utils.video import write_video

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The repository root, as the tools have it: projects/ is importable.
if REPO not in sys.path:
    sys.path.insert(0, REPO)
TINY_CONFIG = osp.join(REPO, 'tests', 'configs', 'tiny_recognizer.py')
# One thread, in this process as in the tools' subprocesses (tool_env), so
# that a run in one equals a run in the other bit for bit.
import torch  # noqa: E402

torch.set_num_threads(1)
NUM_CLASSES = 3


def make_clip(label: int, seed: int, num_frames: int = 12, height: int = 48,
              width: int = 64) -> List[np.ndarray]:
    """Frames of a square moving across the picture; its colour and
    direction depend on the class, noise on ``seed``."""
    rng = np.random.default_rng(seed)
    colour = np.array([[255, 40, 40], [40, 255, 40], [40, 40, 255]][label],
                      dtype=np.uint8)
    frames = []
    for t in range(num_frames):
        frame = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
        x = (4 + 3 * t * (1 if label != 1 else -1)) % (width - 12)
        y = (6 + 2 * t) % (height - 12)
        frame[y:y + 12, x:x + 12] = colour
        frames.append(frame)
    return frames


def write_dataset(root: str, per_class_train: int = 2,
                  per_class_val: int = 1) -> dict:
    """Write videos and ``train.txt`` / ``val.txt`` lists under ``root``.

    Returns:
        dict: ``root``, ``videos`` (the video prefix), ``train``, ``val``.
    """
    videos = osp.join(root, 'videos')
    lines = {'train': [], 'val': []}
    seed = 0
    for split, per_class in (('train', per_class_train),
                             ('val', per_class_val)):
        for label in range(NUM_CLASSES):
            for i in range(per_class):
                name = f'{split}_c{label}_{i}.mp4'
                write_video(osp.join(videos, name), make_clip(label, seed),
                            fps=10)
                seed += 1
                lines[split].append(f'{name} {label}')
    paths = dict(root=root, videos=videos)
    for split, entries in lines.items():
        paths[split] = osp.join(root, f'{split}.txt')
        with open(paths[split], 'w') as f:
            f.write('\n'.join(entries) + '\n')
    return paths


@pytest.fixture(scope='session')
def video_dataset(tmp_path_factory) -> dict:
    """A small 3-class dataset of real mp4v videos (6 train, 3 val)."""
    return write_dataset(str(tmp_path_factory.mktemp('videos')))


def data_options(dataset: dict) -> List[str]:
    """``--cfg-options`` pointing the tiny config at ``dataset``."""
    return [
        f'train_dataloader.dataset.ann_file={dataset["train"]}',
        f'train_dataloader.dataset.data_prefix.video={dataset["videos"]}',
        f'val_dataloader.dataset.ann_file={dataset["val"]}',
        f'val_dataloader.dataset.data_prefix.video={dataset["videos"]}',
        f'test_dataloader.dataset.ann_file={dataset["val"]}',
        f'test_dataloader.dataset.data_prefix.video={dataset["videos"]}',
    ]


def tool_env() -> dict:
    """Environment for tool subprocesses: one thread each, repo importable."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHONPATH=REPO + os.pathsep + env.get('PYTHONPATH', ''),
               # shell tools call `python`: make it this interpreter
               PATH=osp.dirname(sys.executable) + os.pathsep +
               env.get('PATH', ''))
    return env


def run_tool(args: List[str], timeout: float = 300,
             check: bool = True, cwd: Optional[str] = None
             ) -> subprocess.CompletedProcess:
    """Run ``python tools/<args>`` (or a shell script) and capture output."""
    if args[0].endswith('.sh'):
        cmd = ['bash', osp.join(REPO, 'tools', args[0])] + args[1:]
    else:
        cmd = [sys.executable, osp.join(REPO, 'tools', args[0])] + args[1:]
    proc = subprocess.run(cmd, cwd=cwd or REPO, env=tool_env(),
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(cmd)} exited {proc.returncode}\n--- stdout\n'
            f'{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}')
    return proc


def shrunk_config(config: str, directory, **kwargs) -> str:
    """``config`` shrunk by the package's one shrinker
    (:func:`mmaction_aim.analysis.shrink_config`), written to
    ``directory``; its path."""
    from mmengine.config import Config

    from mmaction_aim.analysis import shrink_config
    cfg = Config.fromfile(osp.join(REPO, config))
    shrink_config(cfg, **kwargs)
    path = osp.join(str(directory), 'shrunk_' + osp.basename(config))
    cfg.dump(path)
    return path


class ToolResult(NamedTuple):
    """What an in-process tool run gave."""

    returncode: int
    stdout: str
    stderr: str


_tools = {}
_runs = itertools.count()


def tool_module(name: str):
    """``tools/<name>.py`` as a module (loaded once)."""
    if name not in _tools:
        spec = importlib.util.spec_from_file_location(
            'tool_' + name.replace('/', '_').replace('.py', ''),
            osp.join(REPO, 'tools', name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _tools[name] = module
    return _tools[name]


def call_tool(args: List[str], check: bool = True) -> ToolResult:
    """Run ``tools/<args[0]>``'s ``main(args[1:])`` in this process, as the
    command line runs it (bad input: one ``error:`` line and status 1).

    MMEngine runs get a unique ``experiment_name``: two runners built in
    the same second would otherwise share one logger and message hub.
    """
    from mmaction_aim.utils import main_with_clear_errors
    name, argv = args[0], list(args[1:])
    if name in ('train.py', 'test.py'):
        argv += ['--cfg-options', f'experiment_name=run{next(_runs)}']
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = main_with_clear_errors(tool_module(name).main, argv)
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if isinstance(exc.code, str):  # what the interpreter prints
                print(exc.code, file=sys.stderr)
    proc = ToolResult(code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f'tools/{name} {argv} exited {code}\n--- '
                             f'stdout\n{proc.stdout[-4000:]}\n--- stderr\n'
                             f'{proc.stderr[-6000:]}')
    return proc


def refused(proc: ToolResult, status: int, *expected: str) -> str:
    """The one ``error:`` line of a refused tool run, checked: the exit
    status, no traceback, one error line (nothing else on stderr for the
    tool's own errors, status 1) holding every ``expected`` text."""
    assert proc.returncode == status, (proc.returncode, proc.stdout[-2000:],
                                       proc.stderr[-3000:])
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if 'error: ' in line]
    assert len(errors) == 1, proc.stderr[-3000:]
    if status == 1:  # ours: nothing but the line
        assert proc.stderr.strip() == errors[0], proc.stderr[-3000:]
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


@contextlib.contextmanager
def captured_log_records():
    """The records MMEngine's current logger emits inside the block."""
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'cuda: needs a CUDA GPU (skipped, with the reason, '
        'without one); run them alone with `-m cuda`')


def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU; none on this machine')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)


def numbered_frames(count: int, height: int = 64, width: int = 96
                    ) -> List[np.ndarray]:
    """Frames each telling its index: two squares moving 2 pixels a frame
    in opposite directions, and a bar as long as the index."""
    frames = []
    for i in range(count):
        f = np.full((height, width, 3), 40, np.uint8)
        x = 2 * i % (width - 16)
        f[8:24, x:x + 16] = (200, 50, 50)
        f[40:56, width - 16 - x:width - x] = (50, 200, 90)
        f[60:62, :min(2 * i + 2, width)] = 255
        frames.append(f)
    return frames


@pytest.fixture(scope='session')
def codec_videos(tmp_path_factory) -> dict:
    """Real codecs, encoded now by the FFmpeg that imageio-ffmpeg ships:
    H.264 with B-frames and one keyframe (a GOP longer than the clip, as
    Kinetics clips cut from long videos have), VP9 WebM (as
    Something-Something v2), H.264 at a variable frame rate (10 frames at
    10 fps, then 20 at 30 fps). ``{name: (path, source frames)}``."""
    from mmaction_aim.utils.video import encode_video
    root = tmp_path_factory.mktemp('codecs')
    frames = numbered_frames(40)
    return {
        'h264': (encode_video(str(root / 'h264.mp4'), frames, codec='h264',
                              gop=250, bframes=3), frames),
        'vp9': (encode_video(str(root / 'vp9.webm'), frames, codec='vp9'),
                frames),
        'h264_vfr': (encode_video(str(root / 'vfr.mp4'), frames[:30],
                                  codec='h264', vfr=[(10, 10.), (20, 30.)]),
                     frames[:30]),
    }


@functools.lru_cache(maxsize=None)
def _parsed_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(path)


def load_config(path: str):
    """A config file parsed once per process (``Config.fromfile`` of the
    model-zoo configs is slow); each caller gets its own copy."""
    return copy.deepcopy(_parsed_config(osp.abspath(path)))


def val_records(work_dir: str) -> list:
    """Every validation record a run under ``work_dir`` logged (MMEngine's
    ``vis_data/scalars.json`` lines with ``acc/top1``), in order."""
    import glob
    import json
    records = []
    for path in sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data',
                                              'scalars.json'))):
        with open(path) as f:
            records += [r for r in map(json.loads, f) if 'acc/top1' in r]
    return records

