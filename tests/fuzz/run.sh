#!/bin/bash
# Run moerate's libFuzzer harnesses one after another (tests/fuzz/README.md).
#   bash tests/fuzz/run.sh [--smoke | --minutes M] [--bin DIR] [--work DIR] [harness ...]
#     --smoke      about 20 s per harness (CI)
#     --minutes M  M minutes per harness (default 10)
#     --bin DIR    where build.sh put the harnesses (default build-fuzz/bin in the repository)
#     --work DIR   corpora grown by the run and crash artifacts (default build-fuzz/run)
#     harness      fuzz_truth_yaml fuzz_truth_h5 fuzz_results_resume fuzz_journal fuzz_spec_options
#                  (default: all five)
# Each harness starts from a copy of tests/fuzz/corpus/<harness> (the committed seeds stay as they are)
# and runs under nice -n 10 in libFuzzer's fork mode (-fork=1 -ignore_crashes=1 -ignore_timeouts=1
# -ignore_ooms=1): a crash is saved to WORK/<harness>/crashes/ and fuzzing goes on, so a known bug does
# not stop the search for others.  Printed per harness: executions, exec/s, cov, ft, corpus size,
# crashes/timeouts/OOMs.  Exit status: 1 when a harness crashed (or failed to run), else 0.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECONDS_EACH=600
BIN="$HERE/../../build-fuzz/bin"
WORK="$HERE/../../build-fuzz/run"
HARNESSES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SECONDS_EACH=20 ;;
    --minutes) SECONDS_EACH=$(awk -v m="$2" 'BEGIN { printf "%d", m * 60 }'); shift ;;
    --bin) BIN="$2"; shift ;;
    --work) WORK="$2"; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    fuzz_*) HARNESSES+=("$1") ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(fuzz_truth_yaml fuzz_truth_h5 fuzz_results_resume fuzz_journal fuzz_spec_options)

# MPI singleton as root in a container; the sanitizers' settings (leak checking off: PETSc's and
# moerate's error paths leak by design, see fuzz_common.h, and the harnesses reclaim what moerate leaks)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"

status=0
printf '%-20s %12s %8s %6s %6s %7s %s\n' harness executions exec/s cov ft corpus "crashes/timeouts/ooms"
for h in "${HARNESSES[@]}"; do
  exe="$BIN/$h"
  if [ ! -x "$exe" ]; then
    echo "run.sh: $exe is missing: run tests/fuzz/build.sh first" >&2
    status=1
    continue
  fi
  dir="$WORK/$h"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp "$HERE/corpus/$h/"* "$dir/corpus/" 2>/dev/null
  # every crash found so far, committed under tests/fuzz/crashes/<harness>/, must stay fixed
  if compgen -G "$HERE/crashes/$h/*" > /dev/null; then
    if ! (cd "$dir" && MOE_FUZZ_STRICT=1 "$exe" -detect_leaks=0 "$HERE/crashes/$h/"* > "$dir/replay.log" 2>&1); then
      echo "run.sh: $h: a committed reproducer of tests/fuzz/crashes/$h fails again; the end of $dir/replay.log:" >&2
      tail -20 "$dir/replay.log" >&2
      status=1
    fi
  fi
  dict=()
  [ -f "$HERE/$h.dict" ] && dict=(-dict="$HERE/$h.dict")
  start=$(date +%s)
  (cd "$dir" && MOE_FUZZ_REPORT="$dir/findings.txt" nice -n 10 "$exe" "$dir/corpus" "${dict[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=4096 -detect_leaks=0 -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/" > "$dir/log" 2>&1)
  rc=$?
  took=$(( $(date +%s) - start ))
  # fork mode's progress lines: "#<executions>: cov: C ft: F corp: N exec/s: E oom/timeout/crash: O/T/X time: S ..."
  last=$(grep -E '^#[0-9]+: cov:' "$dir/log" | tail -1)
  if [ -z "$last" ]; then
    echo "run.sh: $h did not run (exit $rc); the end of $dir/log:" >&2
    tail -20 "$dir/log" >&2
    status=1
    continue
  fi
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<< "$last")
  cov=$(sed -E 's/.* cov: ([0-9]+).*/\1/' <<< "$last")
  ft=$(sed -E 's/.* ft: ([0-9]+).*/\1/' <<< "$last")
  corp=$(sed -E 's/.* corp: ([0-9]+).*/\1/' <<< "$last")
  ots=$(sed -E 's/.* oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/' <<< "$last")
  IFS=/ read -r ooms timeouts crashes <<< "$ots"
  eps=$(( execs / (took > 0 ? took : 1) ))
  printf '%-20s %12s %8s %6s %6s %7s %s\n' "$h" "$execs" "$eps" "$cov" "$ft" "$corp" "$crashes/$timeouts/$ooms"
  if [ "$crashes" != 0 ] || [ "$timeouts" != 0 ] || [ "$ooms" != 0 ]; then
    echo "  artifacts in $dir/crashes/: $(ls "$dir/crashes" | tr '\n' ' ')"
    grep -E 'ERROR: (AddressSanitizer|libFuzzer)|runtime error|SUMMARY' "$dir/log" | sort | uniq -c | sort -rn | head -5 | sed 's/^/  /'
    [ "$crashes" != 0 ] && status=1
  fi
  # the harnesses' findings (fuzz_common.h), once each: counts of open descriptors/ids differ per job
  [ -f "$dir/findings.txt" ] && sed -E 's/: [0-9/]+ (open )?after the input, [0-9/]+ before/ (more open after an input than before)/' "$dir/findings.txt" | sort -u | sed 's/^/  /' | head -40
done
exit $status
