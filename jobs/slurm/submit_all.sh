#!/usr/bin/env bash
# Submit every experiment: one SLURM job per spec of jobs/specs, and print each spec's job id.
#
#   jobs/slurm/submit_all.sh [quick|full] [--ranks R] [sbatch options...]
#
# e.g.  jobs/slurm/submit_all.sh quick --partition=debug --time=00:30:00
#       jobs/slurm/submit_all.sh full --ntasks=33
#       jobs/slurm/submit_all.sh full --ranks 512 --time=02:00:00
# full: every jobs/specs/NAME.yaml that is not a NAME_quick.yaml; quick: every NAME_quick.yaml.
# A spec of the three papers (p1_*, p2_*, p3_*) goes through its family's batch script, so that the
# family's #SBATCH resources apply; every other spec (the newer papers' designs: contam_*, cosine_*,
# deepseek_*, gaussian_*, and default) through moerate.sbatch.  The jobs run side by side as the
# cluster has room; sbatch options (here, --ntasks) apply to every job.
# --ranks R shares R ranks out among the jobs instead (bench/simulate.py --plan), so that the jobs, all
# started at once, end as early as the model predicts they can: first in proportion to each spec's
# predicted cost (the measured costs in results/ or docs/results/costs, else moerate's cost model), then
# ranks move to the job predicted to end last while that shortens it (each job's schedule simulated
# with its -fit_group: MOERATE_FIT_GROUP, else the specs' fit_group, else 0; a group's speed-up from
# bench/groups_model.json or $MOERATE_GROUPS_MODEL, which bench/groups.py measures), and no job asks
# for ranks that would not end it sooner, so the jobs may take fewer than R.  This is the layout of
# figure 8 (bench/README.md); it needs at least two ranks per spec (1 + g with -fit_group g), a
# python3 with numpy and h5py ($MOERATE_PYTHON, default /usr/bin/python3) and moerate ($MOERATE,
# default build/moerate).
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
    echo "usage: jobs/slurm/submit_all.sh [quick|full] [--ranks R] [sbatch options...]" >&2
    exit 2
    ;;
esac
shift $(($# > 0))
ranks=
given=0
case ${1:-} in
  --ranks) given=1 ranks=${2:-} && shift $(($# > 1 ? 2 : 1)) ;;
  --ranks=*) given=1 ranks=${1#--ranks=} && shift ;;
esac
if ((given)) && [[ ! $ranks =~ ^[1-9][0-9]*$ ]]; then
  echo "submit_all.sh: --ranks needs a positive number of ranks (e.g. --ranks 512)" >&2
  exit 2
fi
for opt in "$@"; do
  if [[ $opt == --ranks* ]]; then # sbatch would refuse it, after some jobs were submitted
    echo "submit_all.sh: --ranks goes right after quick or full, before the sbatch options" >&2
    exit 2
  fi
done

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
declare -A size=()
if [[ -n $ranks ]]; then
  # each spec's job size; the plan reads the measured costs (results/, docs/results/costs) and asks
  # moerate (-skip_fit) for the grid of a spec that has none.  Nothing is submitted if it fails.
  for opt in "$@"; do
    if [[ $opt == --ntasks* || $opt == -n* ]]; then
      echo "submit_all.sh: --ranks sizes every job itself: drop $opt" >&2
      exit 2
    fi
  done
  if ((ranks < 2 * ${#specs[@]})); then
    echo "submit_all.sh: --ranks $ranks cannot run ${#specs[@]} specs side by side (each job needs a master and a worker: at least $((2 * ${#specs[@]}))): give more ranks, or --ntasks to run them as the cluster has room" >&2
    exit 2
  fi
  files=("${specs[@]}")
  [[ $variant == quick ]] && files=("${specs[@]/%/_quick}")
  plan=$(${MOERATE_PYTHON:-/usr/bin/python3} bench/simulate.py --plan "$ranks" --results "$results" \
    --moerate "${MOERATE:-build/moerate}" ${MOERATE_FIT_GROUP:+--fit-group "$MOERATE_FIT_GROUP"} \
    ${MOERATE_GROUPS_MODEL:+--groups "$MOERATE_GROUPS_MODEL"} "${files[@]}") || exit 2
  while read -r name r _; do size[$name]=$r; done <<<"$plan"
  # the plan on stderr (spec, ranks, predicted seconds of fits and wall time, where the prediction comes from)
  sed 's/^/submit_all.sh: plan: /' <<<"$plan" >&2
fi
mkdir -p "$results"

for name in "${specs[@]}"; do
  file=$name
  [[ $variant == quick ]] && file=${name}_quick
  # --parsable prints "jobid[;cluster]"; the family is the name's prefix (p1_regime1 -> p1).
  family=${name%%_*}
  opts=("$@")
  [[ -n $ranks ]] && opts=(--ntasks="${size[$file]}" "$@")
  if [[ -f jobs/slurm/$family.sbatch && $family == p[0-9] ]]; then
    id=$(sbatch --parsable --job-name="moerate-$file" "${opts[@]}" "jobs/slurm/$family.sbatch" "$variant" "$name")
  else
    id=$(sbatch --parsable --job-name="moerate-$file" "${opts[@]}" jobs/slurm/moerate.sbatch "jobs/specs/$file.yaml" "$results/$file.h5")
  fi
  printf '%-32s %s\n' "$file" "${id%%;*}"
done
