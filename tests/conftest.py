"""Shared fixtures: every test gets its own real DuckDB file; the domain
tests marked ``both_backends`` (``pytestmark = pytest.mark.both_backends``
in a file) run once more on a database of their own in a real PostgreSQL 15
(tests/pg_cluster.py)."""
from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from pathlib import Path

import pytest

# The tests read the app's English sentences: speak English unless a test picks a language.
os.environ.setdefault("MAXCHAT_LANGUAGE", "en")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maxchat_data import config, i18n, system  # noqa: E402
from server import runtime  # noqa: E402
from maxchat_data.ingest import Inbound, receive  # noqa: E402
from maxchat_data.store import Store, open_store  # noqa: E402

import pg_cluster  # noqa: E402

_ids = itertools.count(1)



def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: the store tests run on DuckDB and on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", ["duckdb", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def _language_of_the_test():
    """A test that picks a language (i18n.use) leaves the next one the default."""
    yield
    i18n._current.set(None)


@pytest.fixture
def backend(request):
    """Which database ``store`` is: DuckDB unless the test is marked both_backends."""
    return getattr(request, "param", "duckdb")


@pytest.fixture
def store(tmp_path, backend):
    if backend == "postgresql":
        url = pg_cluster.fresh_database()
        s = open_store(url, tmp_path / "media")
        yield s
        s.close()
        pg_cluster.drop_database(url)
        return
    s = Store(tmp_path / "maxchat.duckdb", tmp_path / "media")
    yield s
    s.close()


@pytest.fixture
def replica_stores(tmp_path):
    """Two stores on one PostgreSQL database: two replicas, in one process."""
    if not pg_cluster.available():
        pytest.skip("PostgreSQL 15 is not installed")
    url = pg_cluster.fresh_database()
    a, b = open_store(url, tmp_path / "media"), open_store(url, tmp_path / "media")
    yield a, b
    a.close()
    b.close()
    pg_cluster.drop_database(url)


@pytest.fixture
def team(store):
    """An admin and two agents: ids by name."""
    return {
        "admin": system.create_account(store, "admin", "Admin", "admin-pass-1", "admin"),
        "budi": system.create_account(store, "budi", "Budi Santoso", "budi-pass-1", "agent"),
        "sari": system.create_account(store, "sari", "Sari Wulandari", "sari-pass-1", "supervisor"),
    }


def customer_writes(store, user="6281200000001", text="Halo kak", channel="whatsapp", name="Rina Kusuma",
                    pmid=None, sent_at=None, **extra):
    """One inbound message through the real ingest path."""
    return receive(store, Inbound(channel=channel, channel_user_id=user, contact_name=name,
                                  provider_message_id=pmid or f"wamid.test{next(_ids)}", body=text,
                                  sent_at=sent_at, **extra))


def wait_until(predicate, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or the timeout passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def at_once(*calls):
    """Run the calls in threads released together (two replicas racing);
    their results, or the errors they raised."""
    start = threading.Barrier(len(calls))
    out = [None] * len(calls)

    def run(i, fn):
        start.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def point_runtime_at(db: Path, monkeypatch, *, demo: bool = False) -> None:
    """Make ``runtime.store()`` (the app's process store, used by pages)
    open ``db``, with no secrets file and no store left from a test before."""
    runtime.close()
    monkeypatch.setenv("MAXCHAT_DB", str(db))
    monkeypatch.setenv("MAXCHAT_MEDIA_DIR", str(db.parent / "media"))
    monkeypatch.setenv("MAXCHAT_DEMO", "1" if demo else "0")
    monkeypatch.setenv("MAXCHAT_SECRETS", "/nonexistent")
    config._secrets.cache_clear()
