"""Training curves from MMEngine's scalar logs, as PNG plots.

MMEngine writes one JSON object per line to
``work_dirs/<exp>/<timestamp>/vis_data/<timestamp>.json`` (and the same to
``scalars.json``): training lines carry ``lr``, ``loss``, ``loss_cls``,
``top1_acc``, ... with the global iteration as ``step`` (and, when training
by epochs, the ``epoch``); validation lines carry ``acc/top1``, ``acc/top5``,
``acc/mean1`` with the epoch as ``step`` (by epochs) or the iteration (by
iterations). Validation points are drawn at the iteration where they were
taken, on the same axis as the training curves.

Usage::

    # loss, learning rate and accuracy plots into a folder
    python tools/analysis/analyze_logs.py plot_curve \
        work_dirs/aim_vitb_k400/*/vis_data/scalars.json --out-dir curves/
    # chosen keys, several runs in one figure
    python tools/analysis/analyze_logs.py plot_curve run1.json run2.json \
        --keys loss_cls --legend run1 run2 --out loss.png
    # time per iteration
    python tools/analysis/analyze_logs.py cal_train_time scalars.json
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Series = Dict[str, Tuple[List[float], List[float]]]  # key -> (x, y)


def load_scalars(path: str) -> Tuple[Series, Series]:
    """Read a ``vis_data`` JSON-lines scalar log.

    Args:
        path (str): ``scalars.json`` or ``<timestamp>.json``.

    Returns:
        Tuple[Series, Series]: Training series and validation series, each
        ``key -> (x, y)``, x the iteration (for validation after epoch
        ``e``: ``e`` x the iterations per epoch, from the training lines).
    """
    train: Series = {}
    val: Series = {}
    epochs: List[Tuple[int, int]] = []  # (epoch, iteration) of train lines
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            is_train = 'lr' in entry or any(k.startswith('loss')
                                            for k in entry)
            target = train if is_train else val
            step = entry.get('step', entry.get('iter', entry.get('epoch')))
            if is_train and 'epoch' in entry and 'iter' in entry:
                epochs.append((int(entry['epoch']), int(entry['iter'])))
            for key, value in entry.items():
                if key in ('step', 'iter', 'epoch') or not isinstance(
                        value, (int, float)):
                    continue
                xs, ys = target.setdefault(key, ([], []))
                xs.append(float(step))
                ys.append(float(value))
    per_epoch = iterations_per_epoch(epochs)
    if per_epoch:
        val = {key: ([x * per_epoch for x in xs], ys)
               for key, (xs, ys) in val.items()}
    return train, val


def iterations_per_epoch(epochs: Sequence[Tuple[int, int]]) -> int:
    """Iterations per epoch, from ``(epoch, global iteration)`` pairs of
    logged training lines (0 when training was not by epochs).

    Iteration ``i`` of epoch ``e`` (1-based) means ``(e - 1) n < i <= e n``;
    the smallest ``n`` every logged line allows is taken (exact whenever the
    last iteration of some epoch was logged).
    """
    if not epochs:
        return 0
    return max(-(-iteration // epoch) for epoch, iteration in epochs)


def default_groups(train: Series, val: Series) -> List[Tuple[str, list]]:
    """The standard figures: loss, learning rate, accuracy.

    Returns:
        List[Tuple[str, list]]: ``(figure name, [(split, key), ...])``.
    """
    groups = []
    losses = [('train', k) for k in train if k.startswith('loss')]
    if losses:
        groups.append(('loss', losses))
    lrs = [('train', k) for k in train if k == 'lr' or k.endswith('_lr')]
    if lrs:
        groups.append(('lr', lrs))
    accs = [('val', k) for k in val if 'acc' in k] + \
        [('train', k) for k in train if 'acc' in k]
    if accs:
        groups.append(('accuracy', accs))
    return groups


def plot_group(runs: Sequence[Tuple[str, Series, Series]], keys: list,
               title: str, out: str) -> str:
    """Draw one figure of the given keys for every run and save it.

    Args:
        runs (Sequence): ``(legend, train series, val series)`` per log.
        keys (list): ``(split, key)`` pairs; ``split`` is ``'train'`` or
            ``'val'`` (validation is plotted against epochs on a top axis).
        title (str): Figure title.
        out (str): PNG path.

    Returns:
        str: ``out``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colours = iter(plt.cm.tab10.colors * 10)  # one colour per curve
    for legend, train, val in runs:
        for split, key in keys:
            series = (train if split == 'train' else val).get(key)
            if not series:
                continue
            xs, ys = series
            label = f'{legend} {split} {key}' if legend else f'{split} {key}'
            if split == 'train':
                ax.plot(xs, ys, label=label, linewidth=1,
                        color=next(colours))
            else:  # at the iteration where the validation was taken
                ax.plot(xs, ys, 'o--', label=label, linewidth=1,
                        color=next(colours))
    ax.set_xlabel('iteration')
    ax.set_ylabel(title)
    if title == 'lr':
        ax.ticklabel_format(axis='y', style='sci', scilimits=(-3, 3))
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc='best', fontsize='small')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def plot_curve(logs: Sequence[str], keys: Optional[Sequence[str]] = None,
               legend: Optional[Sequence[str]] = None,
               out: Optional[str] = None, out_dir: str = '.') -> List[str]:
    """Plot the training curves of one or more runs.

    Args:
        logs (Sequence[str]): ``vis_data`` JSON logs.
        keys (Sequence[str], optional): Keys to draw in one figure (e.g.
            ``loss_cls``, ``acc/top1``). Defaults to three figures: every
            loss, the learning rate, every accuracy.
        legend (Sequence[str], optional): One name per log.
        out (str, optional): Output PNG when ``keys`` is given.
        out_dir (str): Folder of the default figures. Defaults to ``'.'``.

    Returns:
        List[str]: The PNG files written.
    """
    if legend is not None and len(legend) != len(logs):
        raise ValueError('Give one legend per log')
    if legend is None:
        legend = [osp.basename(osp.dirname(osp.dirname(p))) if len(logs) > 1
                  else '' for p in logs]
    runs = [(name, *load_scalars(p))
            for name, p in zip(legend, logs, strict=True)]
    if keys:
        pairs = []
        for key in keys:
            found = False
            for _, train, val in runs:
                for split, series in (('train', train), ('val', val)):
                    if key in series and (split, key) not in pairs:
                        pairs.append((split, key))
                        found = True
            if not found:
                raise KeyError(f'{key!r} is in none of the logs')
        title = keys[0] if len(keys) == 1 else ', '.join(keys)
        out = out or osp.join(out_dir, keys[0].replace('/', '_') + '.png')
        return [plot_group(runs, pairs, title, out)]
    outs = []
    train0, val0 = runs[0][1], runs[0][2]
    for name, pairs in default_groups(train0, val0):
        outs.append(plot_group(runs, pairs, name,
                               osp.join(out_dir, f'{name}.png')))
    return outs


def cal_train_time(log: str) -> Dict[str, float]:
    """Average, slowest and fastest time per training iteration.

    Args:
        log (str): A ``vis_data`` JSON log.

    Returns:
        dict: ``mean``, ``std``, ``max``, ``min`` in seconds per iteration.
    """
    train, _ = load_scalars(log)
    if 'time' not in train:
        raise KeyError(f'{log} has no training time entries')
    times = np.asarray(train['time'][1])
    return dict(mean=float(times.mean()), std=float(times.std()),
                max=float(times.max()), min=float(times.min()))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Analyze training logs')
    sub = parser.add_subparsers(dest='task', required=True)
    p = sub.add_parser('plot_curve', help='PNG plots of scalars')
    p.add_argument('logs', nargs='+', help='vis_data JSON logs')
    p.add_argument('--keys', nargs='+', help='keys in one figure')
    p.add_argument('--legend', nargs='+', help='one name per log')
    p.add_argument('--out', help='output PNG (with --keys)')
    p.add_argument('--out-dir', default='.',
                   help='folder of the default loss/lr/accuracy figures')
    p = sub.add_parser('cal_train_time', help='seconds per iteration')
    p.add_argument('logs', nargs='+', help='vis_data JSON logs')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    if args.task == 'plot_curve':
        for path in plot_curve(args.logs, args.keys, args.legend, args.out,
                               args.out_dir):
            print(f'saved {path}')
    else:
        for log in args.logs:
            t = cal_train_time(log)
            print(f'{log}: {t["mean"]:.4f} s/iter on average (std '
                  f'{t["std"]:.4f}), slowest {t["max"]:.4f}, fastest '
                  f'{t["min"]:.4f}')


if __name__ == '__main__':
    main()
