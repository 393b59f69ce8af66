"""The test suite's own shortcuts (conftest.py) give what the slow way gave:
a new database (the ``store`` fixture's, or the app's process store on a new
file) is a copy of one fully migrated, cheap password hashing stays in the
test process, and the lane markers follow what a test uses (lanes.py)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from argon2 import PasswordHasher

from conftest import point_runtime_at
from maxchat_data import accounts, settings, system
from maxchat_data.store import MIGRATIONS_DIR, Store
from server import runtime

ROOT = Path(__file__).resolve().parents[1]
CATALOG = {
    "tables": "SELECT table_name, sql FROM duckdb_tables() ORDER BY table_name",
    "columns": "SELECT table_name, column_index, column_name, data_type, column_default, is_nullable"
               " FROM duckdb_columns() ORDER BY table_name, column_index",
    "views": "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY view_name",
    "indexes": "SELECT index_name, table_name, sql FROM duckdb_indexes() ORDER BY index_name",
    "constraints": "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints()"
                   " ORDER BY table_name, constraint_text",
    "sequences": "SELECT sequence_name, start_value FROM duckdb_sequences() ORDER BY sequence_name",
    "macros": "SELECT function_name FROM duckdb_functions() WHERE NOT internal ORDER BY function_name",
}


def catalog(store, rows: bool = True) -> dict:
    out = {what: store.all(sql) for what, sql in CATALOG.items()}
    out["versions"] = store.all("SELECT version FROM schema_migrations ORDER BY version")
    if rows:
        out["rows"] = {t: store.one(f'SELECT count(*) FROM "{t}"')[0] for (t, _) in out["tables"]}
    return out


def test_the_store_fixture_is_a_copy_as_migrated_as_a_database_made_from_scratch(store, migrated_duckdb, tmp_path):
    with Store(tmp_path / "scratch" / "maxchat.duckdb") as scratch:
        assert catalog(store) == catalog(scratch)
    versions = [v for (v,) in store.all("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == sorted(int(f.name.split("_")[0]) for f in MIGRATIONS_DIR.glob("*.sql"))
    assert Path(store.path) != migrated_duckdb and Path(store.path).parent == tmp_path  # a file of its own
    store.write(lambda w: w.execute("INSERT INTO settings VALUES ('only', 'here')"))
    with Store(tmp_path / "template-look" / "maxchat.duckdb") as later:  # what the next test's copy starts as
        assert later.one("SELECT count(*) FROM settings WHERE key = 'only'")[0] == 0


def test_the_apps_store_on_a_new_file_is_as_migrated_and_an_existing_file_is_kept(tmp_path, monkeypatch):
    with Store(tmp_path / "scratch" / "maxchat.duckdb") as scratch:
        expected = catalog(scratch, rows=False)
    point_runtime_at(tmp_path / "new" / "maxchat.duckdb", monkeypatch)
    try:
        assert catalog(runtime.store(), rows=False) == expected  # its rows: the first admin, made at start
    finally:
        runtime.close()
    with Store(tmp_path / "old.duckdb") as old:
        old.write(lambda w: w.execute("INSERT INTO settings VALUES ('mine', 'kept')"))
    point_runtime_at(tmp_path / "old.duckdb", monkeypatch)
    try:
        assert settings.get(runtime.store(), "mine") == "kept"
    finally:
        runtime.close()


def test_cheap_hashing_is_only_in_the_test_process(store, cheap_password_hashing):
    assert accounts._hasher is cheap_password_hashing and cheap_password_hashing.memory_cost == 8
    # The app, outside pytest, hashes at argon2-cffi's defaults whatever the environment says.
    shown = subprocess.run([sys.executable, "-c", "from maxchat_data import accounts;"
                            " print(accounts._hasher.hash('x')); print(accounts._DUMMY_HASH)"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    default = PasswordHasher()
    params = f"m={default.memory_cost},t={default.time_cost},p={default.parallelism}$"
    assert len(shown) == 2 and all(params in h for h in shown), shown
    # A hash a real server made (full cost) still logs in here, and the other way round.
    budi = system.create_account(store, "budi", "Budi", "budi-pass-1")
    strong = default.hash("budi-pass-1")
    store.write(lambda w: w.execute("UPDATE agents SET password_hash = ? WHERE id = ?", [strong, budi]))
    assert accounts.authenticate(store, "budi", "budi-pass-1")["id"] == budi
    assert default.verify(cheap_password_hashing.hash("x"), "x")


PROBE = '''
import pytest
from playwright.sync_api import sync_playwright

import live_server
import pg_cluster


def lanes_of(request):
    return {m.name for m in request.node.iter_markers()} & {"browser", "server", "pg"}


@pytest.fixture
def backend(request):  # conftest's, which this run does not load
    return getattr(request, "param", "duckdb")


def pytest_generate_tests(metafunc):  # conftest's
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", ["duckdb", "postgresql"], indirect=True)


def start_one(tmp):  # a helper of the module: followed
    with live_server.live_server(tmp):
        pass


@pytest.fixture
def db(backend):  # like conftest's store: on PostgreSQL only for that backend
    return pg_cluster.fresh_database if backend == "postgresql" else None  # named, never called


@pytest.fixture(scope="module")
def world():  # a fixture's helper
    return start_one


def test_plain(request):
    assert lanes_of(request) == set()


def test_server_through_a_helper(request):
    assert lanes_of(request) == {"server"}
    assert start_one  # named, never called


@pytest.mark.both_backends
def test_backend(request, db, backend):
    assert lanes_of(request) == ({"pg"} if backend == "postgresql" else set())


def test_browser(request):
    assert lanes_of(request) == {"browser"}
    assert (lambda: sync_playwright())  # named, never called


def test_server_through_a_fixture(request, world):
    assert lanes_of(request) == {"server"}


def test_unseen_server(request):
    assert lanes_of(request) == set()
    __import__("live" + "_server").starts += 1  # as if it had started one in a way lanes() cannot see
'''


def test_lane_markers_follow_what_a_test_uses_and_an_unseen_server_fails_the_test(tmp_path):
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(PROBE))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "lanes", "-p", "no:cacheprovider",
                          "--strict-markers", "-rA", "-q", str(tmp_path / "test_probe.py")],
                         cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT}", "PATH": "/usr/bin:/bin"})
    out = run.stdout
    assert "7 passed, 1 error" in out, out
    assert "ERROR test_probe.py::test_unseen_server" in out
    assert "used the server lane but is not marked so" in out
