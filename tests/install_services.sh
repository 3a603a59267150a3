#!/usr/bin/env bash
# Installs what the tests start on loopback (never as system services): Debian's influxdb (1.x) and
# victoria-metrics, chromium (headless, to open the sweep report), openssl's CLI (a throwaway CA for
# the TLS tests), nodejs/npm (to install the npm reference clients: Codex CLI, opencode) and ripgrep
# (opencode's glob and grep tools run it; without it opencode downloads one). Idempotent; `make test` runs it first.
set -euo pipefail
missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-liberation)  # fonts: the report screenshot has text
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)  # for the npm clients (tests/install_clients.sh)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests need ${missing[*]} (Debian packages influxdb, victoria-metrics, chromium, openssl, nodejs, npm, ripgrep); install them and retry" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "installing ${missing[*]} needs root: run as root or install sudo" >&2; exit 1
    fi
fi
echo "installing ${missing[*]} (apt-get)"
$SUDO apt-get update -qq
# policy-rc.d-style prevention is not needed: the tests use their own ports and data directories
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
