#!/usr/bin/env bash
# Reproduce docs/results/: run every quick experiment, then its rate table and figure.
#   bash docs/results/make.sh [RANKS]        (default 3: two workers on a 2-core machine)
# Results files go to results/ (not committed: they are regenerated exactly by this script);
# the tables (rates tables, CSV) and figures land here.
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks=${1:-3}
out=docs/results
mkdir -p results
for spec in p1_regime1 p1_regime2 p1_fig1 p2_softmax p2_softmax_exact p2_dts p2_dts_fit p2_hsoftmax \
  p3_topk p3_topk_smallK p3_topk_exact; do
  name=${spec}_quick
  start=$(date +%s)
  bash jobs/local.sh "$ranks" "jobs/specs/$name.yaml" "results/$name.h5" -quiet
  echo "$name: $(($(date +%s) - start)) s" >>"$out/timings.txt"
  /usr/bin/python3 analysis/rates.py "results/$name.h5" >"$out/$name.txt"
  /usr/bin/python3 analysis/rates.py "results/$name.h5" --format csv >"$out/$name.csv"
  /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" -o "$out/$name.png"
done
/usr/bin/python3 analysis/plot_timeline.py results/p1_fig1_quick.h5 -o "$out/p1_fig1_quick_timeline.png" >"$out/p1_fig1_quick_timeline.txt"
/usr/bin/python3 analysis/summary.py results/*_quick.h5 >"$out/rates.md"
