#!/usr/bin/env bash
# Checks that every tracked C/C++ file matches the repository's .clang-format.
#   .ci/format.sh          list the files that differ and fail (what CI runs)
#   .ci/format.sh --fix    rewrite them in place
# Uses clang-format 14 (Debian 12's), the version the tree is formatted with: other
# versions may lay out a few constructs differently.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format-14 >/dev/null && ! command -v clang-format >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "format: install clang-format-14" >&2; exit 2; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-format-14 >/dev/null
fi
format=$(command -v clang-format-14 || command -v clang-format)

mapfile -t files < <(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp')
case "${1:-}" in
  --fix) "$format" -i "${files[@]}" ;;
  "")
    if ! "$format" --dry-run --Werror "${files[@]}"; then
      echo "format: the files above differ from .clang-format; run .ci/format.sh --fix" >&2
      exit 1
    fi
    echo "format: ${#files[@]} files clean"
    ;;
  *) echo "format: unknown argument '$1' (expected --fix or nothing)" >&2; exit 2 ;;
esac
