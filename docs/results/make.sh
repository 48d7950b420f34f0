#!/usr/bin/env bash
# Reproduce docs/results/: run experiments, then their rate tables and figures.
#   bash docs/results/make.sh [RANKS] [SPEC ...]   (default 3 ranks: two workers on 2 cores;
#                                                  default specs: those analysis/claims.toml names)
#   bash docs/results/make.sh --tables [SPEC ...]  tables and figures again from results/, no runs
# Results files go to results/ (not committed: they are regenerated exactly by this script);
# the tables (rates tables, CSV) and figures land here, and the seconds each run took in
# timings.txt; at the end the verdict on every claim, verdicts.md (analysis/verdicts.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
run=1
if [[ ${1:-} == --tables ]]; then
  run=0
  set -- 3 "${@:2}"
fi
ranks=${1:-3}
shift || true
specs=("$@")
mapfile -t claimed < <(cd analysis && /usr/bin/python3 -c 'import claims; print("\n".join(claims.specs(claims.load())))')
if ((${#specs[@]} == 0)); then
  specs=("${claimed[@]}")
fi
out=docs/results
mkdir -p results
for name in "${specs[@]}"; do
  if ((run)); then
    start=$(date +%s)
    bash jobs/local.sh "$ranks" "jobs/specs/$name.yaml" "results/$name.h5" -quiet
    echo "$name: $(($(date +%s) - start)) s on $ranks ranks ($(nproc) cores), $(date -u +%F)" >>"$out/timings.txt"
  fi
  /usr/bin/python3 analysis/rates.py "results/$name.h5" >"$out/$name.txt"
  # each task's measured cost, which bench/simulate.py (figure 8) reads where results/ lacks the file
  mkdir -p "$out/costs"
  /usr/bin/python3 bench/simulate.py --export "results/$name.h5" "$out/costs/$name.csv"
  /usr/bin/python3 analysis/rates.py "results/$name.h5" --format csv >"$out/$name.csv"
  # no certified fit at all (top-K least squares): plot the uncertified ones, which the figure says
  /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" -o "$out/$name.png" ||
    /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" --include-uncertified -o "$out/$name.png"
  # the errors per cell (exactly specified, over-specified, masses) against n, a panel per gating, and the
  # stability diagnostic of the specs with restart tasks
  if grep -qE 'cells_exact|^losses: auto' "jobs/specs/$name.yaml"; then
    /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" --cells -o "$out/${name}_cells.png" ||
      /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" --cells --include-uncertified -o "$out/${name}_cells.png"
  fi
  if grep -q '^stability_replicates' "jobs/specs/$name.yaml"; then
    # the cell losses the file has (an exactly specified fit has no over-specified cell)
    cells=$(/usr/bin/python3 -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r"); names = [n.decode() for n in f["grid/losses"][()]]; print(",".join(c for c in ("cells_exact", "cells_over") if c in names))' "results/$name.h5")
    /usr/bin/python3 analysis/stability.py "results/$name.h5" --losses "$cells" >"$out/${name}_stability.md"
  fi
  if [[ $name == p1_fig1* && $name != p1_fig1_linear_long ]]; then # P1's Figure 1: a figure per panel, both gatings on one plot
    for expert in relu linear; do
      /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" --expert "$expert" \
        --compare sigmoid:sigmoid_d3,softmax:softmax_dlin -o "$out/${name}_$expert.png"
    done
  fi
done
if [[ -f results/p1_fig1_wellposed.h5 ]]; then
  /usr/bin/python3 analysis/plot_timeline.py results/p1_fig1_wellposed.h5 -o "$out/p1_fig1_wellposed_timeline.png" \
    >"$out/p1_fig1_wellposed_timeline.txt"
fi
# The summaries over every spec, only from a results/ that has every spec the claims name: on a machine
# that has rerun a few (results files are not committed), they would replace the committed ones with
# a partial view.
missing=()
for name in "${claimed[@]}"; do [[ -f results/$name.h5 ]] || missing+=("$name"); done
if ((${#missing[@]})); then
  echo "make.sh: $out/rates.md and $out/verdicts.md kept: results/ lacks ${#missing[@]} of the ${#claimed[@]} specs the claims name (${missing[*]:0:3}...)" >&2
  exit 0
fi
/usr/bin/python3 analysis/summary.py results/*.h5 >"$out/rates.md"
/usr/bin/python3 analysis/verdicts.py --results results -o "$out/verdicts.md"
