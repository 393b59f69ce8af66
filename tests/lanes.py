"""The test lanes: every test is marked ``browser``, ``server`` and ``pg``
from what its code and its fixtures' code use, so a new test needs no marker
of its own (README, "Running the tests"); a test that started a server or
used the PostgreSQL cluster in a way this did not see fails, so the fast
lane stays fast. ``slow`` is set by hand. A plugin of conftest.py."""
from __future__ import annotations

import inspect
import sys
import types
from pathlib import Path

import pytest

import pg_cluster

TESTS = Path(__file__).resolve().parent
MARKERS = {
    "both_backends": "the store tests run on DuckDB and on PostgreSQL",
    "browser": "drives Debian's chromium through Playwright (set from what the test uses)",
    "server": "starts the real server, tests/live_server.py (set from what the test uses)",
    "pg": "uses the run's PostgreSQL cluster, tests/pg_cluster.py (set from what the test uses)",
    "slow": "takes seconds by nature even alone (a long scenario, a demo built in a subprocess)",
}
# What a test's code names when it needs each lane: (lane, name).
LANE_NAMES = (("browser", "sync_playwright"), ("server", "live_server"), ("pg", "pg_cluster"))


def pytest_configure(config):
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


def names_used(fn, seen: set) -> set[str]:
    """Every global and attribute name ``fn``'s code uses (its lambdas and
    inner functions included), and those of the helper functions it names
    that are written beside it or under tests/."""
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None or code in seen:
        return set()
    seen.add(code)
    names, todo = set(), [code]
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    for name in list(names):
        helper = inspect.unwrap(fn.__globals__[name]) if name in fn.__globals__ else None
        if inspect.isfunction(helper) and (helper.__code__.co_filename == code.co_filename
                                           or TESTS in Path(helper.__code__.co_filename).parents):
            names |= names_used(helper, seen)
    return names


def lanes(item) -> set[str]:
    """The lanes ``item`` needs, read from its code and its fixtures' code.
    A fixture that takes ``backend`` (``store``) is on PostgreSQL only for
    the ``postgresql`` parametrisation."""
    seen: set = set()
    names = names_used(item.function, seen)
    for defs in item._fixtureinfo.name2fixturedefs.values():
        used = names_used(defs[-1].func, seen)
        if "backend" in defs[-1].argnames:
            used.discard("pg_cluster")
        names |= used
    found = {lane for lane, name in LANE_NAMES if name in names}
    if item.path.name.startswith("test_browser_"):
        found.add("browser")
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgresql":
        found.add("pg")
    return found


@pytest.hookimpl(tryfirst=True)  # before -m selects by them
def pytest_collection_modifyitems(items):
    for item in items:
        for lane in sorted(lanes(item)):
            item.add_marker(lane)


def lane_uses() -> dict[str, int]:
    """Servers started and cluster uses in this process so far."""
    return {"server": sum(getattr(sys.modules.get(m), "starts", 0) for m in ("live_server", "tests.live_server")),
            "pg": pg_cluster.uses}


_USES_BEFORE = pytest.StashKey[dict]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_USES_BEFORE] = lane_uses()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that started a server or used the cluster without its marker
    (``lanes`` did not see how) fails here instead of slowing the fast lane."""
    report = yield
    if call.when == "teardown" and report.passed and _USES_BEFORE in item.stash:
        before, after = item.stash[_USES_BEFORE], lane_uses()
        missed = [lane for lane in after if after[lane] > before[lane] and not item.get_closest_marker(lane)]
        if missed:
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} used the {' and the '.join(missed)} lane but is not marked so:"
                               f" tests/lanes.py did not see how; add {', '.join(f'@pytest.mark.{m}' for m in missed)}")
    return report
