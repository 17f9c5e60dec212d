#!/usr/bin/env bash
# Builds the project's plain-MPI benchmarks with an MPI's compiler wrapper and runs one, to
# set its figures beside mprun's own (bench/bench_*.cpp print the same key=value lines).
#   bench/mpi/run.sh barrier 2          # MPI_Barrier, 2 ranks, Debian's OpenMPI
#   bench/mpi/run.sh pingpong 2 -t 0.5  # latency and bandwidth; -t/-i/-w go to the program
#   bench/mpi/run.sh allreduce 8        # more ranks than cores: --oversubscribe
#   bench/mpi/run.sh hello 8            # wall time of the whole job, 10 launches
# Programs: barrier pingpong allreduce bcast hello. MPICC and MPIRUN choose another MPI
# (default: Debian's OpenMPI, mpicc and mpirun; .ci/openmpi.sh installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: bench/mpi/run.sh barrier|pingpong|allreduce|bcast|hello RANKS [program options]"
program=${1:?$usage}
ranks=${2:?$usage}
shift 2
case "$program" in
  barrier | pingpong | allreduce | bcast | hello) ;;
  *) echo "run.sh: no benchmark '$program'; $usage" >&2; exit 2 ;;
esac
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: RANKS must be a positive number, not '$ranks'" >&2; exit 2; }

mpicc=${MPICC:-mpicc}
mpirun=${MPIRUN:-mpirun}
command -v "$mpicc" >/dev/null || { echo "run.sh: $mpicc not found (Debian: apt-get install libopenmpi-dev openmpi-bin)" >&2; exit 2; }

out=$here/../../build/bench-mpi/$(basename "$mpicc")
mkdir -p "$out"
if [ ! "$out/$program" -nt "$here/$program.c" ] || [ ! "$out/$program" -nt "$here/mpi_bench.h" ]; then
  "$mpicc" -O2 -Wall -o "$out/$program" "$here/$program.c"
fi

launch=("$mpirun")
impl=$(basename "$mpirun")
if "$mpirun" --version 2>/dev/null | grep -q "Open MPI"; then
  impl=openmpi
  [ "$(id -u)" -ne 0 ] || launch+=(--allow-run-as-root)
  # As the anchors were measured: pinned while there is a core per rank.
  if [ "$ranks" -le "$(nproc)" ]; then launch+=(--bind-to core --map-by core); else launch+=(--oversubscribe); fi
fi
launch+=(-n "$ranks")

if [ "$program" = hello ]; then
  runs=10
  "${launch[@]}" "$out/hello"  # once untimed: page cache, first-run costs
  start=$(date +%s%N)
  for _ in $(seq $runs); do "${launch[@]}" "$out/hello"; done
  stop=$(date +%s%N)
  echo "bench=launch impl=$impl ranks=$ranks runs=$runs msec=$(( (stop - start) / runs / 1000000 ))"
else
  exec "${launch[@]}" "$out/$program" "$@"
fi
