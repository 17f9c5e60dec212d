#!/usr/bin/env bash
# Sets up, builds, and optionally runs the demo or the tests. Idempotent: installs only
# the Debian packages that are missing, and rebuilds only what changed.
#   ./setup.sh          install what is missing, configure and build everything (build/bin/)
#   ./setup.sh demo     ... only what the demo needs, then run the demo
#   ./setup.sh test     ... the tests and what they run, then run every test
# SPMD_TRANSPORT=mpi ./setup.sh [demo|test] does the same for World over a real MPI
# (Debian's OpenMPI, installed then), in build-mpi/, with mpirun in place of mprun.
# One line per step; the compiler's output goes to build/setup.log, shown on failure.
set -euo pipefail
cd "$(dirname "$0")"

action=${1:-}
case "$action" in
  demo | test | "") ;;
  *) echo "setup: unknown action '$action' (expected demo or test)" >&2; exit 2 ;;
esac

transport=${SPMD_TRANSPORT:-shm}
case "$transport" in
  shm) build=build ;;
  mpi) build=build-mpi ;;
  *) echo "setup: SPMD_TRANSPORT='$transport' is not a transport (expected shm or mpi)" >&2; exit 2 ;;
esac

mkdir -p $build
log=$PWD/$build/setup.log
: >"$log"
started=$SECONDS
step() { printf 'setup: %-58s' "$1"; step_started=$SECONDS; }
done_step() { echo "done ($((SECONDS - step_started)) s)"; }
# Runs a step's command with its output in the log; on failure, says where to look.
quietly() {
  if ! "$@" >>"$log" 2>&1; then
    echo "FAILED"
    echo "setup: '$*' failed; its last lines (full log: $log):" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
}

packages=(g++ cmake make pkg-config libboost-dev libboost-program-options-dev
          libfftw3-dev libnanoflann-dev catch2
          nlohmann-json3-dev zlib1g-dev  # trace tests: parse the JSON, decode a PNG
          ninja-build)  # builds the many small test targets faster than make (below)
[ "$transport" = mpi ] && packages+=(libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${#missing[@]} Debian package(s)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  quietly $sudo apt-get update -qq
  quietly env DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  done_step
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# A new build folder uses Ninja: make spends CPU on every target's dependency scan and
# progress lines, and the tests are dozens of small targets. A folder configured before
# keeps its generator (CMake refuses to switch).
generator=()
[ -f $build/CMakeCache.txt ] || generator=(-G Ninja)
step "configuring $build/"
quietly cmake -S . -B $build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON \
  -DSPMD_TRANSPORT=$transport "${launcher[@]}"
done_step
# How the demo starts N ranks: mprun, or mpirun for the MPI build (as root it must be told).
ranks=(build/bin/mprun -n)
mprun_target=mprun
if [ "$transport" = mpi ]; then
  ranks=(mpirun --oversubscribe)
  [ "$(id -u)" -ne 0 ] || ranks+=(--allow-run-as-root)
  ranks+=(-n)
  mprun_target=""
fi

case "$action" in
  demo)
    step "building ${mprun_target:+$mprun_target, }hello_barrier, knn, rbf, chirp"
    quietly cmake --build $build -j2 --target $mprun_target hello_barrier knn rbf chirp
    done_step
    echo "setup: ready in $((SECONDS - started)) s; the demo:"
    run() { echo; echo "\$ $*"; "$@"; }
    run "${ranks[@]}" 4 $build/bin/hello_barrier
    run "${ranks[@]}" 2 $build/bin/knn --random 100000,8,20000 --seed 1 -k 5
    run "${ranks[@]}" 2 $build/bin/rbf --random 6000,3 --seed 1
    run "${ranks[@]}" 2 $build/bin/chirp --signal-mc 0.95,1.2,1.37,1.6
    ;;
  test)
    # Most tests wait (on ranks, child processes, deadlines) more than they compute: three
    # at a time per core finish sooner (no test times itself; .ci's sanitizer and MPI steps
    # keep their own -j).
    jobs=$((3 * $(nproc)))
    run_tests() { ctest --test-dir $build --output-on-failure --no-label-summary -j$jobs "$@"; }
    if [ "$transport" = mpi ]; then  # labels no test "long": build all, then run all
      step "building the tests and the programs they run"
      quietly cmake --build $build -j2 --target spmd_tests
      done_step
      echo "setup: running every test ($jobs at a time)"
      run_tests
      exit
    fi
    # The longest tests (label "long") run while the others build, since they mostly wait:
    # first every program a test runs and those tests' executables (spmd_long_tests), then
    # the rest of the test code. Their output waits in a log, shown after the others'.
    step "building what the tests run, and the longest tests"
    quietly cmake --build $build -j2 --target spmd_long_tests
    done_step
    echo "setup: running the longest tests (ctest -L long) while the others build"
    long_log=$PWD/$build/ctest-long.log
    other_log=$PWD/$build/ctest-other.log
    # In a session of their own, so that a failed build below ends them all (trap).
    setsid bash -c 'exec "$@" >"$0" 2>&1' "$long_log" \
      ctest --test-dir $build --output-on-failure --no-label-summary -j$jobs -L long &
    long_pid=$!
    trap 'kill -- -$long_pid 2>/dev/null || true' EXIT
    step "building the other tests"
    quietly cmake --build $build -j2 --target spmd_tests
    done_step
    echo "setup: running the other tests ($jobs at a time)"
    status=0
    run_tests -LE long | tee "$other_log" || status=1
    wait $long_pid || status=1
    trap - EXIT
    echo "setup: the longest tests, run meanwhile ($long_log):"
    cat "$long_log"
    # One closing line for both runs, from CTest's own summaries.
    sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' \
      "$other_log" "$long_log" | {
      failed=0 total=0
      while read -r f t; do failed=$((failed + f)); total=$((total + t)); done
      echo "setup: $((total - failed)) passed, $failed failed"
    }
    exit $status
    ;;
  "")
    step "building everything (mprun, kernels, examples, tests, benchmarks)"
    quietly cmake --build $build -j2
    done_step
    ;;
esac
