#!/usr/bin/env bash
# Set up moerate on a fresh Debian machine and run the small default experiment:
# install the packages that are missing, build, run jobs/specs/default.yaml over 3 MPI ranks
# into results/default.h5, then print its convergence rates (the summed Voronoi losses and the errors per
# cell) and draw them.
# Running it again resumes (or, when the file is complete, just reports) the same results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh
mkdir -p results
bash jobs/local.sh 3 jobs/specs/default.yaml results/default.h5
/usr/bin/python3 analysis/rates.py results/default.h5
# P1's layout (both gatings on one log-log plot) beside the softmax fits' per-cell errors
/usr/bin/python3 analysis/plot_rates.py results/default.h5 --compare sigmoid:sigmoid_d3,softmax:softmax_dlin \
  --compare softmax:cells_exact,softmax:cells_over,softmax:cells_mass -o results/default.png
echo "figure: results/default.png"
