#!/usr/bin/env bash
# Builds the project with a sanitizer and runs the whole test suite under it.
#   .ci/sanitize.sh address    ASan + UBSan (and LeakSanitizer) in build-asan/
#   .ci/sanitize.sh thread     TSan in build-tsan/
# The first report fails the run. Ranks are separate processes joined by shared memory,
# which TSan cannot follow across processes: it checks the threads within each process
# (mprun's, a test's), not races between ranks. .ci/tsan.supp lists what it wrongly flags.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-}
case "$kind" in
  address) dir=build-asan ;;
  thread) dir=build-tsan ;;
  *) echo "sanitize: expected 'address' or 'thread', not '$kind'" >&2; exit 2 ;;
esac

# -O1 keeps the sanitized build and its tests affordable on two cores; -g names the lines.
# The benchmarks are left out: no test runs them.
cmake -S . -B "$dir" -DSPMD_SANITIZE="$kind" -DBUILD_TESTING=ON -DSPMD_BENCH=OFF -DSPMD_NATIVE=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -DNDEBUG" >/dev/null
cmake --build "$dir" -j2

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/.ci/tsan.supp"
# Without address-space randomisation: older sanitizer runtimes refuse some layouts that
# recent kernels produce ("unexpected memory mapping").
setarch "$(uname -m)" -R ctest --test-dir "$dir" --output-on-failure -j2
