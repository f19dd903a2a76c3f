"""Train and test every row of the demo ablation; write a table and a plot.

Each row is trained and then tested by one ``tools/train.py --test-last
--dump`` process; its full MMEngine log goes to ``<work-dir>/<row>/
stdout.log``, the console gets progress and the results. From the dumped
predictions it reports top-1 over all test videos and top-1 inside the
time-reversed twin pairs (chance: 50%), with the trainable parameters (from
the training log's summary line) and the row's wall time.

Rows run ``--jobs`` at a time (default: two where there are two cores or
more), the available threads split between them: a second thread makes a
step of this tiny model far less than twice as fast, so two one-thread rows
side by side finish sooner than the same rows one after the other with two
threads each.
At a fixed seed and thread count per row every row repeats itself exactly,
whatever runs beside it.

    python tools/demo/run_ablation.py --work-dir work_dirs/demo [--jobs 2]
"""
import argparse
import concurrent.futures
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import threading
import time

import numpy as np

REPO = osp.normpath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
sys.path.insert(0, REPO)

from projects.synthetic_demo.twin_metric import twin_pair_accuracy  # noqa

# name, config, description (the paper's ablation rows).
ROWS = [
    ('frozen_linear', 'configs/demo/aim_tiny_synthetic_frozen_linear.py',
     'frozen + linear head'),
    ('full_finetune', 'configs/demo/aim_tiny_synthetic_full_finetune.py',
     'full fine-tuning'),
    ('spatial_only', 'configs/demo/aim_tiny_synthetic_spatial_only.py',
     'spatial adaptation'),
    ('spatial_temporal',
     'configs/demo/aim_tiny_synthetic_spatial_temporal.py',
     'spatial + temporal'),
    ('aim', 'configs/demo/aim_tiny_synthetic.py',
     'AIM (spatial + temporal + joint)'),
    # The same claim on a second image-model family (a timm ViT).
    ('timm_spatial_only',
     'configs/demo/aim_tiny_synthetic_timm_spatial_only.py',
     'timm ViT: spatial adaptation'),
    ('timm_aim', 'configs/demo/aim_tiny_synthetic_timm.py',
     'timm ViT: AIM'),
]


EPOCH = re.compile(r'Epoch\(train\)\s+\[(\d+)\]')

#: The rows' running processes, so that a failing row can stop the others.
_RUNNING = set()
_RUNNING_LOCK = threading.Lock()
_PRINT_LOCK = threading.Lock()


class RowFailed(RuntimeError):
    """A row's process (training, then its test) exited with an error."""


def say(text):
    """One console line; whole, even with rows running side by side."""
    with _PRINT_LOCK:
        print(text, flush=True)


def run_logged(cmd, log_file, threads, name, max_epochs=None):
    """Run ``cmd`` with ``threads`` threads; its whole output goes to
    ``log_file``, the console gets a progress line every tenth epoch (and
    the log's tail on failure)."""
    shown = 0
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env)
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            for line in proc.stdout:
                log.write(line)
                match = EPOCH.search(line)
                if match and max_epochs and int(match.group(1)) % 10 == 0 \
                        and int(match.group(1)) > shown:
                    shown = int(match.group(1))
                    say(f'[demo]   {name}: epoch {shown}/{max_epochs}')
            code = proc.wait()
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
    if code != 0:
        with open(log_file) as f:
            tail = f.readlines()[-25:]
        say(''.join(tail).rstrip('\n'))
        raise RowFailed(f'{name} failed ({code}): {" ".join(cmd)} '
                        f'(log: {log_file})')
    with open(log_file) as f:
        return f.read()


def stop_running():
    """Terminate every row process still running."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        proc.terminate()


def run_row(name, config, work_dir, cfg_options, twin_pairs, max_epochs,
            seed=None, threads=1):
    """Train and test one row; its accuracies, trainable parameters and
    wall time (training and test)."""
    row_dir = osp.join(work_dir, name)
    os.makedirs(row_dir, exist_ok=True)
    opts = ['--cfg-options', *cfg_options] if cfg_options else []
    seed_args = ['--seed', str(seed)] if seed is not None else []
    dump = osp.join(row_dir, 'test_predictions.pkl')
    start = time.time()
    # One process trains and then tests the final model (--test-last): the
    # numbers tools/test.py gives for the last checkpoint.
    log = run_logged([sys.executable, 'tools/train.py', config,
                      '--work-dir', row_dir, '--test-last', '--dump', dump,
                      *seed_args, *opts],
                     osp.join(row_dir, 'stdout.log'), threads, name,
                     max_epochs)
    seconds = time.time() - start
    match = re.findall(r'trainable params: ([\d,]+)', log)
    trainable = int(match[-1].replace(',', '')) if match else -1
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    scores = np.stack([np.asarray(p['pred_score']) for p in preds])
    labels = np.array([int(np.asarray(p['gt_label']).reshape(-1)[0])
                       for p in preds])
    acc = twin_pair_accuracy(scores, labels, twin_pairs)
    return dict(top1=acc['top1'], twin_top1=acc['twin_top1'],
                trainable=trainable, seconds=seconds,
                num_test=len(labels), twin_samples=acc['twin_samples'],
                threads=threads)


def available_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def split_threads(jobs, total=None):
    """Threads for each of ``jobs`` rows side by side: ``total`` (the
    caller's ``OMP_NUM_THREADS``, else the available cores) shared out,
    at least one each."""
    if total is None:
        total = int(os.environ.get('OMP_NUM_THREADS') or available_cores())
    return max(1, total // jobs)


def table(results):
    lines = [
        ('| Row | Top-1 (all) | Top-1 on time-reversed twins | '
         'Trainable params | Time (train + test) |'),
        '|---|---:|---:|---:|---:|',
    ]
    for desc, r in results:
        lines.append(f'| {desc} | {100 * r["top1"]:.1f}% | '
                     f'{100 * r["twin_top1"]:.1f}% | {r["trainable"]:,} | '
                     f'{r["seconds"]:.0f} s |')
    return '\n'.join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for desc, r in results:
        ax.scatter(r['trainable'], 100 * r['top1'], marker='o', color='C0')
        ax.scatter(r['trainable'], 100 * r['twin_top1'], marker='s',
                   color='C3')
        ax.annotate(desc, (r['trainable'], 100 * r['twin_top1']),
                    textcoords='offset points', xytext=(4, 4), fontsize=7)
    ax.axhline(50, color='grey', ls=':', lw=1)
    ax.text(ax.get_xlim()[0], 51, ' chance inside a twin pair', fontsize=7,
            color='grey')
    ax.scatter([], [], marker='o', color='C0', label='top-1, all classes')
    ax.scatter([], [], marker='s', color='C3',
               label='top-1 inside time-reversed twins')
    ax.set_xscale('log')
    ax.set_xlabel('trainable parameters')
    ax.set_ylabel('test accuracy (%)')
    ax.set_ylim(0, 105)
    ax.set_title('AIM demo: a frozen image model + adapters learns time')
    ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--rows', nargs='+', default=[r[0] for r in ROWS],
                        choices=[r[0] for r in ROWS])
    parser.add_argument('--twin-pairs', default=None,
                        help='e.g. "0,1 2,3"; defaults to the config field')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to tools/train.py')
    parser.add_argument('--seed', type=int, default=None,
                        help='training seed (default: the configs\' own, 0)')
    parser.add_argument('--jobs', type=int,
                        default=min(2, available_cores()),
                        help='rows run side by side, each with OMP_NUM_THREADS'
                        ' (or the cores) divided by this (default: 2 where '
                        'there are two cores or more)')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error('--jobs must be 1 or more')

    import mmaction_aim  # noqa: F401  (first: the fixes MMEngine needs)
    from mmengine.config import Config
    if args.twin_pairs:
        twin_pairs = [tuple(int(c) for c in p.split(','))
                      for p in args.twin_pairs.split()]
    else:
        twin_pairs = Config.fromfile(osp.join(REPO, ROWS[-1][1])).twin_pairs
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    # Longest rows first (the timm rows train 50 epochs), so that side by
    # side the last rows to start are short ones; the rows the claim rests
    # on (AIM, spatial only) are among the first. The table keeps the
    # paper's order.
    order = ['timm_aim', 'timm_spatial_only', 'aim', 'spatial_only',
             'spatial_temporal', 'full_finetune', 'frozen_linear']
    rows = sorted((r for r in ROWS if r[0] in args.rows),
                  key=lambda r: order.index(r[0]))
    jobs = min(args.jobs, len(rows))
    threads = split_threads(jobs)
    say(f'[demo] {len(rows)} rows, {jobs} at a time, {threads} thread(s) '
        f'each; logs in {work_dir}/<row>/')

    # Read here, before rows run in threads (for the progress lines).
    max_epochs = {name: Config.fromfile(osp.join(REPO, config)).train_cfg.get(
        'max_epochs') for name, config, _ in rows}

    def one_row(i, name, config, desc):
        say(f'[demo] row {i}/{len(rows)} started: {desc} ({config})')
        r = run_row(name, config, work_dir, args.cfg_options, twin_pairs,
                    max_epochs[name], args.seed, threads)
        say(f'[demo] {desc}: top-1 {100 * r["top1"]:.1f}%, twins '
            f'{100 * r["twin_top1"]:.1f}%, trainable {r["trainable"]:,}, '
            f'trained and tested in {r["seconds"]:.0f} s')
        return desc, r

    results = []
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(one_row, i, *row)
                   for i, row in enumerate(rows, 1)]
        try:
            for future in concurrent.futures.as_completed(futures):
                results.append(future.result())
        except (RowFailed, KeyboardInterrupt) as exc:
            for future in futures:
                future.cancel()
            stop_running()
            raise SystemExit(str(exc) or 'interrupted') from None
    rank = {r[2]: i for i, r in enumerate(ROWS)}
    results.sort(key=lambda r: rank[r[0]])
    md = table(results)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write('# AIM demo results\n\n' + md + '\n\n'
                f'{results[0][1]["num_test"]} test videos, '
                f'{results[0][1]["twin_samples"]} of them in twin classes '
                '(chance inside a pair: 50%); rows ran '
                f'{jobs} at a time, {threads} thread(s) each.\n')
    plot(results, osp.join(work_dir, 'results.png'))
    say('\n' + md + '\n')
    say(f'[demo] table: {osp.join(work_dir, "results.md")}, plot: '
        f'{osp.join(work_dir, "results.png")}')


if __name__ == '__main__':
    main()
