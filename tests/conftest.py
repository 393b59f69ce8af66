"""Shared fixtures: every test gets its own real DuckDB file; the domain
tests marked ``both_backends`` (``pytestmark = pytest.mark.both_backends``
in a file) run once more on a database of their own in a real PostgreSQL 15
(tests/pg_cluster.py).

The markers ``browser``, ``server`` and ``pg`` are set from what each test
uses: tests/lanes.py."""
from __future__ import annotations

import ast
import itertools
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The existing tests assert English words: they run in English. Tests of the
# Indonesian pages choose `id` themselves (an agent's language, or monkeypatch).
os.environ.setdefault("MAXCHAT_LANGUAGE", "en")

from maxchat_data import accounts, config, i18n, system
from server import runtime
from maxchat_data.ingest import Inbound, receive
from maxchat_data.retry import DELIVERY, FETCH, RetryPolicy
from maxchat_data.store import Store, is_database_url

import pg_cluster

pytest_plugins = ["lanes"]
_ids = itertools.count(1)

# The background jobs' retry rules at a tenth of their pace, for tests about
# what is retried, not how long it waits (those use the real policies): the
# same tries in the same order, without seconds of sleep each.
QUICK_DELIVERY = RetryPolicy(max_attempts=DELIVERY.max_attempts, base=DELIVERY.base / 10, floor=DELIVERY.floor / 10)
QUICK_FETCH = RetryPolicy(max_attempts=FETCH.max_attempts, base=FETCH.base / 10, floor=FETCH.floor / 10)


def pytest_sessionfinish(session):
    # Here, not only at exit: an xdist worker may end without running atexit.
    pg_cluster.stop()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Tests hash a few passwords each. Argon2's real cost (~64 MB, tenths
    of a second) stays in the app and in every server a test starts; in the
    test process, accounts' hasher (and its stand-in hash for unknown
    usernames) is the cheapest argon2 there is. Hashes stay argon2, so each
    side verifies the other's."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        patch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not a password"))
        yield cheap


@pytest.fixture(scope="session", autouse=True)
def apptest_scans_packages_once():
    """Every new AppTest scans all installed packages' metadata for
    Streamlit components (~0.15 s of CPU each time); they do not change
    during a run, so the scan is made once."""
    from streamlit.components.v2 import manifest_scanner
    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda max_workers=None: list(found))
        yield


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", ["duckdb", "postgresql"], indirect=True)


@pytest.fixture
def backend(request):
    """Which database ``store`` is: DuckDB unless the test is marked both_backends."""
    return getattr(request, "param", "duckdb")


@pytest.fixture(scope="session")
def migrated_duckdb(tmp_path_factory) -> Path:
    """One DuckDB file migrated from scratch, once per run (per xdist
    worker), closed so that everything is in the file (no WAL beside it)."""
    path = tmp_path_factory.mktemp("migrated") / "maxchat.duckdb"
    Store(path, path.parent / "media").close()
    assert not Path(f"{path}.wal").exists()
    return path


@pytest.fixture(scope="session", autouse=True)
def runtime_opens_new_files_migrated(migrated_duckdb):
    """The app's process store (``runtime.store()``, what page and route
    tests use) on a DuckDB file that does not exist yet starts as a copy of
    ``migrated_duckdb`` too; a file that exists is opened as it is."""
    real = runtime.open_store

    def open_store_copying(path=None, media_dir=None):
        where = path or config.get("MAXCHAT_DATABASE_URL") or config.get("MAXCHAT_DB")
        if where and not is_database_url(where) and not Path(where).exists():
            Path(where).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_duckdb, where)
        return real(path, media_dir)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime, "open_store", open_store_copying)
        yield


@pytest.fixture(scope="session")
def store_template(migrated_duckdb) -> Path:
    """The DuckDB file each test's ``store`` starts as a copy of. A test
    module may give its own (data all its tests start from, made once)."""
    return migrated_duckdb


TEAM = (("admin", "Admin", "admin-pass-1", "admin"), ("budi", "Budi Santoso", "budi-pass-1", "agent"),
        ("sari", "Sari Wulandari", "sari-pass-1", "supervisor"))
_TEAM_IN_STORE = pytest.StashKey[dict]()


def make_team(store) -> dict:
    """An admin, an agent and a supervisor: ids by username."""
    return {username: system.create_account(store, username, name, password, role)
            for username, name, password, role in TEAM}


def made_once(tmp_path_factory, start: Path, name: str, make) -> tuple[Path, dict]:
    """A copy of the DuckDB file ``start`` with ``make(store)``'s writes in
    it, and what ``make`` returned: for data many tests start from, made
    once and copied per test (``store_template``)."""
    path = tmp_path_factory.mktemp(name) / "maxchat.duckdb"
    shutil.copyfile(start, path)
    made = Store(path, path.parent / "media")
    try:
        return path, make(made)
    finally:
        made.close()


@pytest.fixture(scope="session")
def team_made(tmp_path_factory, migrated_duckdb, cheap_password_hashing) -> tuple[Path, dict]:
    """``migrated_duckdb`` with ``TEAM`` in it, made once per run (per xdist
    worker): a test asking for ``team`` gets a copy instead of three writes."""
    return made_once(tmp_path_factory, migrated_duckdb, "team", make_team)


@pytest.fixture
def store(tmp_path, backend, store_template, migrated_duckdb, request):
    """A new database: a copy of ``store_template`` (the migrations' own
    tests make theirs from scratch with ``Store``; with the team in it when
    the test asks for ``team``), or, on PostgreSQL, a database made from the
    cluster's migrated template."""
    if backend == "postgresql":
        url = pg_cluster.fresh_database()
        from maxchat_data.pg_store import PgStore  # the engine alone, as Store below
        s = PgStore(url, tmp_path / "media")
        yield s
        s.close()
        pg_cluster.drop_database(url)
        return
    template = store_template
    if "team" in request.fixturenames and store_template == migrated_duckdb:
        template, request.node.stash[_TEAM_IN_STORE] = request.getfixturevalue("team_made")
    shutil.copyfile(template, tmp_path / "maxchat.duckdb")
    s = Store(tmp_path / "maxchat.duckdb", tmp_path / "media")
    yield s
    s.close()


@pytest.fixture
def replica_stores(tmp_path):
    """Two stores on one PostgreSQL database: two replicas, in one process."""
    if not pg_cluster.available():
        pytest.skip("PostgreSQL 15 is not installed")
    url = pg_cluster.fresh_database()
    from maxchat_data.pg_store import PgStore
    a, b = PgStore(url, tmp_path / "media"), PgStore(url, tmp_path / "media")
    yield a, b
    a.close()
    b.close()
    pg_cluster.drop_database(url)


@pytest.fixture
def team(store, request):
    """An admin, an agent and a supervisor (``TEAM``): ids by username."""
    made = request.node.stash.get(_TEAM_IN_STORE, None)
    return dict(made) if made is not None else make_team(store)  # ``store`` may be a copy with it in


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
        except Exception as exc:  # returned to the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def sql_written(node: ast.AST, formatted_as: str) -> list[str]:
    """The SQL text written in ``node`` (a function, an argument): its string
    constants, and each f-string with its formatted parts read as
    ``formatted_as`` (the worst case the caller checks for)."""
    return [n.value if isinstance(n, ast.Constant) else
            "".join(v.value if isinstance(v, ast.Constant) else formatted_as for v in n.values)
            for n in ast.walk(node)
            if isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and isinstance(n.value, str))]


def point_runtime_at(db: Path, monkeypatch, *, demo: bool = False) -> None:
    """Make ``runtime.store()`` (the app's process store, used by pages)
    open ``db``, with no secrets file and no store left from a test before."""
    runtime.close()
    monkeypatch.setenv("MAXCHAT_DB", str(db))
    monkeypatch.setenv("MAXCHAT_MEDIA_DIR", str(db.parent / "media"))
    monkeypatch.setenv("MAXCHAT_DEMO", "1" if demo else "0")
    monkeypatch.setenv("MAXCHAT_SECRETS", "/nonexistent")
    config._secrets.cache_clear()


@pytest.fixture(autouse=True)
def _language_of_the_test():
    """Each test starts with no language chosen (MAXCHAT_LANGUAGE's default)
    and one that chooses (i18n.use) leaves none behind for the next."""
    from maxchat_data import i18n
    token = i18n._current.set(None)
    yield
    i18n._current.reset(token)
