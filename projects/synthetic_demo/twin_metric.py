"""Accuracy inside pairs of time-reversed twin classes."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmaction.registry import METRICS


def twin_pair_accuracy(scores: np.ndarray, labels: np.ndarray,
                       twin_pairs: Sequence[Tuple[int, int]]) -> Dict:
    """Top-1 inside each pair of twin classes, for samples of those classes.

    A sample of class ``a`` whose twin is ``b`` counts as correct when its
    score for ``a`` is strictly higher than for ``b``; chance is 50%. A model
    that gives a clip and its time reversal the same scores gets at most 50%
    on a set that holds both.

    Args:
        scores (np.ndarray): Class scores ``[N, num_classes]``.
        labels (np.ndarray): Labels ``[N]``.
        twin_pairs (Sequence[tuple]): Pairs of class indices.

    Returns:
        dict: ``twin_top1`` (over every sample of a twin class),
        ``twin_samples`` (their number) and ``top1`` (over all samples).
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    twin_of = {}
    for a, b in twin_pairs:
        twin_of[int(a)] = int(b)
        twin_of[int(b)] = int(a)
    idx = np.array([i for i, y in enumerate(labels) if int(y) in twin_of],
                   dtype=np.int64)
    result = dict(top1=float((scores.argmax(1) == labels).mean())
                  if len(labels) else float('nan'),
                  twin_samples=int(len(idx)))
    if len(idx) == 0:
        result['twin_top1'] = float('nan')
        return result
    own = scores[idx, labels[idx]]
    twin = scores[idx, [twin_of[int(y)] for y in labels[idx]]]
    result['twin_top1'] = float((own > twin).mean())
    return result


@METRICS.register_module()
class TwinPairAccuracy(BaseMetric):
    """Top-1 between time-reversed twin classes (:func:`twin_pair_accuracy`).

    Args:
        twin_pairs (Sequence[Sequence[int]]): Pairs of class indices whose
            videos are each other's time reversal.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'twin'``.
    """
    default_prefix: Optional[str] = 'twin'

    def __init__(self, twin_pairs: Sequence[Sequence[int]],
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.twin_pairs = [tuple(int(c) for c in p) for p in twin_pairs]
        if any(len(p) != 2 for p in self.twin_pairs):
            raise ValueError(f'twin_pairs must be pairs, got {twin_pairs}')

    def process(self, data_batch: Any, data_samples: Sequence[Dict]) -> None:
        for sample in data_samples:
            self.results.append(
                (sample['pred_score'].detach().cpu().numpy(),
                 int(sample['gt_label'].item())))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        scores = np.stack([r[0] for r in results])
        labels = np.array([r[1] for r in results])
        out = twin_pair_accuracy(scores, labels, self.twin_pairs)
        return dict(top1=out['twin_top1'])
