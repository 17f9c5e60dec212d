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
    echo "+ build/bin/mprun -n 4 build/bin/hello_barrier"
    build/bin/mprun -n 4 build/bin/hello_barrier
    ;;
  test)
    ctest --test-dir build --output-on-failure -j2
    ;;
  "") ;;
  *) echo "setup: unknown action '$1' (expected demo or test)" >&2; exit 2 ;;
esac
