#!/usr/bin/env bash
# Run every test from a fresh clone: installs the Python packages (the app's
# and the tests', requirements-dev.txt) into .venv, Debian's chromium for the
# browser tests and PostgreSQL 15 for the tests on PostgreSQL (each test run
# starts a throwaway cluster of its own), then runs pytest.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
exec .venv/bin/python -m pytest -q "$@"
