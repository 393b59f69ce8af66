"""The PostgreSQL twin of ``store.Store``: the same API, for several replicas
sharing one database (MAXCHAT_DATABASE_URL).

What changes with several processes, and how it is kept right:
- Each process keeps its own writer thread and group commit (fewer commits),
  and rows two processes both write are settled by PostgreSQL's row locks.
- Ids come from each table's identity sequence, never from process memory.
- A commit NOTIFYs the others; a listener thread here bumps ``version`` and
  the topics for every commit anywhere, so live pages and workers of every
  replica see each other's writes within their usual poll.
- SQL is written once, DuckDB style (``?`` and ``$name``); ``to_pg`` turns
  the placeholders into psycopg's. Every other difference in SQL is the
  engine's (engine.py).
"""
from __future__ import annotations

import logging
import zlib
import os
import re
import threading
import time
from pathlib import Path

import psycopg
from psycopg.types.numeric import FloatLoader
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool

from . import config
from .engine import POSTGRESQL, Engine, to_pg
from .errors import MaxchatError
from .i18n import _
from .progress import Report
from .store import ID_TABLES, MIGRATIONS_DIR, Leadership, Store, Writer, pending, utcnow

log = logging.getLogger(__name__)

PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
CHANNEL = "maxchat"
MIGRATION_LOCK = 7_305_001  # pg_advisory_lock key: one replica migrates, the others wait
CONSOLE_ROLE = "maxchat_console"  # what SQL console queries run as (sql_console)


class DatabaseUnreachable(MaxchatError):
    """The PostgreSQL database does not answer or refuses us."""


def hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _configure(con: psycopg.Connection) -> None:
    # The same Python values as DuckDB gives: floats, not Decimals; JSON as
    # its text (callers json.loads it).
    for name in ("numeric",):
        con.adapters.register_loader(name, FloatLoader)
    for name in ("json", "jsonb"):
        con.adapters.register_loader(name, TextLoader)


def _settings() -> dict:
    # The process id in application_name: an operator (and a test) can tell
    # which replica holds a lock or a connection in pg_stat_activity.
    return {"autocommit": True, "options": "-c TimeZone=UTC", "application_name": f"maxchat-{os.getpid()}"}


def _connect(url: str) -> psycopg.Connection:
    con = psycopg.connect(url, **_settings())
    _configure(con)
    return con


class Cursor:
    """A DuckDB-like cursor over one connection: ``execute`` returns itself."""

    def __init__(self, con: psycopg.Connection, release=None):
        self._con = con
        self._cur = con.cursor()
        self._release = release

    def execute(self, sql: str, params=None):
        if params:
            self._cur.execute(to_pg(sql), params)
        else:
            self._cur.execute(sql)
        return self

    def execute_one_statement(self, sql: str):
        """``sql`` as written (no placeholders), sent with the extended
        protocol, which PostgreSQL refuses for more than one statement
        (``execute`` without parameters would run them all)."""
        self._cur.execute(sql, binary=True)
        return self

    def fetchone(self):
        return self._cur.fetchone()

    def fetchall(self):
        return self._cur.fetchall()

    @property
    def description(self):
        return self._cur.description

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def cursor(self) -> "Cursor":
        return Cursor(self._con)

    def close(self) -> None:
        self._cur.close()
        if self._release is not None:
            self._release(self._con)
            self._release = None


class PgIds:
    """Ids from each table's identity sequence: unique across replicas."""

    def __init__(self, con: Cursor):
        self._con = con
        self._seq = {t: con.execute("SELECT pg_get_serial_sequence(?, 'id')", [t]).fetchone()[0]
                     for t in ID_TABLES}

    def next(self, table: str) -> int:
        return self._con.execute("SELECT nextval(?)", [self._seq[table]]).fetchone()[0]

    def take(self, table: str, n: int) -> list[int]:
        """``n`` ids, in one round trip (not necessarily consecutive)."""
        if n <= 0:
            return []
        return [i for (i,) in self._con.execute(
            "SELECT nextval(?) FROM generate_series(1, ?)", [self._seq[table], n]).fetchall()]


class PgLeadership(Leadership):
    """A session-level advisory lock on a connection of its own: held while
    this process lives and its connection does; when the process dies,
    PostgreSQL drops the connection and the lock, and the next replica to ask
    takes over."""

    def __init__(self, url: str, name: str):
        self._url, self._key = url, zlib.crc32(name.encode())
        self._con: psycopg.Connection | None = None
        self._mine = False
        self._lock = threading.Lock()

    def held(self) -> bool:
        with self._lock:
            try:
                if self._con is None or self._con.closed:
                    self._con, self._mine = _connect(self._url), False
                if self._mine:
                    self._con.execute("SELECT 1")  # still connected: still ours
                else:
                    self._mine = self._con.execute("SELECT pg_try_advisory_lock(%s)", [self._key]).fetchone()[0]
                return self._mine
            except psycopg.Error:
                log.warning("leadership connection lost", exc_info=True)
                self._drop()
                return False

    def _drop(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except psycopg.Error:
                pass
        self._con, self._mine = None, False

    def release(self) -> None:
        with self._lock:
            self._drop()


class PgWriter(Writer):
    """On PostgreSQL the writer's caches can go stale behind its back (another
    replica writes too), so they live for one transaction only."""

    def chat_keys(self):  # ingest looks chats up in the database instead
        raise RuntimeError("no chat-key map on PostgreSQL: several processes create chats")

    def chat_ids(self, keys) -> dict[tuple[str, str], int]:
        keys = list(keys)
        if not keys:
            return {}
        return {(c, u): i for c, u, i in self.all(
            "SELECT channel, channel_user_id, id FROM chats WHERE (channel, channel_user_id) IN"
            " (SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))", [[c for c, _ in keys], [u for _, u in keys]])}

    def add_chat_key(self, key, chat_id) -> None:
        """The database is the map."""

    def chat_states(self, chat_ids) -> dict[int, tuple]:  # read (and locked) in the database
        return {}

    def keep_chat_states(self, states) -> None:
        """Another replica may change them next."""


def _console_role(con: psycopg.Connection) -> None:
    """The role SQL console queries run as: it may read the console views and
    nothing else (no other table, and none of the file functions, which only
    superusers and pg_read_server_files have). Roles belong to the whole
    cluster: another database may have made it already, or the database
    admin by hand. Each step that is not allowed is left to the console,
    which then says what to ask the database admin."""
    steps = (f"CREATE ROLE {CONSOLE_ROLE} NOLOGIN",
             f"GRANT {CONSOLE_ROLE} TO CURRENT_USER",
             f"GRANT USAGE ON SCHEMA console TO {CONSOLE_ROLE}",
             f"GRANT SELECT ON ALL TABLES IN SCHEMA console TO {CONSOLE_ROLE}")
    for step in steps:
        if step.startswith("CREATE") and con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                                     [CONSOLE_ROLE]).fetchone():
            continue
        try:
            with con.transaction():
                con.execute(step)
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # made by another database's start at the same moment
        except psycopg.errors.InsufficientPrivilege as exc:
            log.warning("SQL console: %s was not allowed (%s)", step, exc)


class PgStore(Store):
    engine: Engine = POSTGRESQL

    def __init__(self, url: str, media_dir: str | os.PathLike, progress: Report | None = None):
        self.path = url
        self.url = url
        self.media_dir = Path(media_dir)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._migrate(progress)
        except psycopg.OperationalError as exc:
            # A wrong URL, password or host: one sentence, not a traceback.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DatabaseUnreachable(_("Cannot reach the PostgreSQL database {url} ({setting}): {error}").format(
                url=hide_password(url), setting="MAXCHAT_DATABASE_URL", error=reason)) from None
        pool_size = int(config.number("MAXCHAT_PG_POOL", "16", "connections"))
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size,
                                    kwargs=_settings(),
                                    configure=_configure, open=True, name="maxchat-readers")
        self._init_state()
        self._writer_raw = _connect(url)
        writer_con = Cursor(self._writer_raw)
        self._listening = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="maxchat-listener", daemon=True)
        self._listener.start()
        self._listening.wait(10)
        self._start_writer(PgWriter(writer_con, PgIds(writer_con), self.engine))

    def _reconnect_writer(self, w: Writer) -> None:
        """After PostgreSQL restarted or the network dropped: a new connection
        (the failed group is retried on it by the writer)."""
        log.warning("the writer's database connection broke; reconnecting")
        try:
            self._writer_raw.close()
        except psycopg.Error:
            pass
        self._writer_raw = _connect(self.url)
        w.con = Cursor(self._writer_raw)
        w.ids = PgIds(w.con)

    def leadership(self, name: str) -> PgLeadership:
        return PgLeadership(self.url, name)

    # ---- migrations -------------------------------------------------------
    def _migrate(self, progress: Report | None = None) -> None:
        with _connect(self.url) as con:
            con.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            try:
                con.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
                done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
                for n, (version, f) in enumerate(steps := pending(PG_MIGRATIONS_DIR, done)):
                    if progress:
                        progress(n, len(steps))
                    with con.transaction():
                        con.execute(f.read_text())
                        con.execute("INSERT INTO schema_migrations VALUES (%s, %s)", [version, utcnow()])
                    log.info("applied migration postgresql/%s", f.name)
                if steps and progress:
                    progress(len(steps), len(steps))
                _console_role(con)
            finally:
                con.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])

    # ---- reads ------------------------------------------------------------
    def cursor(self) -> Cursor:
        return Cursor(self._pool.getconn(), self._pool.putconn)

    # ---- writes -----------------------------------------------------------
    def _begin(self, w: Writer) -> None:
        if self._writer_raw.broken or self._writer_raw.closed:
            self._reconnect_writer(w)
        w.forget_agents()  # an admin on another replica may have changed them
        w.con.execute("BEGIN")

    def _announce(self, w: Writer) -> None:
        # Delivered to every listener when the transaction commits, and only
        # then (this process's listener skips its own).
        w.con.execute("SELECT pg_notify(?, ?)", [CHANNEL, ",".join(sorted(w.touched))])

    def _checkpoint(self) -> None:
        """PostgreSQL checkpoints on its own."""

    def _listen(self) -> None:
        """Bump the version and topics for every commit of every replica."""
        while not self._closed:
            try:
                con = _connect(self.url)
                con.execute(f"LISTEN {CHANNEL}")
                # A commit may have happened while not listening: count one.
                self._bump(())
                self._listening.set()
                for note in con.notifies():
                    if note.pid == self._writer_raw.info.backend_pid:
                        continue  # this process's own commit: counted when it was made
                    self._bump(filter(None, note.payload.split(",")))
                    if self._closed:
                        break
                con.close()
            except Exception:  # the database went away: listen again shortly
                if self._closed:
                    return
                log.warning("lost the change listener; reconnecting", exc_info=True)
                self._listening.set()
                time.sleep(1)

    def close(self) -> None:
        if not self._stop_writer():
            return
        try:  # wake the listener so it sees _closed
            with _connect(self.url) as con:
                con.execute(f"NOTIFY {CHANNEL}")
        except Exception:  # noqa: BLE001
            pass
        self._listener.join(timeout=5)
        self._writer_raw.close()
        self._pool.close()
