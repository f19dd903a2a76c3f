"""Speed and memory of AIM against full fine-tuning and a frozen linear probe.

Usage::

    python tools/analysis/benchmark.py configs/aim_vitb_k400.py
    python tools/analysis/benchmark.py configs/aim_vitb_k400.py \\
        --batch-size 2 --repeats 5 --warmup 2 --with-cp --out bench.json
    python tools/analysis/benchmark.py CONFIG --variants aim full \\
        --cfg-options model.backbone.num_frames=16

What is measured and how: :mod:`mmaction_aim.analysis.benchmark`; FLOPs are
multiply-accumulates (:mod:`mmaction_aim.analysis.flops`).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from mmaction_aim.analysis.benchmark import main  # noqa: E402
from mmaction_aim.utils import main_with_clear_errors  # noqa: E402

if __name__ == '__main__':
    main_with_clear_errors(main)
