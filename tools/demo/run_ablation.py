"""Train and test every row of the demo ablation; write a table and a plot.

Each row is trained with ``tools/train.py`` and tested with ``tools/test.py
--dump``; their full MMEngine logs go to ``<work-dir>/<row>/*_stdout.log``,
the console gets progress and the results. From the dumped predictions it
reports top-1 over all test videos and top-1 inside the time-reversed twin
pairs (chance: 50%), with the trainable parameters (from the training log's
summary line) and the training wall time.

    python tools/demo/run_ablation.py --work-dir work_dirs/demo
"""
import argparse
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
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


def run_logged(cmd, log_file, max_epochs=None):
    """Run ``cmd``; its whole output goes to ``log_file``, the console gets
    a progress line every tenth epoch (and the log's tail on failure)."""
    shown = 0
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            match = EPOCH.search(line)
            if match and max_epochs and int(match.group(1)) % 10 == 0 \
                    and int(match.group(1)) > shown:
                shown = int(match.group(1))
                print(f'[demo]   epoch {shown}/{max_epochs}', flush=True)
        if proc.wait() != 0:
            log.flush()
            with open(log_file) as f:
                tail = f.readlines()[-25:]
            sys.stdout.write(''.join(tail))
            raise SystemExit(f'failed ({proc.returncode}): {" ".join(cmd)} '
                             f'(log: {log_file})')
    with open(log_file) as f:
        return f.read()


def run_row(name, config, work_dir, cfg_options, twin_pairs, seed=None):
    from mmengine.config import Config
    row_dir = osp.join(work_dir, name)
    os.makedirs(row_dir, exist_ok=True)
    opts = ['--cfg-options', *cfg_options] if cfg_options else []
    seed_args = ['--seed', str(seed)] if seed is not None else []
    max_epochs = Config.fromfile(osp.join(REPO, config)).train_cfg.get(
        'max_epochs')
    start = time.time()
    log = run_logged([sys.executable, 'tools/train.py', config,
                      '--work-dir', row_dir, *seed_args, *opts],
                     osp.join(row_dir, 'train_stdout.log'), max_epochs)
    train_seconds = time.time() - start
    match = re.findall(r'trainable params: ([\d,]+)', log)
    trainable = int(match[-1].replace(',', '')) if match else -1
    with open(osp.join(row_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    dump = osp.join(row_dir, 'test_predictions.pkl')
    run_logged([sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
                row_dir, '--dump', dump, *opts],
               osp.join(row_dir, 'test_stdout.log'))
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    scores = np.stack([np.asarray(p['pred_score']) for p in preds])
    labels = np.array([int(np.asarray(p['gt_label']).reshape(-1)[0])
                       for p in preds])
    acc = twin_pair_accuracy(scores, labels, twin_pairs)
    return dict(top1=acc['top1'], twin_top1=acc['twin_top1'],
                trainable=trainable, train_seconds=train_seconds,
                num_test=len(labels), twin_samples=acc['twin_samples'])


def table(results):
    lines = [
        ('| Row | Top-1 (all) | Top-1 on time-reversed twins | '
         'Trainable params | Training time |'),
        '|---|---:|---:|---:|---:|',
    ]
    for desc, r in results:
        lines.append(f'| {desc} | {100 * r["top1"]:.1f}% | '
                     f'{100 * r["twin_top1"]:.1f}% | {r["trainable"]:,} | '
                     f'{r["train_seconds"]:.0f} s |')
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--rows', nargs='+', default=[r[0] for r in ROWS],
                        choices=[r[0] for r in ROWS])
    parser.add_argument('--twin-pairs', default=None,
                        help='e.g. "0,1 2,3"; defaults to the config field')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed to tools/train.py and tools/test.py')
    parser.add_argument('--seed', type=int, default=None,
                        help='training seed (default: the configs\' own, 0)')
    args = parser.parse_args()

    import mmaction_aim  # noqa: F401  (first: the fixes MMEngine needs)
    from mmengine.config import Config
    if args.twin_pairs:
        twin_pairs = [tuple(int(c) for c in p.split(','))
                      for p in args.twin_pairs.split()]
    else:
        twin_pairs = Config.fromfile(osp.join(REPO, ROWS[-1][1])).twin_pairs
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    results = []
    # The rows the claim rests on (AIM, spatial only) run first; the table
    # keeps the paper's order.
    order = ['aim', 'spatial_only', 'timm_aim', 'timm_spatial_only',
             'frozen_linear', 'full_finetune', 'spatial_temporal']
    rows = sorted((r for r in ROWS if r[0] in args.rows),
                  key=lambda r: order.index(r[0]))
    for i, (name, config, desc) in enumerate(rows, 1):
        print(f'[demo] row {i}/{len(rows)}: {desc} ({config})', flush=True)
        r = run_row(name, config, work_dir, args.cfg_options, twin_pairs,
                    args.seed)
        results.append((desc, r))
        print(f'[demo] {desc}: top-1 {100 * r["top1"]:.1f}%, twins '
              f'{100 * r["twin_top1"]:.1f}%, trainable {r["trainable"]:,}, '
              f'trained in {r["train_seconds"]:.0f} s', flush=True)
    rank = {r[2]: i for i, r in enumerate(ROWS)}
    results.sort(key=lambda r: rank[r[0]])
    md = table(results)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write('# AIM demo results\n\n' + md + '\n\n'
                f'{results[0][1]["num_test"]} test videos, '
                f'{results[0][1]["twin_samples"]} of them in twin classes '
                '(chance inside a pair: 50%).\n')
    plot(results, osp.join(work_dir, 'results.png'))
    print('\n' + md + '\n')
    print(f'[demo] table: {osp.join(work_dir, "results.md")}, plot: '
          f'{osp.join(work_dir, "results.png")}')


if __name__ == '__main__':
    main()
