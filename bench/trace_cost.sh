#!/usr/bin/env bash
# What the trace hooks cost while tracing is off: the same benchmarks built twice, with the
# hooks compiled in (the default) and compiled out (-DSPMD_TRACE=OFF), run alternately in
# the same minutes so that drift and the load of other programs fall on both alike.
#   bench/trace_cost.sh [ROUNDS]     (default 15 rounds; each round runs each build twice)
# Figures, per build:
#   barrier_n2  bench_barrier on 2 ranks, us per barrier (wall time)
#   p2p_8B      bench_p2p's 8-byte pingpong, us per one-way message (wall time)
#   hook        bench_trace on 1 rank, CPU ns per loop of one trace::Span (in the
#               compiled-out build, the empty loop): CPU time is not inflated by the time
#               other programs hold the core, so this one stays exact on a loaded machine
# Prints one line per run, then per figure the median and the best run of each build and
# their ratio (on / off: 1.02 means the compiled-in hooks cost 2%):
#   bench=trace_cost figure=barrier_n2 runs=R on=X off=Y ratio=X/Y best_on=.. best_off=..
#     best_ratio=..
# The builds go to build/trace-cost/{on,off} (Release, no tests, no kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "trace_cost.sh: ROUNDS must be a positive number, not '$rounds'" >&2; exit 2; }

mkdir -p build/trace-cost
for kind in on off; do
  flag=ON
  [ "$kind" = off ] && flag=OFF
  dir=build/trace-cost/$kind
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DSPMD_KERNELS=OFF \
    -DSPMD_TRACE=$flag "${launcher[@]}" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
  cmake --build "$dir" --target mprun bench_barrier bench_p2p bench_trace -j2 >>"$dir.log" 2>&1 ||
    { tail -n 30 "$dir.log"; exit 1; }
done

results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
value_of() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
# One run of each figure with one build: "<figure> <build> <value>" lines.
run() {
  local kind=$1 bin=build/trace-cost/$1/bin line
  line=$("$bin/mprun" -n 2 "$bin/bench_barrier" --seconds 0.3)
  echo "barrier_n2 $kind $(value_of usec <<<"$line")" | tee -a "$results"
  # Only the 8-byte figure, the first: the job ends (SIGPIPE) once grep has it.
  line=$("$bin/mprun" -n 2 "$bin/bench_p2p" --seconds 0.1 2>/dev/null | grep -m1 ' bytes=8 ' || true)
  echo "p2p_8B $kind $(value_of usec <<<"$line")" | tee -a "$results"
  line=$("$bin/mprun" -n 1 "$bin/bench_trace")
  echo "hook $kind $(value_of cpu_ns <<<"$line")" | tee -a "$results"
}
for ((round = 1; round <= rounds; ++round)); do
  # Which build goes first alternates, so neither always runs on a warmer machine.
  if ((round % 2)); then order=(on off on off); else order=(off on off on); fi
  for kind in "${order[@]}"; do run "$kind"; done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# The median, and the best run: on a loaded machine the best is the run that other
# programs disturbed least, closest to what the code itself costs.
stat() {  # median|best, of the values of one figure and build
  awk -v f="$2" -v k="$3" '$1 == f && $2 == k && $3 != "" { print $3 }' "$results" | sort -g |
    awk -v what="$1" '{ v[NR] = $1 }
      END { print what == "best" ? v[1] : (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
for figure in barrier_n2 p2p_8B hook; do
  on=$(stat median "$figure" on)
  off=$(stat median "$figure" off)
  best_on=$(stat best "$figure" on)
  best_off=$(stat best "$figure" off)
  runs=$(awk -v f="$figure" '$1 == f && $2 == "on"' "$results" | wc -l)
  echo "bench=trace_cost figure=$figure runs=$runs on=$on off=$off ratio=$(ratio "$on" "$off")" \
    "best_on=$best_on best_off=$best_off best_ratio=$(ratio "$best_on" "$best_off")"
done
