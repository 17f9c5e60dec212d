#!/usr/bin/env bash
# CI: the two-host test of issue #11. tests/twohost/check_rig.sh checks the rig (two network
# namespaces on this machine, mpirun across them); tests/twohost/kernels.sh then runs knn,
# rbf and chirp under mprun -n 1, mprun -n 4, mpirun -n 4 and 2 + 2 ranks on the two hosts
# and compares every output file, plus a bad input on the rig. Needs root (CI is) and
# Debian's OpenMPI; reuses build-mpi (the -DSPMD_TRANSPORT=mpi build of .ci/mpi.sh) if it
# is there, else makes it. About 3 minutes on 2 cores once the builds are done.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
  echo "ci: twohost: SKIP: needs root and 'ip netns' (network namespaces)"
  exit 0
fi
bash .ci/openmpi.sh
command -v ip >/dev/null || { apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null; }

log=build/ci-twohost-build.log
mkdir -p build
cmake --build build -j2 --target mprun knn rbf chirp monte_carlo pool_map pipe_workers >"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
bash tests/twohost/check_rig.sh

if [ ! -f runtime/src/transport/mpi.cpp ]; then
  echo "ci: twohost: SKIP the kernels' MPI comparisons: this tree has no MPI transport" \
    "(runtime/src/transport/mpi.cpp); comparing mprun -n 1 with mprun -n 4 only"
  bash tests/twohost/kernels.sh build/bin
  exit 0
fi
if [ ! -f build-mpi/CMakeCache.txt ]; then  # configured as .ci/mpi.sh does
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DSPMD_TRANSPORT=mpi \
    "${launcher[@]}" >"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
fi
cmake --build build-mpi -j2 --target knn rbf chirp monte_carlo pool_map pipe_workers save_primes >"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
bash tests/twohost/kernels.sh build/bin build-mpi/bin
