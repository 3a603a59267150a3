#!/usr/bin/env bash
# Installs the reference clients and servers the tests run against the mock, each where the tests look
# for it and at the version pinned in pyproject.toml:
#   [tool.agentload.npm]    package = "version"   an npm prefix of its own, VENV/NAME (NAME: the package
#                                                 without its scope: @openai/codex -> VENV/codex), its
#                                                 commands in VENV/NAME/node_modules/.bin
#   [tool.agentload.venvs]  NAME = [requirements] a virtualenv of its own, VENV/NAME (for Python ones whose
#                                                 pinned dependencies clash with agentload's), its
#                                                 commands in VENV/NAME/bin
# A new client or server is one line in pyproject.toml. The installs run side by side, each logged to
# VENV/NAME.install.log (its tail printed if it fails). Idempotent: an install whose stamp
# (VENV/NAME/.installed) holds the pinned spec is kept. Node and npm come from Debian
# (tests/install_services.sh). Usage: tests/install_clients.sh VENV
set -euo pipefail
venv="${1:?usage: tests/install_clients.sh VENV}"
py="$venv/bin/python"

# one line an install: KIND NAME SPEC... (npm: the package@version; venv: its requirements)
plan=$("$py" - <<'EOF'
import tomllib

pins = tomllib.load(open("pyproject.toml", "rb"))["tool"]["agentload"]
for package, version in pins.get("npm", {}).items():
    print("npm", package.rsplit("/", 1)[-1], f"{package}@{version}")
for name, requirements in pins.get("venvs", {}).items():
    print("venv", name, *requirements)
EOF
)

install() {  # KIND NAME SPEC...: one install into VENV/NAME, its stamp written last
    local kind=$1 name=$2 prefix="$venv/$2"
    shift 2
    if [ "$kind" = npm ]; then
        mkdir -p "$prefix"
        npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$@"
    else
        "$py" -m venv --clear "$prefix"
        # no bytecode compiled ahead (aider's tree alone is 0.7 GB): a client compiles what it imports
        "$prefix/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile "$@"
    fi
    echo "$*" >"$prefix/.installed"
}

pids=() names=()
while read -r kind name spec; do
    stamp="$venv/$name/.installed"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ]; then continue; fi
    echo "installing $spec ($kind) into $venv/$name"
    # shellcheck disable=SC2086 # one word a requirement
    install "$kind" "$name" $spec >"$venv/$name.install.log" 2>&1 &
    pids+=($!) names+=("$name")
done <<<"$plan"

failed=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        echo "installing ${names[$i]} failed; the end of $venv/${names[$i]}.install.log:" >&2
        tail -n 20 "$venv/${names[$i]}.install.log" >&2
        failed=1
    fi
done
exit $failed
