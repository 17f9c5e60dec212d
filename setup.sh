#!/usr/bin/env bash
# Sets up, builds, and optionally runs the demo or the tests. Idempotent: installs only
# the Debian packages that are missing, and rebuilds only what changed.
#   ./setup.sh          install what is missing, configure and build (build/bin/)
#   ./setup.sh demo     ... then run the demo
#   ./setup.sh test     ... then run every test
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ cmake make pkg-config libboost-dev libboost-program-options-dev
          libfftw3-dev libnanoflann-dev catch2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build build -j2

case "${1:-}" in
  demo)
    run() { echo "+ $*"; "$@"; }
    run build/bin/mprun -n 4 build/bin/hello_barrier
    run build/bin/mprun -n 2 build/bin/knn --random 100000,8,20000 --seed 1 -k 5
    run build/bin/mprun -n 2 build/bin/rbf --random 6000,3 --seed 1
    run build/bin/mprun -n 2 build/bin/chirp --signal-mc 0.95,1.2,1.37,1.6
    ;;
  test)
    ctest --test-dir build --output-on-failure -j2
    ;;
  "") ;;
  *) echo "setup: unknown action '$1' (expected demo or test)" >&2; exit 2 ;;
esac
