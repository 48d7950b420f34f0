#!/usr/bin/env bash
# Build moerate (installing what is missing) and run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh
# The SLURM tests start a real single-node SLURM (and munge) on localhost.
missing=()
for p in slurmctld slurmd slurm-client munge; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "tests: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
ctest --test-dir build --output-on-failure "$@"
