#!/usr/bin/env bash
# The main job: set up .venv if needed, then train and test the default demo.
#
#   bash tools/run_demo.sh
#
# First version (set-up only); the synthetic AIM demo replaces the body below.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source tools/setup_env.sh
python -c "import mmaction_aim; print('mmaction-aim', mmaction_aim.__version__, 'is ready')"
