#!/usr/bin/env bash
# Installs the gearspec Python package from the source tree with pip, offline, into a fresh
# virtual environment (as the README tells users to), then uses it. Removes the environment after.
set -euo pipefail
src=${1:?usage: pip_install_test.sh SOURCE_DIR}
venv=$(mktemp -d /tmp/gearspec-venv-XXXXXX)
trap 'rm -rf "$venv"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --quiet --no-build-isolation --no-index "$src"
cd "$venv"
"$venv/bin/python" - <<'PY'
import gearspec
with gearspec.ReferenceServer() as server:
    client = gearspec.Client(server)
    client.send("ECHO_REQ", "installed")
    client.expect("ECHO_RES", "installed")
assert "site-packages" in gearspec.__file__, gearspec.__file__
print("pip install: ok,", gearspec.__file__)
PY
