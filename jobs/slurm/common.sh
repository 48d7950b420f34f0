# shellcheck shell=bash
# Sourced by the batch scripts in this directory (not run by itself): run `moerate run` under
# SLURM so that the time-limit warning (#SBATCH --signal=B:USR1@...) stops it cleanly and the
# job requeues itself; the next run resumes the same results file, until the grid is complete.
#
# Settings, from the environment (sbatch passes the submitting shell's environment to the job):
#   MOERATE_ROOT      the moerate repository      default: the directory sbatch was run in
#   MOERATE           the moerate binary          default: $MOERATE_ROOT/build/moerate
#   MOERATE_LAUNCHER  what starts the MPI ranks   default: mpirun -n $SLURM_NTASKS
#                     (e.g. MOERATE_LAUNCHER="srun --mpi=pmix": srun takes the ranks from the job)
#   MOERATE_RESULTS   results directory of the family scripts   default: $MOERATE_ROOT/results
#   MOERATE_MAX_REQUEUES  requeues of one job at most           default: 100
#   MOERATE_FIT_GROUP     ranks that fit each replicate together (moerate's -fit_group; a spec's
#                     own fit_group: key, or the command line's, is used when this is unset);
#                     --ntasks must then be 1 + a multiple of it; "auto": moerate gives the
#                     tasks longer than the fair share groups of ranks, any --ntasks; 0: a fit per
#                     rank, the spec's own order.  A group (g not 0) sums
#                     in the chunks' order, so this also gives -fit_order chunks: a spec pinned to
#                     the row order of its committed results (fit_order: rows) runs grouped too, its
#                     fits then differing from those results by rounding (another spec hash)
#
# Nothing else is taken from the submitting shell: the thread counts of every BLAS and OpenMP
# runtime are set here (one per rank), whatever the submitting shell had.
#
# The caller has set moe_root (the repository) before sourcing this file.

moe_progress=0 # 1 once a moerate run of this job run has finished a task (or cannot tell)
moe_stop=0  # 1 once USR1 has arrived (SLURM's time-limit warning, or scancel --batch --signal=USR1)
moe_pid=    # the launcher (mpirun) while it runs

moe_log() {
  echo "$(date '+%F %T') $*"
}

# The batch shell alone gets the warning (the B: of --signal); moerate learns of it through the
# launcher, which forwards USR1 to every rank.  (TERM would make mpirun itself exit 1.)
moe_on_usr1() {
  moe_stop=1
  moe_log "USR1: stopping moerate cleanly, to requeue the job"
  if [[ -n $moe_pid ]]; then
    kill -USR1 "$moe_pid" 2>/dev/null || true
  fi
}

# SIGTERM to the whole job (scancel, preemption) reaches mpirun too, which then exits 1 however
# cleanly the ranks stopped.  The batch shell's trap asks the ranks for a clean stop as USR1 does,
# and moe_finish reports the run as stopped (3: resumable), not as an internal error.
moe_term=0
moe_on_term() {
  moe_term=1
  moe_log "TERM: stopping moerate cleanly (the results file stays resumable)"
  if [[ -n $moe_pid ]]; then
    kill -USR1 "$moe_pid" 2>/dev/null || true
  fi
}

# moe_start: check the job, find moerate and the launcher, print where this runs.
moe_start() {
  if [[ -z ${SLURM_JOB_ID:-} ]]; then
    echo "$(basename "$0"): submit this with sbatch (jobs/local.sh runs moerate without SLURM)" >&2
    exit 2
  fi
  MOERATE=${MOERATE:-$moe_root/build/moerate}
  if [[ ! -x $MOERATE ]]; then
    echo "moerate job: no moerate binary at $MOERATE: build it (bash jobs/setup.sh) or set MOERATE" >&2
    exit 2
  fi
  read -r -a moe_launcher <<<"${MOERATE_LAUNCHER:-mpirun -n $SLURM_NTASKS}"
  # One BLAS (and OpenMP) thread per rank: the ranks already fill the cores.
  export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
  moe_log "job $SLURM_JOB_ID ($SLURM_JOB_NAME), restart ${SLURM_RESTART_COUNT:-0}," \
    "$SLURM_NTASKS tasks on ${SLURM_JOB_NODELIST:-?}, in $PWD"
  trap moe_on_usr1 USR1
  trap moe_on_term TERM
}

# moe_run SPEC.yaml RESULTS.h5 [moerate options]: run (or resume) one grid; returns moerate's
# exit status (3 without starting it when the warning has already come).
moe_run() {
  if ((moe_stop || moe_term)); then
    return 3
  fi
  local moe_group=() # MOERATE_FIT_GROUP g (not 0, a fit per rank): -fit_group g and the chunks' order a group sums in
  if [[ -n ${MOERATE_FIT_GROUP:-} && $MOERATE_FIT_GROUP != 0 ]]; then moe_group=(-fit_group "$MOERATE_FIT_GROUP" -fit_order chunks); fi
  local cmd=("${moe_launcher[@]}" "$MOERATE" run -options_file_yaml "$1" -output "$2" "${moe_group[@]}" "${@:3}") status=0 before
  before=$(moe_done "$2")
  moe_log "+ ${cmd[*]}"
  "${cmd[@]}" &
  moe_pid=$!
  # `wait` returns early (status 138) when the USR1 trap runs: wait until the launcher has
  # really exited, then once more for its exit status, which bash keeps.
  while kill -0 "$moe_pid" 2>/dev/null; do
    wait "$moe_pid" || true
  done
  wait "$moe_pid" || status=$?
  moe_pid=
  if ((before < 0 || $(moe_done "$2") > before)); then moe_progress=1; fi
  moe_log "moerate exited with status $status"
  # A stop that came as a finished run was leaving: the USR1 forwarded to mpirun can kill mpirun
  # itself while it tears down (138), though every rank has written its part.  The file decides.
  if ((status != 0 && (moe_stop || moe_term))) && [[ $(moe_status "$2") == complete ]]; then
    moe_log "the results file is complete: the run had finished before the stop (status $status is the launcher's, on its way out)"
    status=0
  fi
  return "$status"
}

# moe_finish STATUS: end the job.  0: the grid is complete.  3 after USR1: requeue the job
# (same job id, same arguments) to resume, and exit 0 so that SLURM does not count a failure.
# A stop that USR1 did not cause (e.g. scancel's TERM) is not requeued.  Anything else is
# moerate's (2 bad input, 1 internal error) or the launcher's failure: passed on.
moe_finish() {
  if ((moe_term && $1 != 0)); then
    moe_log "stopped by TERM (scancel or preemption): submit again to resume (a preempted job with --requeue is requeued by SLURM)"
    exit 3
  fi
  if (($1 == 3 && moe_stop)); then
    if ((!moe_progress)); then
      moe_log "no task finished in this run: not requeueing (a task longer than the time limit would" \
        "never finish); raise --time, then submit again to resume"
      exit 3
    fi
    if ((${SLURM_RESTART_COUNT:-0} >= ${MOERATE_MAX_REQUEUES:-100})); then
      moe_log "requeued ${SLURM_RESTART_COUNT} times (MOERATE_MAX_REQUEUES): not again; submit again to resume"
      exit 3
    fi
    moe_log "moerate stopped cleanly: requeueing job $SLURM_JOB_ID to resume"
    if ! scontrol requeue "$SLURM_JOB_ID"; then
      moe_log "scontrol requeue failed: submit the job again to resume"
      exit 3
    fi
    exit 0
  fi
  if (($1 == 0)); then
    moe_log "done"
  fi
  exit "$1"
}

# moe_done FILE: the number of finished tasks of a results file (its tasks_done attribute, read
# with h5dump; 0 when there is no file yet, -1 when h5dump is missing).
moe_done() {
  command -v h5dump >/dev/null || { echo -1; return; }
  local n
  n=$(h5dump -a /tasks_done "$1" 2>/dev/null | sed -n 's/^ *(0): *\([0-9]*\).*/\1/p')
  echo "${n:-0}"
}

# moe_status FILE: the status attribute of a results file (complete, incomplete; empty when there
# is no file or no h5dump).
moe_status() {
  command -v h5dump >/dev/null || return 0
  h5dump -a /status "$1" 2>/dev/null | sed -n 's/^ *(0): *"\([a-z]*\)".*/\1/p'
}

# moe_specs full|quick NAME...: run jobs/specs/NAME.yaml (quick: NAME_quick.yaml) into
# $MOERATE_RESULTS/NAME[_quick].h5, one after another; a finished file is skipped quickly, so
# a requeued job goes straight on with the first unfinished one.
moe_specs() {
  local suffix name status
  case ${1:-} in
    full) suffix= ;;
    quick) suffix=_quick ;;
    *)
      echo "usage: sbatch jobs/slurm/FAMILY.sbatch [full|quick [SPEC_NAME...]]" >&2
      exit 2
      ;;
  esac
  shift
  local dir=${MOERATE_RESULTS:-$moe_root/results}
  mkdir -p "$dir"
  for name; do
    status=0
    moe_run "$moe_root/jobs/specs/$name$suffix.yaml" "$dir/$name$suffix.h5" || status=$?
    if ((status != 0)); then
      moe_finish "$status"
    fi
  done
  moe_finish 0
}
