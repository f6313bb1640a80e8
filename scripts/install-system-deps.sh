#!/usr/bin/env bash
# System packages serl-bench needs besides pip's: headless Chromium and its driver (Debian `chromium`,
# `chromium-driver`) for WebShop's browser mode and the browser tests. Does nothing when both are present.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-system-deps: no apt-get here; install Chromium and a matching chromedriver yourself" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
