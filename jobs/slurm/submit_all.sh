#!/usr/bin/env bash
# Submit every experiment: one SLURM job per spec, through its family's batch script (so the
# family's #SBATCH resources apply), and print each spec's job id.
#
#   jobs/slurm/submit_all.sh [quick|full] [sbatch options...]
#
# e.g.  jobs/slurm/submit_all.sh quick --partition=debug --time=00:30:00
# Results: results/NAME[_quick].h5; logs: moerate-NAME[_quick]-JOBID.out in the repository root.
# Each job requeues itself at its time limit until its spec is complete (see moerate.sbatch).
set -euo pipefail
# Submit from the repository root: the jobs find common.sh, the specs and results/ from there.
cd "$(dirname "$0")/../.."

specs=(p1_fig1_wellposed p1_regime1_wellposed p1_regime2_wellposed p1_regime1 p1_regime2 p1_fig1 p2_softmax p2_softmax_exact p2_dts p2_dts_fit p2_hsoftmax p3_topk p3_topk_smallK p3_topk_exact)
variant=${1:-full}
case $variant in
  full) suffix= ;;
  quick) suffix=_quick ;;
  *)
    echo "usage: jobs/slurm/submit_all.sh [quick|full] [sbatch options...]" >&2
    exit 2
    ;;
esac
shift $(($# > 0))

# Submit all or nothing: a missing spec would only show up as a failed job later.
missing=()
for name in "${specs[@]}"; do
  [[ -f jobs/specs/$name$suffix.yaml ]] || missing+=("jobs/specs/$name$suffix.yaml")
done
if ((${#missing[@]})); then
  echo "submit_all.sh: missing ${missing[*]}" >&2
  exit 2
fi

for name in "${specs[@]}"; do
  # --parsable prints "jobid[;cluster]"; the family is the name's prefix (p1_regime1 -> p1).
  id=$(sbatch --parsable --job-name="moerate-$name$suffix" "$@" "jobs/slurm/${name%%_*}.sbatch" "$variant" "$name")
  printf '%-18s %s\n' "$name$suffix" "${id%%;*}"
done
