#!/usr/bin/env bash
# Build moerate (installing what is missing) and run every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash jobs/setup.sh
ctest --test-dir build --output-on-failure "$@"
