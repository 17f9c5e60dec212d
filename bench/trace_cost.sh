#!/usr/bin/env bash
# What the trace hooks cost while tracing is off: the same benchmarks built twice, with the
# hooks compiled in (the default) and compiled out (-DSPMD_TRACE=OFF), run alternately in
# the same minutes so that drift and the load of other programs fall on both alike.
#   bench/trace_cost.sh [ROUNDS]     (default 15 rounds; each round runs each build twice)
# Prints one line per run, then per figure the median of each build and their ratio:
#   bench=trace_cost figure=barrier_n2 on_usec=X off_usec=Y ratio=X/Y runs=R
# The builds go to build/trace-cost/{on,off} (Release, benchmarks only).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "trace_cost.sh: ROUNDS must be a positive number, not '$rounds'" >&2; exit 2; }

for kind in on off; do
  flag=ON
  [ "$kind" = off ] && flag=OFF
  dir=build/trace-cost/$kind
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DSPMD_KERNELS=OFF \
    -DSPMD_TRACE=$flag "${launcher[@]}" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
  cmake --build "$dir" --target mprun bench_barrier bench_p2p -j2 >>"$dir.log" 2>&1 ||
    { tail -n 30 "$dir.log"; exit 1; }
done

results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# One run of one build: "<figure> <build> <usec>".
run() {
  local kind=$1 bin=build/trace-cost/$1/bin line
  line=$("$bin/mprun" -n 2 "$bin/bench_barrier" --seconds 0.3)
  echo "barrier_n2 $kind $(sed -n 's/.* usec=\([0-9.]*\).*/\1/p' <<<"$line")" | tee -a "$results"
  line=$("$bin/mprun" -n 2 "$bin/bench_p2p" --seconds 0.1 | grep ' bytes=8 ')
  echo "p2p_8B $kind $(sed -n 's/.* usec=\([0-9.]*\).*/\1/p' <<<"$line")" | tee -a "$results"
}
for ((round = 1; round <= rounds; ++round)); do
  # Which build goes first alternates, so neither always runs on a warmer machine.
  if ((round % 2)); then order=(on off on off); else order=(off on off on); fi
  for kind in "${order[@]}"; do run "$kind"; done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

median() {  # of the values of one figure and build
  awk -v f="$1" -v k="$2" '$1 == f && $2 == k { print $3 }' "$results" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for figure in barrier_n2 p2p_8B; do
  on=$(median "$figure" on)
  off=$(median "$figure" off)
  runs=$(awk -v f="$figure" '$1 == f && $2 == "on"' "$results" | wc -l)
  echo "bench=trace_cost figure=$figure on_usec=$on off_usec=$off ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a / b }') runs=$runs"
done
