#!/usr/bin/env bash
# The Debian package works without a checkout: installs DEB with apt, then, from an empty
# directory, runs the installed gearspec against its own embedded server and against spawned
# C gearmand with the installed profile, the installed gearspec-server, and the Python module
# with Debian's python3. Removes the package afterwards unless it was installed before.
#   tests/package/deb_install_test.sh build/release/gearspec_<version>_<arch>.deb
set -euo pipefail
deb=$(realpath "$1")
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

was_installed=no
if dpkg-query -W -f='${Status}' gearspec 2>/dev/null | grep -q "install ok installed"; then
  was_installed=yes
fi
work=$(mktemp -d)
cleanup() {
  cd / && rm -rf "$work"
  if [[ $was_installed == no ]]; then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get remove -y -qq gearspec >/dev/null || true
  fi
}
trap cleanup EXIT

fail() { echo "deb_install_test: FAIL: $*" >&2; exit 1; }

DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$deb" \
  >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get install $deb"; }
dpkg-query -W -f='${Status}' gearspec | grep -q "install ok installed" || fail "not installed"
for program in gearspec gearspec-server gearspec-bench gearspec-soak gearspec-agent; do
  [[ $(command -v "$program") == /usr/bin/$program ]] || fail "$program is not /usr/bin/$program"
done

cd "$work"  # no scenarios/ here: the installed suite must be found
suite_size=$(find /usr/share/gearspec/scenarios -name '*.yaml' | wc -l)
((suite_size > 100)) || fail "the installed suite has $suite_size scenarios"

echo "deb_install_test: gearspec run (installed suite, embedded server)"
/usr/bin/gearspec run --no-color --junit embedded.xml >embedded.txt 2>&1 || { tail -30 embedded.txt; fail "embedded run"; }
grep -q "tests=\"$suite_size\"" embedded.xml || fail "the embedded run did not run all $suite_size installed scenarios"

echo "deb_install_test: gearspec run --spawn gearmand with the installed profile"
/usr/bin/gearspec run --no-color \
  --spawn '/usr/sbin/gearmand --listen 127.0.0.1 --port {port} --log-file {dir}/gearmand.log' \
  --profile /usr/share/gearspec/profiles/gearmand-1.1.20.yaml >spawned.txt 2>&1 \
  || { tail -40 spawned.txt; fail "spawned C gearmand run with its installed profile"; }
grep -q "^OK: $suite_size scenarios" spawned.txt || { tail -5 spawned.txt; fail "spawned run summary"; }

echo "deb_install_test: gearspec clients (installed cases, the installed reference adapter and Perl's)"
/usr/bin/gearspec clients --reference-agent \
  --agent perl=/usr/share/gearspec/clients/adapters/perl/adapter.pl \
  --expect perl=/usr/share/gearspec/clients/expectations/perl-gearman-2.004.yaml \
  --step-timeout 2000 >clients.txt 2>&1 || { tail -30 clients.txt; fail "gearspec clients"; }
grep -q "^OK: [0-9]* runs" clients.txt || { tail -5 clients.txt; fail "gearspec clients: no OK line"; }

echo "deb_install_test: the installed gearspec-server, spawned"
/usr/bin/gearspec run --no-color /usr/share/gearspec/scenarios/attach \
  --spawn '/usr/bin/gearspec-server --quiet --listen 127.0.0.1 --port {port}' >server.txt 2>&1 \
  || { tail -20 server.txt; fail "spawned gearspec-server"; }

echo "deb_install_test: the Python module with Debian's python3"
env -u PYTHONPATH /usr/bin/python3 - <<'PY' || fail "python module"
import gearspec
assert gearspec.__file__.startswith("/usr/lib/python3/dist-packages/"), gearspec.__file__
results = gearspec.run("/usr/share/gearspec/scenarios/attach")
assert len(results) > 10 and all(r.passed for r in results), results
PY
echo "deb_install_test: OK ($suite_size scenarios, installed from $(basename "$deb"))"
