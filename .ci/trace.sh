#!/usr/bin/env bash
# CI: install headless Chromium if missing, so that test_trace_html takes and checks a
# screenshot of mprun --trace-html's page instead of skipping. Only that test needs it.
set -euo pipefail
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "ci: installing chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
