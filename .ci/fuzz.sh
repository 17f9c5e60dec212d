#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 14 (ASan + UBSan) in build-fuzz/ and runs each
# for a bounded time, starting from its seed corpus in fuzz/corpus/<target>/.
#   .ci/fuzz.sh [SECONDS]      default 60 per target
# A crash stops the run and leaves the input in build-fuzz/crashes/<target>/: fix the bug,
# then copy the input to fuzz/regressions/<target>/, where the normal test suite replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

# clang-14 alone lacks libFuzzer: Debian ships it in libclang-rt-14-dev.
need=()
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

targets=(npy mprun_options)
CXX=clang++-14 cmake -S . -B build-fuzz -DSPMD_FUZZ=ON -DBUILD_TESTING=OFF -DSPMD_KERNELS=OFF -DSPMD_BENCH=OFF \
  -DSPMD_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]/#/fuzz_}"

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in "${targets[@]}"; do
  # Work on a copy: what the fuzzer adds to its corpus stays out of the tree.
  work=build-fuzz/corpus/$t crashes=build-fuzz/crashes/$t
  rm -rf "$work" && mkdir -p "$work" "$crashes" && cp fuzz/corpus/"$t"/* "$work"/
  echo "fuzz: $t for ${seconds}s"
  if ! build-fuzz/bin/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$crashes/" "$work" 2>build-fuzz/fuzz_"$t".log; then
    tail -n 60 build-fuzz/fuzz_"$t".log >&2
    echo "fuzz: $t found a failing input: $(ls "$crashes")" >&2
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)" \
    build-fuzz/fuzz_"$t".log || true
done
