#!/usr/bin/env bash
# CI: the scaling script still runs end to end and draws its picture (small problems, 1
# and 2 ranks, one run each: a check of the script, not a measurement). It alone needs
# gnuplot: Debian's gnuplot-nox, 2.3 MB with no X11 (matplotlib would bring numpy and
# 19 MB of its own), installed here rather than by setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gnuplot >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "ci: installing gnuplot-nox"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi
out=build/ci-scaling/scaling.png
rm -rf build/ci-scaling
bench/scaling.py --quick --repeats 1 --ranks 1,2 --out "$out"
# A PNG with rows of both series: the table holds barrier and knn figures for 1 and 2 ranks.
[ "$(head -c 8 "$out" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "ci: $out is not a PNG" >&2; exit 1; }
for bench in barrier knn; do
  for ranks in 1 2; do
    grep -q "^$bench,$ranks," build/ci-scaling/scaling.csv || { echo "ci: no $bench figure for $ranks rank(s)" >&2; exit 1; }
  done
done
echo "ci: scaling picture drawn ($(stat -c %s "$out") bytes)"
