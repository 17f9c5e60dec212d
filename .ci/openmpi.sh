#!/usr/bin/env bash
# CI: install Debian's OpenMPI (mpicc, mpirun) if missing. Needed by test_openmpi_binary
# and by bench/mpi/run.sh, not by the project itself.
set -euo pipefail
if ! command -v mpicc >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "ci: installing libopenmpi-dev and openmpi-bin"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    libopenmpi-dev openmpi-bin >/dev/null
fi
