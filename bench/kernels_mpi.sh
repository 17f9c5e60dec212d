#!/usr/bin/env bash
# The three kernels under `mpirun -n 2` (MPI transport, one host) against `mprun -n 2`
# (shm transport), in rounds that alternate the two, so both see the same machine.
#   bench/kernels_mpi.sh [ROUNDS]          # default 5; builds in build/ and build-mpi/
#   SHM=build MPI=build-mpi BIND="none core" RT=1 bench/kernels_mpi.sh 3
# Figures: knn build_s + query_s and rbf seconds (the kernels' own); chirp prints none, so
# its wall time less that round's wall time of hello_barrier under the same launcher.
# BIND lists the placements to try, each for both launchers (mprun and mpirun --bind-to);
# RT=1 runs both under `chrt -r 30` (a loaded machine; needs root). One line per figure:
#   bench=kernels_mpi round=1 kernel=knn bind=core mprun_s=0.4312 mpirun_s=0.4478 ratio=1.04
# and per kernel and placement the range of the ratios (mpirun over mprun) at the end.
set -euo pipefail
rounds=${1:-5}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "kernels_mpi: ROUNDS must be a positive integer, not '$rounds'" >&2; exit 2; }
shm=${SHM:-build}
mpi=${MPI:-build-mpi}
binds=${BIND:-core none}
for b in "$shm/bin/mprun" "$shm/bin/knn" "$mpi/bin/knn" "$mpi/bin/hello_barrier"; do
  [[ -x $b ]] || { echo "kernels_mpi: $b is missing (build both trees first)" >&2; exit 2; }
done
command -v mpirun >/dev/null || { echo "kernels_mpi: mpirun is not installed" >&2; exit 2; }
rt=()
[[ ${RT:-0} == 1 ]] && rt=(chrt -r 30)
root=()
[[ $(id -u) == 0 ]] && root=(--allow-run-as-root)

now() { date +%s.%N; }
calc() { awk "BEGIN { print ($1) }"; }  # calc EXPRESSION, in floating point
# Runs a program of one build under its launcher: run shm|mpi BIND PROGRAM ARGS...
run() {
  local kind=$1 bind=$2 program=$3
  shift 3
  if [[ $kind == shm ]]; then
    "${rt[@]}" "$shm/bin/mprun" --bind-to "$bind" -n 2 "$shm/bin/$program" "$@"
  else
    "${rt[@]}" mpirun "${root[@]}" --bind-to "$bind" -n 2 "$mpi/bin/$program" "$@"
  fi
}
# Seconds of one kernel run: its own figure, or for chirp the wall time less hello's.
figure() {  # kernel shm|mpi bind
  local kernel=$1 kind=$2 bind=$3 out start end hello
  case $kernel in
    knn)
      out=$(run "$kind" "$bind" knn --random 200000,8,50000 -k 5)
      calc "$(sed -n 's/.*build_s=\([0-9.]*\) query_s=\([0-9.]*\).*/\1 + \2/p' <<<"$out")" ;;
    rbf)
      out=$(run "$kind" "$bind" rbf --random 4000,3)
      sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out" ;;
    chirp)
      start=$(now); run "$kind" "$bind" hello_barrier >/dev/null; end=$(now)
      hello=$(calc "$end - $start")
      start=$(now); run "$kind" "$bind" chirp --random-signals 8 >/dev/null; end=$(now)
      calc "$end - $start - $hello" ;;
  esac
}
declare -A low high
for round in $(seq "$rounds"); do
  for kernel in knn rbf chirp; do
    for bind in $binds; do
      a=$(figure "$kernel" shm "$bind")
      b=$(figure "$kernel" mpi "$bind")
      ratio=$(calc "$b / $a")
      printf 'bench=kernels_mpi round=%d kernel=%s bind=%s mprun_s=%.4f mpirun_s=%.4f ratio=%.2f\n' \
        "$round" "$kernel" "$bind" "$a" "$b" "$ratio"
      key="$kernel/$bind"
      if [[ -z ${low[$key]:-} ]] || (($(calc "$ratio < ${low[$key]}"))); then low[$key]=$ratio; fi
      if [[ -z ${high[$key]:-} ]] || (($(calc "$ratio > ${high[$key]}"))); then high[$key]=$ratio; fi
    done
  done
  echo "# load after round $round: $(cut -d' ' -f1-3 /proc/loadavg)"
done
for kernel in knn rbf chirp; do
  for bind in $binds; do
    printf 'bench=kernels_mpi kernel=%s bind=%s rounds=%d ratio_min=%.2f ratio_max=%.2f\n' \
      "$kernel" "$bind" "$rounds" "${low[$kernel/$bind]}" "${high[$kernel/$bind]}"
  done
done
