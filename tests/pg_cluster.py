"""A throwaway PostgreSQL 15 cluster for the tests: ``initdb`` as the
``postgres`` user in a temporary folder, started on a free port, removed at
exit. A real server, never a mock.

One cluster per test process, so one per xdist worker (``cluster()``); each
test gets a database of its own made from a migrated template
(``fresh_database()``), which is a file copy and takes a few milliseconds."""
from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
_state: dict = {}
_names = itertools.count(1)
uses = 0  # calls of cluster(): tests/lanes.py checks each test that uses it is marked ``pg``


def available() -> bool:
    return (BIN / "initdb").exists()


def _as_postgres(args: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # initdb refuses root
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster() -> str:
    """The URL of the run's cluster (``postgres`` database), started once."""
    global uses
    uses += 1
    return _started()


def _started() -> str:
    if "url" in _state:
        return _state["url"]
    root = Path(tempfile.mkdtemp(prefix="maxchat-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        os.chmod(root, 0o700)
    _as_postgres([str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync"])
    port = _free_port()
    # fsync off: a test cluster is thrown away; durability is PostgreSQL's own
    # business and the kill tests kill our server, not PostgreSQL.
    opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB")
    _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"])
    _state.update(root=root, data=data, url=f"postgresql://postgres@127.0.0.1:{port}/postgres")
    atexit.register(stop)
    return _state["url"]


def stop() -> None:
    if "data" not in _state:
        return
    try:
        _as_postgres([str(BIN / "pg_ctl"), "-D", str(_state["data"]), "-m", "immediate", "-w", "stop"])
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(_state["root"], ignore_errors=True)
    _state.clear()


def _admin(sql: str) -> None:
    import psycopg
    with psycopg.connect(_started(), autocommit=True) as con:
        con.execute(sql)


def fresh_database() -> str:
    """The URL of a new, migrated, empty database."""
    if "template" not in _state:
        from maxchat_data.pg_store import PgStore
        _admin("CREATE DATABASE maxchat_template")
        url = cluster().rsplit("/", 1)[0] + "/maxchat_template"
        tmp = Path(tempfile.mkdtemp(prefix="maxchat-pg-media-"))
        PgStore(url, tmp).close()  # runs the migrations once
        shutil.rmtree(tmp, ignore_errors=True)
        _state["template"] = url
    name = f"maxchat_{os.getpid()}_{next(_names)}_{int(time.time() * 1000) % 100000}"
    # FILE_COPY: copies the files (with fsync off, ~0.15 s); the default
    # WAL_LOG writes every page through the WAL (0.25-2 s measured).
    _admin(f"CREATE DATABASE {name} TEMPLATE maxchat_template STRATEGY = FILE_COPY")
    return cluster().rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    try:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except Exception:  # the cluster goes at exit anyway
        pass
