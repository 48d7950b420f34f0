#!/usr/bin/env bash
# Build moerate (installing what is missing) and run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The SLURM tests start a real single-node SLURM (and munge) on localhost.
bash jobs/setup.sh slurmctld slurmd slurm-client munge
ctest --test-dir build --output-on-failure "$@"
