#!/usr/bin/env bash
# Installs OpenAI's Codex CLI (npm @openai/codex, a prebuilt binary; the version pinned in pyproject.toml)
# into the venv, for the tests that run it against the mock. Node and npm come from Debian
# (tests/install_services.sh). Idempotent: an install of the pinned version is kept.
set -euo pipefail
venv="${1:?usage: tests/install_codex.sh VENV}"
prefix="$venv/codex"
version=$("$venv/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["agentload"]["npm"]["@openai/codex"])')
installed="$prefix/node_modules/@openai/codex/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then exit 0; fi
echo "installing @openai/codex@$version (npm) into $prefix"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@openai/codex@$version" >/dev/null
