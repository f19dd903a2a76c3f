"""Speed and memory of AIM against full fine-tuning and a frozen linear probe.

The measuring code of ``tools/analysis/benchmark.py`` (a thin command line
over :func:`main`). Usage::

    python tools/analysis/benchmark.py configs/aim_vitb_k400.py
    python tools/analysis/benchmark.py configs/aim_vitb_k400.py \\
        --batch-size 2 --repeats 5 --warmup 2 --with-cp --out bench.json
    python tools/analysis/benchmark.py CONFIG --variants aim full \\
        --cfg-options model.backbone.num_frames=16

For one config, in one run and side by side, it measures

* the machine's matrix-product throughput: the median time of square
  ``n x n`` matrix products, ``n`` = 4 x the width of the blocks doing most
  of the work (:func:`reference_width`, from the built model: a ViT's MLP,
  its widest product), float32 on the CPU, bfloat16 on a GPU (the precision
  the model then runs in);
* for each variant, inference clips per second (``mode='tensor'`` forward
  under ``torch.no_grad``, eval mode), training seconds per step (forward in
  ``mode='loss'``, backward, AdamW step over the trainable parameters, train
  mode), and the peak memory of each;
* the FLOPs of one inference forward and one training step, counted by
  :func:`mmaction_aim.analysis.flops.count_macs` on the very computation
  that runs (its backward holds only the matrix products autograd really
  executes: frozen weights get no weight-gradient product), and the achieved
  FLOP/s as a fraction of the measured matrix-product throughput. FLOPs are
  multiply-accumulates on both sides of that ratio (the package's one
  convention, :mod:`mmaction_aim.analysis.flops`).
  The reference products are timed once more between the timed steps of
  every variant, in its own process, and each row is divided by its own
  median (the load of a shared machine drifts; this cancels it).
* *useful* FLOPs: those of the same training step built without
  recomputation (``recompute_frozen=()``, ``with_cp=False``). The counted
  FLOPs of a recomputing step include the forward products it repeats;
  both fractions are reported.

The variants, built from the config with ``model.backbone.pretrained=None``:

* ``aim``: the config as it is;
* ``full``: full fine-tuning of the same image model
  (``adapters=(), freeze_image_model=False``);
* ``linear``: the frozen image model with a linear head
  (``adapters=(), temporal_embedding=False, freeze_ln_post=True``);
* ``plain`` (only when asked for, CLIP configs): the same AIM computed the
  straightforward way, :mod:`mmaction_aim.analysis.plain_aim`
  (``nn.MultiheadAttention``, regrouping copies, plain autograd).

Every (variant, inference or training) is measured in its own process, so
that one's memory does not colour another's. Peak memory:

* CPU: the process's peak resident set size (``VmHWM``, reset through
  ``/proc/self/clear_refs`` once the model and its inputs exist; where that
  is not allowed, ``ru_maxrss``) minus the resident set size at that moment,
  i.e. everything the steps add to the built model: activations, gradients,
  optimizer state, workspace. Measured in a second process (one warm-up
  step and one measured step) run with ``MALLOC_MMAP_THRESHOLD_=65536``, so
  that freed buffers go back to the system and the resident set follows the
  live tensors; with glibc's default, adaptive threshold its heap keeps
  freed buffers, and the peak depends on the order of allocations more than
  on what the model needs (that figure, from the timing process, is
  reported too, as ``peak_rss_timing_bytes``);
* CUDA: ``torch.cuda.max_memory_allocated()`` minus the memory allocated
  once the model and its inputs exist.

With ``--max-batch`` (CUDA only), the largest training batch of every
variant that fits on the GPU is searched as well (:func:`largest_batch`,
one fresh process per size tried).

Timings are medians over ``--repeats`` runs after ``--warmup`` runs; on CUDA
each is bracketed by ``torch.cuda.synchronize()``, and the forward runs under
bfloat16 autocast (the weights stay float32, as with MMEngine's
``AmpOptimWrapper``). Results are printed as a table and, with ``--out``,
written as JSON.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import torch

from ..utils.cli import add_cfg_options
from .builder import VARIANTS, build_model, check_variant, load_config
from .flops import count_macs


# ----------------------------------------------------------------- memory


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class PeakMemory:
    """Peak memory added after :meth:`start`, on the CPU or one GPU."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.method = ''
        self.baseline = 0

    def start(self) -> None:
        """Take the baseline and reset the high-water mark."""
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
            self.method = 'torch.cuda.max_memory_allocated - allocated before'
            return
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # reset VmHWM to the current RSS
            self.method = 'VmHWM (reset via clear_refs) - RSS before'
        except OSError:
            self.method = 'ru_maxrss - RSS before (upper bound)'
        self.baseline = _rss_bytes()

    def peak(self) -> int:
        """Peak bytes above the baseline since :meth:`start`."""
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) - \
                self.baseline
        if self.method.startswith('VmHWM'):
            with open('/proc/self/status') as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        return int(line.split()[1]) * 1024 - self.baseline
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return peak - self.baseline


# --------------------------------------------------------------- building


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _matmul_product(size: int, device: torch.device):
    """``(run, flops, dtype)``: one timing's worth of ``size x size``
    products, float32 on the CPU, bfloat16 on CUDA (autocast's precision).
    """
    dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    # Enough products per timing to last a while even on a fast GPU.
    inner = 1 if device.type == 'cpu' else 20
    out = torch.empty(size, size, device=device, dtype=dtype)

    def run() -> None:
        for _ in range(inner):
            torch.mm(a, b, out=out)

    run()  # first-touch of the output, library initialisation
    return run, size**3 * inner, str(dtype).replace('torch.', '')  # MACs


def matmul_throughput(size: int, device: torch.device, repeats: int,
                      warmup: int) -> Dict[str, float]:
    """Median FLOP/s (MACs per second) of ``size x size`` matrix products.

    float32 on the CPU, bfloat16 on CUDA (the precision of autocast).
    """
    run, flops, dtype = _matmul_product(size, device)
    for _ in range(warmup):
        run()
    times = [_timed(run, device) for _ in range(max(repeats, 3))]
    return dict(size=size, dtype=dtype, flops_per_run=flops,
                flops_per_s=flops / statistics.median(times),
                times_s=times)


def _recomputes(model: torch.nn.Module) -> bool:
    """Whether a training step of ``model`` recomputes forward work."""
    backbone = model.backbone
    return bool(getattr(backbone, 'with_cp', False) or any(
        block.recompute for block in backbone.adapted_blocks()))


class Step(NamedTuple):
    """A built variant and what runs it."""

    model: torch.nn.Module
    step: Callable[[], None]  # one inference forward or training step
    loss: Callable[[], dict]  # the training forward alone
    autocast: torch.autocast


def build_step(config: str, variant: str, mode: str, batch_size: int,
               device: str, with_cp: bool = False,
               cfg_options: Optional[dict] = None) -> Step:
    """Build ``variant`` of ``config`` and one step of it on random clips.

    Inference: ``model(inputs, mode='tensor', stage='head')`` under
    ``torch.no_grad``, eval mode. Training: ``mode='loss'`` forward, backward,
    AdamW step over
    the trainable parameters, ``zero_grad``, train mode. On CUDA both run
    under bfloat16 autocast (float32 weights, as ``AmpOptimWrapper``).
    """
    from mmaction.structures import ActionDataSample
    dev = torch.device(device)
    torch.manual_seed(0)
    model = build_model(load_config(config, cfg_options), dev, variant,
                        with_cp, init=True)
    backbone = model.backbone
    size = backbone.input_size
    inputs = torch.randn(batch_size, 1, 3, backbone.num_frames, size, size,
                         device=dev)  # [B, V, C, T, H, W]
    samples = [
        ActionDataSample().set_gt_label(i % model.cls_head.num_classes)
        for i in range(batch_size)
    ]
    autocast = torch.autocast('cuda', dtype=torch.bfloat16,
                              enabled=dev.type == 'cuda')

    def loss() -> dict:
        with autocast:
            return model(inputs, samples, mode='loss')

    if mode == 'inference':
        model.eval()

        def step() -> None:
            with torch.no_grad(), autocast:
                model(inputs, mode='tensor', stage='head')
    elif mode == 'train':
        model.train()
        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=1e-4,
            weight_decay=0.05)

        def step() -> None:
            losses = loss()
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    else:
        raise ValueError(f'unknown mode {mode!r}')
    return Step(model, step, loss, autocast)


def measure(config: str, variant: str, mode: str, batch_size: int,
            repeats: int, warmup: int, with_cp: bool, device: str,
            cfg_options: Optional[dict] = None,
            memory_only: bool = False,
            matmul_size: Optional[int] = None) -> dict:
    """Time, FLOPs and peak memory of one variant in one mode, in this
    process.

    Args:
        config (str): Config path.
        variant (str): A key of :data:`VARIANTS`.
        mode (str): ``'inference'`` or ``'train'``.
        batch_size (int): Clips per step.
        repeats (int): Timed runs (median reported).
        warmup (int): Untimed runs first.
        with_cp (bool): Activation checkpointing of the backbone.
        device (str): ``'cpu'`` or ``'cuda'``.
        cfg_options (dict, optional): Config overrides.
        memory_only (bool): Skip counting FLOPs. Defaults to False.
        matmul_size (int, optional): Side of the reference matrix product,
            timed once after every timed step (interleaved, so that it sees
            the load the step saw). None: not timed.

    Returns:
        dict: ``times_s``, ``median_s``, ``flops``, ``useful_flops``
        (those of the same step built without recomputation: the work the
        gradients need), ``matmul`` (the interleaved reference),
        ``saved_activation_bytes``, ``peak_memory_bytes``,
        ``memory_method``, parameter counts.
    """
    dev = torch.device(device)
    built = build_step(config, variant, mode, batch_size, device, with_cp,
                       cfg_options)
    model, step = built.model, built.step
    # The reference product's matrices exist before the peak is reset, so
    # that they do not count as the model's memory.
    product = None if memory_only or not matmul_size else \
        _matmul_product(matmul_size, dev)
    memory = PeakMemory(dev)
    memory.start()
    for _ in range(warmup):
        step()
    times, matmul_times = [], []
    for _ in range(repeats):
        times.append(_timed(step, dev))
        if product is not None:
            matmul_times.append(_timed(product[0], dev))
    peak = memory.peak()
    flops = useful = saved = 0
    if not memory_only:
        flops = useful = count_macs(step)[0]
        if mode == 'train':
            from mmaction_aim.models.utils import saved_activation_bytes
            saved = saved_activation_bytes(model, built.loss)
            if _recomputes(model):
                plain = dict(cfg_options or {})
                plain.update({'model.backbone.recompute_frozen': (),
                              'model.backbone.with_cp': False})
                useful = count_macs(
                    build_step(config, variant, mode, batch_size, device,
                               cfg_options=plain).step)[0]
    matmul = None
    if matmul_times:
        matmul = dict(size=matmul_size, dtype=product[2],
                      times_s=matmul_times,
                      flops_per_s=product[1] / statistics.median(
                          matmul_times))
    return dict(
        variant=variant, mode=mode, batch_size=batch_size, with_cp=with_cp,
        times_s=times, median_s=statistics.median(times), flops=flops,
        useful_flops=useful, matmul=matmul, saved_activation_bytes=saved,
        peak_memory_bytes=peak, memory_method=memory.method,
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters()
                             if p.requires_grad))


class OutOfMemory(RuntimeError):
    """A worker ran out of GPU memory."""


def _worker(args: argparse.Namespace, variant: str, mode: str,
            memory_only: bool, batch_size: Optional[int] = None) -> dict:
    batch_size = batch_size or args.batch_size
    cmd = [sys.executable, '-m', 'mmaction_aim.analysis.benchmark',
           args.config,
           '--worker', variant, mode, '--batch-size', str(batch_size),
           '--repeats', '1' if memory_only else str(args.repeats),
           '--warmup', '1' if memory_only else str(args.warmup),
           '--device', args.device]
    if args.matmul_size:
        cmd += ['--matmul-size', str(args.matmul_size)]
    env = dict(os.environ)
    if memory_only:
        cmd.append('--memory-only')
        # A fixed threshold: every buffer of 64 KiB or more gets its own
        # mapping, returned to the system when freed, so that the resident
        # set follows the live tensors instead of what glibc's heap keeps.
        env['MALLOC_MMAP_THRESHOLD_'] = str(64 * 1024)
    if args.with_cp:
        cmd.append('--with-cp')
    if args.cfg_options:
        cmd += ['--cfg-options-json', json.dumps(args.cfg_options)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        if 'OutOfMemoryError' in proc.stderr or \
                'out of memory' in proc.stderr:
            raise OutOfMemory(f'{variant}/{mode} at batch {batch_size}')
        raise RuntimeError(f'{variant}/{mode} failed:\n{proc.stderr[-4000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_in_subprocess(args: argparse.Namespace, variant: str,
                      mode: str) -> dict:
    """:func:`measure` in fresh Python processes; the JSON result.

    On the CPU, timings come from one process and the peak memory from a
    second one whose allocator returns freed buffers to the system (see
    :func:`_worker`); the timing process's own peak resident set, which
    includes what glibc's heap holds on to, is kept as
    ``peak_rss_timing_bytes``.
    """
    result = _worker(args, variant, mode, memory_only=False)
    if args.device == 'cpu':
        memory = _worker(args, variant, mode, memory_only=True)
        result['peak_rss_timing_bytes'] = result['peak_memory_bytes']
        result['peak_memory_bytes'] = memory['peak_memory_bytes']
        result['memory_method'] = memory['memory_method'] + \
            ', MALLOC_MMAP_THRESHOLD_=65536, separate process'
    return result


def largest_batch(fits, start: int = 1, limit: int = 4096) -> int:
    """The largest batch size ``b <= limit`` with ``fits(b)``, or 0.

    Doubles from ``start`` until a size does not fit, then bisects between
    the last that did and the first that did not (``fits`` is taken to be
    monotonic): about ``2 log2(answer)`` tries.
    """
    if not fits(start):
        return 0
    good, bad = start, None
    while bad is None:
        trial = min(2 * good, limit)
        if trial == good:
            return good
        if fits(trial):
            good = trial
        else:
            bad = trial
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good


def max_training_batch(args: argparse.Namespace, variant: str) -> int:
    """The largest training batch of ``variant`` that fits on the GPU.

    Every size is tried in a fresh process (one step, no timing), so that
    an out-of-memory error leaves nothing behind for the next try.
    """

    def fits(batch: int) -> bool:
        try:
            _worker(args, variant, 'train', memory_only=True,
                    batch_size=batch)
        except OutOfMemory:
            return False
        return True

    return largest_batch(fits, start=args.batch_size)


# ---------------------------------------------------------------- report


def summarise(results: List[dict], matmul: Dict[str, float],
              batch_size: int) -> Dict[str, dict]:
    """Per-variant figures and the ratios to full fine-tuning.

    Each achieved FLOP/s is divided by the matrix-product throughput timed
    in the same process, interleaved with its steps (``matmul`` where a run
    has none). ``*_matmul_fraction`` counts every product that runs
    (recomputation included); ``train_useful_matmul_fraction`` only the
    useful ones (see :func:`_useful_step`).
    """
    table: Dict[str, dict] = {}
    for r in results:
        row = table.setdefault(r['variant'], {})
        reference = (r.get('matmul') or matmul)['flops_per_s']
        rate = r['flops'] / r['median_s']
        useful = r.get('useful_flops') or r['flops']
        prefix = 'inference' if r['mode'] == 'inference' else 'train'
        row[f'{prefix}_s'] = r['median_s']
        row[f'{prefix}_flops'] = r['flops']
        row[f'{prefix}_useful_flops'] = useful
        row[f'{prefix}_flops_per_s'] = rate
        row[f'{prefix}_matmul_flops_per_s'] = reference
        row[f'{prefix}_matmul_fraction'] = rate / reference
        row[f'{prefix}_useful_matmul_fraction'] = (
            useful / r['median_s'] / reference)
        row[f'{prefix}_peak_memory_bytes'] = r['peak_memory_bytes']
        if r.get('saved_activation_bytes'):
            row['train_saved_activation_bytes'] = r['saved_activation_bytes']
        if 'peak_rss_timing_bytes' in r:
            row[f'{prefix}_peak_rss_timing_bytes'] = \
                r['peak_rss_timing_bytes']
        row['trainable_params'] = r['trainable_params']
        row['params'] = r['params']
        if r['mode'] == 'inference':
            row['inference_clips_per_s'] = batch_size / r['median_s']
    full = table.get('full')
    for row in table.values():
        if full and 'train_peak_memory_bytes' in row and \
                'train_peak_memory_bytes' in full:
            row['train_memory_vs_full'] = (row['train_peak_memory_bytes'] /
                                           full['train_peak_memory_bytes'])
            row['train_time_vs_full'] = row['train_s'] / full['train_s']
    return table


def format_table(table: Dict[str, dict], matmul: Dict[str, float]) -> str:
    """A plain-text table of :func:`summarise`'s figures."""
    gb = 1024**3
    nan = float('nan')
    lines = [
        f'matmul {matmul["size"]}x{matmul["size"]} {matmul["dtype"]}: '
        f'{matmul["flops_per_s"] / 1e9:.1f} GFLOP/s (median; each row is '
        'divided by the products timed between its own steps)',
        f'{"variant":<8} {"trainable":>10} {"clips/s":>8} {"inf GFLOP":>10}'
        f' {"inf %mm":>8} {"inf GB":>7} {"s/step":>8} {"train GFLOP":>12}'
        f' {"train %mm":>9} {"useful %mm":>10} {"train GB":>9}'
        f' {"mem/full":>8}'
    ]
    for name, r in table.items():
        lines.append(
            f'{name:<8} {r["trainable_params"] / 1e6:>9.2f}M'
            f' {r.get("inference_clips_per_s", float("nan")):>8.3f}'
            f' {r.get("inference_flops", 0) / 1e9:>10.1f}'
            f' {100 * r.get("inference_matmul_fraction", float("nan")):>7.1f}%'
            f' {r.get("inference_peak_memory_bytes", 0) / gb:>7.2f}'
            f' {r.get("train_s", float("nan")):>8.2f}'
            f' {r.get("train_flops", 0) / 1e9:>12.1f}'
            f' {100 * r.get("train_matmul_fraction", float("nan")):>8.1f}%'
            f' {100 * r.get("train_useful_matmul_fraction", nan):>9.1f}%'
            f' {r.get("train_peak_memory_bytes", 0) / gb:>9.2f}'
            f' {r.get("train_memory_vs_full", float("nan")):>8.2f}')
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        prog='tools/analysis/benchmark.py',
        description='Speed and memory of AIM, full fine-tuning and a linear '
        'probe, side by side')
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, default=2,
                        help='clips per step (default 2)')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed runs; the median is reported (default 5)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed runs before timing (default 1)')
    parser.add_argument('--variants', nargs='+',
                        default=['aim', 'full', 'linear'],
                        choices=list(VARIANTS),
                        help="what to measure (default: aim full linear; "
                        "'plain' is AIM computed the straightforward way)")
    parser.add_argument('--modes', nargs='+',
                        default=['inference', 'train'],
                        choices=['inference', 'train'],
                        help='what to measure (default: both)')
    parser.add_argument('--with-cp', action='store_true',
                        help='activation checkpointing of the backbone')
    parser.add_argument('--matmul-size', type=int,
                        help='side of the square matrix products '
                        '(default: 4 x the width of most blocks)')
    parser.add_argument('--device', default=None,
                        help="'cpu' or 'cuda' (default: cuda if available)")
    parser.add_argument('--max-batch', action='store_true',
                        help='also search the largest training batch of '
                        'every variant that fits on the GPU (CUDA only)')
    parser.add_argument('--out', help='write the results as JSON here')
    add_cfg_options(parser)
    # Internal: one measurement in this process.
    parser.add_argument('--worker', nargs=2, metavar=('VARIANT', 'MODE'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--cfg-options-json', help=argparse.SUPPRESS)
    parser.add_argument('--memory-only', action='store_true',
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.max_batch and args.device != 'cuda':
        parser.error('--max-batch needs --device cuda: on a CPU no '
                     'out-of-memory error is raised (the system kills the '
                     'process or swaps instead)')
    if args.cfg_options_json:
        args.cfg_options = json.loads(args.cfg_options_json)
    return args


def reference_width(model: torch.nn.Module) -> int:
    """The width of the blocks that do most of a model's work: the width
    most of its adapted blocks share (ViT-B/16: 768; Swin-B: 512, the 18
    blocks of its third stage; a Swin block costs about the same in every
    stage, its tokens quartered as its width doubles).

    Args:
        model (torch.nn.Module): A built recognizer (on ``meta`` is
            enough).

    Returns:
        int: The width; ties go to the wider.
    """
    widths = [block.embed_dims for block in model.backbone.adapted_blocks()]
    return max(set(widths), key=lambda w: (widths.count(w), w))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Entry point; returns what it writes to ``--out``."""
    args = parse_args(argv)
    if args.worker:
        variant, mode = args.worker
        print(json.dumps(
            measure(args.config, variant, mode, args.batch_size,
                    args.repeats, args.warmup, args.with_cp, args.device,
                    args.cfg_options, args.memory_only, args.matmul_size)))
        return {}
    cfg = load_config(args.config, args.cfg_options)
    for variant in args.variants:  # before anything is built or timed
        check_variant(cfg, variant)
    device = torch.device(args.device)
    size = args.matmul_size = args.matmul_size or 4 * reference_width(
        build_model(cfg, device='meta'))
    matmul = matmul_throughput(size, device, args.repeats, args.warmup)
    results = []
    for variant in args.variants:
        for mode in args.modes:
            r = run_in_subprocess(args, variant, mode)
            results.append(r)
            print(f'{variant:<7} {mode:<9} median {r["median_s"]:.3f} s '
                  f'({", ".join(f"{t:.3f}" for t in r["times_s"])}), '
                  f'{r["flops"] / 1e9:.1f} GFLOP, peak '
                  f'{r["peak_memory_bytes"] / 1024**3:.2f} GB (timing '
                  f'process: {r.get("peak_rss_timing_bytes", 0) / 1024**3:.2f}'
                  ' GB)', flush=True)
    # Measured again at the end and pooled: the load of a shared machine
    # drifts during a long run.
    after = matmul_throughput(size, device, args.repeats, 0)
    matmul['times_s'] += after['times_s']
    matmul['flops_per_s'] = matmul['flops_per_run'] / statistics.median(
        matmul['times_s'])
    table = summarise(results, matmul, args.batch_size)
    print(format_table(table, matmul))
    max_batch = {}
    if args.max_batch:
        for variant in args.variants:
            max_batch[variant] = max_training_batch(args, variant)
            print(f'{variant:<7} largest training batch that fits: '
                  f'{max_batch[variant]}', flush=True)
    report = dict(
        config=args.config, device=args.device,
        device_name=(torch.cuda.get_device_name(device)
                     if device.type == 'cuda' else 'cpu'),
        threads=torch.get_num_threads(), torch=torch.__version__,
        batch_size=args.batch_size, repeats=args.repeats,
        warmup=args.warmup, with_cp=args.with_cp,
        cfg_options=args.cfg_options, load_average=os.getloadavg(),
        matmul=matmul, summary=table, runs=results, max_batch=max_batch,
        memory_method=results[0]['memory_method'] if results else None)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':  # the worker processes of run_in_subprocess
    main()
