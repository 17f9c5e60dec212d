#!/usr/bin/env bash
# CI: install Debian's numpy and scipy for /usr/bin/python3 if missing. Needed by
# test_scipy_reference (the kernels against cKDTree, cdist and a numpy matched filter; it
# says SKIP without them) and test_chirp's arange check, not by the project itself:
# about 16 MB to download and 170 MB installed (scipy pulls in pythran and python3-dev).
set -euo pipefail
if ! /usr/bin/python3 -c 'import numpy, scipy.spatial' 2>/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "ci: installing python3-numpy and python3-scipy"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    python3-numpy python3-scipy >/dev/null
fi
