#!/usr/bin/env bash
# CI: World over a real MPI. Installs Debian's OpenMPI if missing, builds the project with
# -DSPMD_TRANSPORT=mpi in build-mpi/ (libspmd, kernels, examples, benchmarks, the World
# tests) and runs its tests: World's checks under mpirun on 1, 2 and 4 ranks, and the
# failure test (a rank that fails ends the job, once, leaving no process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/openmpi.sh
mkdir -p build-mpi
log=build-mpi/ci.log
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DSPMD_TRANSPORT=mpi \
  "${launcher[@]}" >"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
cmake --build build-mpi -j2 >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
# One test at a time: a 4-rank job already oversubscribes the 2 cores.
ctest --test-dir build-mpi --output-on-failure -j1
