#!/usr/bin/env bash
# Run the whole test suite, setting up .venv first if needed:
#
#   bash tools/run_tests.sh [pytest arguments ...]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source tools/setup_env.sh
# One thread per process: the suite starts several training processes, and
# oversubscribed CPUs are far slower than single-threaded ones.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
# Two pytest processes (pytest-xdist) by default, the two cores CI has;
# AIM_TEST_WORKERS=0 runs everything in this process.
exec python -m pytest tests/ -q -p no:cacheprovider \
    -n "${AIM_TEST_WORKERS:-2}" "$@"
