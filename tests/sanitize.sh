#!/usr/bin/env bash
# The sanitizer job (.ci/run runs it after the tests): moerate built with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/, then its C tests and the tests that feed `moerate fit`
# and `run` crafted files (tests/python/test_untrusted.py), and the grouped fits' tests (a group's
# messages and chunk views: tests/python/test_groups.py).  A report fails the test it happens in
# (tests/python/conftest.py looks for one in every run's output), so the job is clean or it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOERATE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
# Leak checking is off: PETSc and Open MPI keep some allocations until exit by design.
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -R '^(test_gradient|test_losses|py_reliability_untrusted|py_groups)$' "$@"
