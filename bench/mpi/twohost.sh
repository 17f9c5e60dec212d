#!/usr/bin/env bash
# Cross-host figures on the two-host rig (tests/twohost/rig.sh): Open MPI's own programs
# (pingpong.c and allreduce.c here, built with mpicc) beside the project's bench_p2p and
# bench_allreduce built with -DSPMD_TRANSPORT=mpi, alternating, ROUNDS times, so that both
# see the same minutes of this shared machine. Ping-pong: 1 rank on each host; all_reduce:
# 2 + 2. Prints the programs' key=value lines with round=R and rig=2hosts in front.
#   bench/mpi/twohost.sh [MPI_BUILD_BIN] [ROUNDS]   # e.g. bench/mpi/twohost.sh build-mpi/bin 3
# Without MPI_BUILD_BIN, Open MPI's programs only. Root only (the rig's namespaces).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rig=$here/../../tests/twohost/rig.sh
mpi_bin=${1:-}
rounds=${2:-3}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "twohost.sh: ROUNDS must be a positive number" >&2; exit 2; }
if [ -n "$mpi_bin" ]; then
  for b in bench_p2p bench_allreduce; do
    [ -x "$mpi_bin/$b" ] || { echo "twohost.sh: no $mpi_bin/$b (an MPI-transport build?)" >&2; exit 2; }
  done
fi
out=$here/../../build/bench-mpi/twohost
mkdir -p "$out"
for p in pingpong allreduce; do mpicc -O2 -Wall -o "$out/$p" "$here/$p.c"; done

tag() { sed "s/^/round=$1 rig=2hosts /"; }
for round in $(seq "$rounds"); do
  "$rig" --ppn 1 "$out/pingpong" -t 0.3 | tag "$round"
  [ -z "$mpi_bin" ] || "$rig" --ppn 1 "$mpi_bin/bench_p2p" --seconds 0.3 | tag "$round"
  "$rig" --ppn 2 "$out/allreduce" -t 0.5 | tag "$round"
  [ -z "$mpi_bin" ] || "$rig" --ppn 2 "$mpi_bin/bench_allreduce" --seconds 0.5 | tag "$round"
done
