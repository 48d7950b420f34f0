#!/usr/bin/env bash
# Submit every experiment: one SLURM job per spec of jobs/specs, and print each spec's job id.
#
#   jobs/slurm/submit_all.sh [quick|full] [sbatch options...]
#
# e.g.  jobs/slurm/submit_all.sh quick --partition=debug --time=00:30:00
#       jobs/slurm/submit_all.sh full --ntasks=33
# full: every jobs/specs/NAME.yaml that is not a NAME_quick.yaml; quick: every NAME_quick.yaml.
# A spec of the three papers (p1_*, p2_*, p3_*) goes through its family's batch script, so that the
# family's #SBATCH resources apply; every other spec (the newer papers' designs: contam_*, cosine_*,
# deepseek_*, gaussian_*, and default) through moerate.sbatch.  The jobs run side by side as the
# cluster has room; sbatch options (here, --ntasks) apply to every job.
# Results: results/NAME[_quick].h5 (MOERATE_RESULTS sets the directory); logs:
# moerate-NAME[_quick]-JOBID.out in the repository root.  Each job requeues itself at its time
# limit until its spec is complete (see moerate.sbatch).
set -euo pipefail
# Submit from the repository root: the jobs find common.sh, the specs and results/ from there.
cd "$(dirname "$0")/../.."

variant=${1:-full}
case $variant in
  full | quick) ;;
  *)
    echo "usage: jobs/slurm/submit_all.sh [quick|full] [sbatch options...]" >&2
    exit 2
    ;;
esac
shift $(($# > 0))

specs=()
shopt -s nullglob
for file in jobs/specs/*.yaml; do
  name=$(basename "$file" .yaml)
  if [[ $variant == quick && $name == *_quick ]]; then
    specs+=("${name%_quick}")
  elif [[ $variant == full && $name != *_quick ]]; then
    specs+=("$name")
  fi
done
shopt -u nullglob
if ((${#specs[@]} == 0)); then
  echo "submit_all.sh: no $variant spec in jobs/specs" >&2
  exit 2
fi
results=${MOERATE_RESULTS:-results}
mkdir -p "$results"

for name in "${specs[@]}"; do
  file=$name
  [[ $variant == quick ]] && file=${name}_quick
  # --parsable prints "jobid[;cluster]"; the family is the name's prefix (p1_regime1 -> p1).
  family=${name%%_*}
  if [[ -f jobs/slurm/$family.sbatch && $family == p[0-9] ]]; then
    id=$(sbatch --parsable --job-name="moerate-$file" "$@" "jobs/slurm/$family.sbatch" "$variant" "$name")
  else
    id=$(sbatch --parsable --job-name="moerate-$file" "$@" jobs/slurm/moerate.sbatch "jobs/specs/$file.yaml" "$results/$file.h5")
  fi
  printf '%-32s %s\n' "$file" "${id%%;*}"
done
