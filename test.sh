#!/usr/bin/env bash
# Run the tests from a fresh clone: installs the Python packages (the app's
# and the tests', requirements-dev.txt) into .venv, Debian's chromium for the
# browser tests and PostgreSQL 15 for the tests on PostgreSQL (each test
# process starts a throwaway cluster of its own), then runs pytest on every
# core (pytest-xdist: each test file on one worker, its tests in order),
# after ruff's lint (ruff.toml).
#   ./test.sh               every test (what CI runs)
#   ./test.sh fast          the fast lane: no browser, no server, no PostgreSQL, nothing slow
#   ./test.sh ARGS...       pytest's own arguments, e.g. -m "not browser" or tests/test_store.py
set -euo pipefail
cd "$(dirname "$0")"
lane=()
workers=auto
if [ "${1:-}" = fast ]; then
  shift
  lane=(-m "not browser and not server and not pg and not slow")
  # A quarter of the fast lane's time is waiting on background threads
  # (retries, workers): one process more than the cores fills it.
  workers=$(( $(nproc) + 1 ))
else
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/ruff check --quiet .   # the lint rules of ruff.toml: a finding fails the run
# Compiled test modules (and their assertion rewriting) are kept between runs.
unset PYTHONDONTWRITEBYTECODE
exec .venv/bin/python -m pytest -q -n "$workers" --dist loadfile "${lane[@]}" "$@"
