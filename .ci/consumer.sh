#!/usr/bin/env bash
# CI: install the built project to a scratch prefix, then build tests/consumer (a user's
# project: find_package(spmd), one program per exported target) against that prefix only,
# and run each program under the installed mprun. Expects ./setup.sh to have built build/.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
log=$work/consumer.log

step() { echo "consumer: $*"; }
fail() {
  echo "consumer: FAILED: $1; the log follows" >&2
  cat "$log" >&2
  exit 1
}

step "installing build/ to a scratch prefix"
cmake --install build --prefix "$prefix" >"$log" 2>&1 || fail "cmake --install"
step "building tests/consumer with find_package(spmd) and CMAKE_PREFIX_PATH=<prefix>"
cmake -S tests/consumer -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >>"$log" 2>&1 || fail "configuring the consumer"
cmake --build "$work/build" -j2 >>"$log" 2>&1 || fail "building the consumer"

for program in use_spmd use_knn use_rbf use_chirp; do
  "$prefix/bin/mprun" -n 2 "$work/build/$program" || fail "$program under mprun -n 2"
  "$work/build/$program" || fail "$program alone"
done
step "all four targets (spmd::spmd, spmd::knn, spmd::rbf, spmd::chirp) work from the install"
