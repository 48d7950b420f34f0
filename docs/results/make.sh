#!/usr/bin/env bash
# Reproduce docs/results/: run experiments, then their rate tables and figures.
#   bash docs/results/make.sh [RANKS] [SPEC ...]   (default 3 ranks: two workers on 2 cores;
#                                                  default specs: every quick one, see below)
#   bash docs/results/make.sh --tables [SPEC ...]  tables and figures again from results/, no runs
# Results files go to results/ (not committed: they are regenerated exactly by this script);
# the tables (rates tables, CSV) and figures land here, and the seconds each run took in
# timings.txt.
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
if ((${#specs[@]} == 0)); then
  specs=(p1_fig1_wellposed_quick p1_regime1_wellposed_quick p1_regime2_wellposed_quick p1_fig1_quick
    p1_regime1_quick p1_regime2_quick p2_softmax_quick p2_softmax_exact_quick p2_dts_quick p2_dts_fit_quick
    p2_hsoftmax_quick p3_topk_quick p3_topk_smallK_quick p3_topk_exact_quick p1_fig1_wellposed_sgd_quick
    p1_fig1_sgd_quick gaussian_softmax_exact_quick gaussian_softmax_over_quick p3_exact_quick p3_over_quick p3_smallK_quick gaussian_dts_fit_quick
    p2_icml_d1_sigmoid_quick p2_icml_d1_linear_quick)
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
  /usr/bin/python3 analysis/rates.py "results/$name.h5" --format csv >"$out/$name.csv"
  # no certified fit at all (top-K least squares): plot the uncertified ones, which the figure says
  /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" -o "$out/$name.png" ||
    /usr/bin/python3 analysis/plot_rates.py "results/$name.h5" --include-uncertified -o "$out/$name.png"
  if [[ $name == p1_fig1* ]]; then # P1's Figure 1: one figure per panel, both gatings on one plot
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
/usr/bin/python3 analysis/summary.py results/*.h5 >"$out/rates.md"
