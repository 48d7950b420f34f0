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
# A default results file of an older format (from an earlier moerate) cannot be resumed: keep it aside, as
# -force would, and start over, so that this command keeps working after an upgrade.
want=$(sed -n 's/^#define MOE_FORMAT_VERSION \([0-9]*\).*/\1/p' include/moe/private/storeimpl.h)
if [[ -f results/default.h5 ]]; then
  have=$(/usr/bin/python3 -c 'import sys, h5py
try:
    print(int(h5py.File(sys.argv[1], "r", locking=False).attrs.get("format_version", 0)))
except Exception:
    print("unreadable")' results/default.h5)
  if [[ $have =~ ^[0-9]+$ && $have != "$want" ]]; then  # an unreadable file is moerate's to report
    kept=results/default.h5.format$have-$(date +%Y%m%d%H%M%S)
    mv results/default.h5 "$kept"
    echo "quickstart: results/default.h5 was written in file format $have, this moerate writes $want: kept as $kept, starting over"
  fi
fi
# A default file of this format from an earlier default spec (moerate refuses it: another spec hash, exit 2)
# is kept aside by -force, and the run starts over.
status=0
trap 'rm -f results/.quickstart.err' EXIT
bash jobs/local.sh 3 jobs/specs/default.yaml results/default.h5 2>results/.quickstart.err || status=$?
cat results/.quickstart.err >&2
if ((status == 2)) && grep -q "was written from another spec" results/.quickstart.err; then
  echo "quickstart: results/default.h5 is from an earlier default spec: keeping it aside (-force) and starting over"
  bash jobs/local.sh 3 jobs/specs/default.yaml results/default.h5 -force
elif ((status)); then
  exit "$status"
fi
/usr/bin/python3 analysis/rates.py results/default.h5
# P1's layout (both gatings on one log-log plot) beside the softmax fits' per-cell errors
/usr/bin/python3 analysis/plot_rates.py results/default.h5 --compare sigmoid:sigmoid_d3,softmax:softmax_dlin \
  --compare softmax:cells_exact,softmax:cells_over,softmax:cells_mass -o results/default.png
echo "figure: results/default.png"
