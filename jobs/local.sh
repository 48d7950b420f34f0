#!/usr/bin/env bash
# Run one moerate experiment on this machine with Open MPI's mpirun (no SLURM):
#
#   jobs/local.sh RANKS SPEC.yaml [RESULTS.h5] [moerate options]
#
# RESULTS.h5 defaults to results/NAME.h5 in the repository for SPEC NAME.yaml.  Rank 0 hands out
# the tasks (and mostly sleeps), the other RANKS-1 fit them: on C cores, RANKS=C+1 keeps every
# core busy.  Ctrl-C (or SIGTERM/SIGHUP) stops cleanly: moerate finishes writing the results
# file and exits 3; run the same command again to resume.  MPIRUN overrides the mpirun used.
# Exit status: moerate's (0 complete, 3 stopped, 2 bad input, 1 internal error).
set -euo pipefail

if (($# < 2)) || [[ ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: jobs/local.sh RANKS SPEC.yaml [RESULTS.h5] [moerate options]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
args=("$@")  # for the resume hint
ranks=$1 spec=$2
shift 2
if (($# > 0)) && [[ $1 != -* ]]; then
  out=$1
  shift
else
  out=$root/results/$(basename "$spec" .yaml).h5
  mkdir -p "$root/results"
fi
moerate=${MOERATE:-$root/build/moerate}
if [[ ! -x $moerate ]]; then
  echo "local.sh: no moerate binary at $moerate: build it (bash jobs/setup.sh) or set MOERATE" >&2
  exit 2
fi

launcher=("${MPIRUN:-mpirun}" -n "$ranks")
# Open MPI refuses root unless told; a fresh machine's only user may well be root.
if (($(id -u) == 0)); then
  launcher+=(--allow-run-as-root)
fi
if ((ranks > $(nproc))); then
  launcher+=(--oversubscribe)
fi
if ((ranks > 1)); then
  # One BLAS thread per rank: the ranks already fill the cores.
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
fi

cmd=("${launcher[@]}" "$moerate" run -options_file_yaml "$spec" -output "$out" "$@")
echo "+ ${cmd[*]}"
# mpirun gets a session of its own (setsid: no terminal's Ctrl-C, which would make it abort
# the ranks) and no stdin (it would pass the terminal's input to rank 0); this script turns
# Ctrl-C into USR1, which mpirun forwards to every rank for a clean stop.
setsid "${cmd[@]}" </dev/null &
pid=$!
# shellcheck disable=SC2317  # run by the trap below
stop() {
  echo "local.sh: stopping cleanly (moerate writes $out first)..." >&2
  kill -USR1 "$pid" 2>/dev/null || true
}
trap stop INT TERM HUP
# `wait` returns early when a trapped signal arrives: wait until mpirun has really exited,
# then once more for its exit status, which bash keeps.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || true
done
status=0
wait "$pid" || status=$?
case $status in
  0) echo "local.sh: complete: $out" ;;
  3) echo "local.sh: stopped; resume with: $(printf "%q " "$0" "${args[@]}")" >&2 ;;
esac
exit "$status"
