#!/usr/bin/env bash
# The main job: AIM's claim in miniature, on a CPU, in minutes.
#
#   bash tools/run_demo.sh [WORK_DIR]
#
# 1. set up .venv if needed (tools/setup_env.sh);
# 2. write the synthetic videos (shapes that move right/left, grow/shrink,
#    appear/vanish or stand still; every moving class has a time-reversed
#    twin) to data/demo_synthetic, if not there yet;
# 3. train and test the ablation rows on the tiny image models shipped in
#    checkpoints/demo/ (pre-trained on still images only; a CLIP-layout ViT
#    and a timm ViT), each through one `tools/train.py --test-last` process,
#    two rows at a time with one thread each (OMP_NUM_THREADS, default 2,
#    shared out; tools/demo/run_ablation.py --jobs);
# 4. print the table and write it to WORK_DIR/results.md, plot WORK_DIR/results.png.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source tools/setup_env.sh

WORK_DIR=${1:-work_dirs/demo}
DATA_DIR=data/demo_synthetic
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

start=$(date +%s)
if [ ! -f "$DATA_DIR/test.txt" ]; then
    echo "[demo] writing the synthetic videos to $DATA_DIR"
    python tools/demo/make_synthetic_videos.py --out "$DATA_DIR" --seed 0
fi
python tools/demo/run_ablation.py --work-dir "$WORK_DIR"
echo "[demo] finished in $(( $(date +%s) - start )) s"
