"""The DuckDB database: migrations, one writer thread with group commit, reads
on cursors.

Why this shape (measured, see DESIGN.md): DuckDB allows one read-write process
per file and raises "Conflict on update!" when two connections write the same
rows, so every write in the process goes through one thread fed by a queue
(Datasette's ``execute_write_fn`` pattern). A commit costs about a millisecond,
so the writer drains the queue and commits everything waiting as one
transaction; each caller is answered after that commit, so whatever a caller
was told is done is durable.
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import os
import queue
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import duckdb

from . import config
from .chat_tally import GROUPED, ChatTally, Groups, changes_groups, chats_write, moved
from .engine import DUCKDB, Engine
from .errors import MaxchatError
from .i18n import _
from .progress import Report

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Tables whose ids the writer hands out itself: cheaper than sequences and
# safe because only the writer thread inserts.
ID_TABLES = ("agents", "contacts", "chats", "sessions", "messages", "attachments",
             "labels", "notes", "templates", "events", "quick_replies", "broadcasts")
MAX_GROUP = 512
# Inbound messages the writer remembers (key -> ids): a provider's repeat
# delivery, which comes minutes to hours later, is answered without the
# database, where a batch of (channel, provider id) keys is a scan of every
# message (the id's own index serves one id at a time: migration 017).
RECENT_MESSAGES = 100_000
IDLE_CHECKPOINT_S = 2.0
# Chats whose state (status, archived, blocked, session) the writer keeps for
# ingest: a customer writing again is served without reading their chat row
# (100k chats, 16 messages a commit group: a third of the group's time).
KEPT_CHAT_STATES = 100_000
# A statement that may change a kept chat state: any UPDATE naming a state
# column anywhere (in a WHERE too: no SET missed behind a subquery or in a
# tuple), any DELETE, an INSERT that may overwrite. An INSERT of new chats
# changes none.
_STATE_COLUMN = re.compile(r"\b(status|archived|blocked|session_id)\b", re.I)
_OVERWRITE = re.compile(r"\b(DO\s+UPDATE|OR\s+REPLACE)\b", re.I)


def changes_chat_states(sql: str) -> bool:
    """Whether the statement may change a chat's status, archived, blocked
    or session (what ingest needs of a chat it writes to)."""
    verb = chats_write(sql)
    if verb is None:
        return False
    if verb == "INSERT":
        return bool(_OVERWRITE.search(sql))
    return verb == "DELETE" or bool(_STATE_COLUMN.search(sql))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Ids:
    """Next id per table, owned by the writer thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        # One statement, not one per table: each costs a few tenths of a ms.
        tops = con.execute(" UNION ALL ".join(f"SELECT '{t}', coalesce(max(id), 0) FROM {t}" for t in ID_TABLES))
        self._next = {table: top + 1 for table, top in tops.fetchall()}

    def next(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def take(self, table: str, n: int) -> range:
        """``n`` consecutive ids, for bulk loads."""
        start = self._next[table]
        self._next[table] = start + n
        return range(start, start + n)


class Job:
    __slots__ = ("fn", "args", "future", "batched", "context")

    def __init__(self, fn, args, batched):
        self.fn, self.args, self.batched = fn, args, batched
        self.future: Future = Future()
        # The caller's context (its language above all): a refusal raised on
        # the writer thread speaks the language of the person who asked.
        self.context = contextvars.copy_context()


def batched(fn):
    """Mark a write function that takes a list of items and returns a list of
    results: the writer merges every queued call of it into one call, so a
    burst of inbound messages becomes a few set-based statements.
    Signature: ``fn(w, items, careful) -> results``; ``careful`` is set on the
    retry after the fast attempt failed (e.g. a duplicate key)."""
    fn.batched = True
    return fn


def writes(fn):
    """Make the write function ``fn(w, *args)`` callable as ``fn(store,
    *args)``: it runs on the writer and returns after the commit. One
    decorator instead of a public wrapper and a private twin per write."""
    @functools.wraps(fn)
    def call(store, *args):
        return store.write(fn, *args)

    _, *rest = inspect.signature(fn).parameters.values()
    call.__signature__ = inspect.Signature(
        [inspect.Parameter("store", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="Store"), *rest])
    return call


class Columns:
    """Rows for one set-based statement, kept as one list per named column
    (what ``unnest(?)`` takes): ``add(id=1, name="x")`` appends a row,
    ``lists("id", "name")`` gives the columns in the statement's order."""

    __slots__ = ("_columns",)

    def __init__(self, *names: str):
        self._columns = {name: [] for name in names}

    def add(self, **values) -> None:
        if len(values) != len(self._columns):
            raise TypeError(f"a row needs exactly {', '.join(self._columns)}")
        for name, column in self._columns.items():
            column.append(values[name])

    def lists(self, *names: str) -> list[list]:
        """The columns named (all of them, in their order, when none are)."""
        return [self._columns[n] for n in names] if names else list(self._columns.values())

    def __len__(self) -> int:
        return len(next(iter(self._columns.values())))


class Writer:
    """What a write function gets: the writer's connection, its id source, and
    caches only the writer may fill (it is the only thread that writes, so
    they cannot go stale behind its back)."""

    def __init__(self, con, ids, engine: Engine):
        self.con = con
        self.ids = ids
        self.engine = engine
        self._agents: dict[int, dict] | None = None
        self._chat_keys: dict[tuple[str, str], int] | None = None
        self._added_keys: list[tuple[str, str]] = []  # this transaction's, undone on rollback
        self._recent: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()  # oldest first
        self._added_recent: list[tuple[str, str]] = []  # this transaction's, undone on rollback
        # chat id -> (status, archived, blocked, session id) as committed, and
        # this transaction's (kept on commit, dropped on rollback). Any other
        # statement that may change a chat's state forgets them all.
        self._chat_states: OrderedDict[int, tuple] = OrderedDict()  # least recently written first
        self._new_chat_states: dict[int, tuple] = {}
        self.touched: set[str] = set()
        # Tab counts (chat_tally.py): the chats this transaction moved
        # between groups, whether a statement did so without saying which,
        # and whether every group is to be read again before the commit.
        self.tally = ChatTally()
        self._moved_chats: set[int] = set()
        self._moved_unsaid = False
        self._read_all_groups = False
        # Process memory about this database that write functions may read
        # (who is at their desk: team.py). The same dict as Store.memory.
        self.memory: dict = {}

    def touch(self, topic: str) -> None:
        """Say this transaction gave a worker something to do (e.g. "outbox"),
        so that worker wakes on its topic, not on every commit."""
        self.touched.add(topic)

    def agents(self) -> dict[int, dict]:
        """Every agent by id (a handful of rows, read on every action)."""
        if self._agents is None:
            rel = self.con.execute("SELECT id, username, display_name, role, active FROM agents")
            cols = [d[0] for d in rel.description]
            self._agents = {r[0]: dict(zip(cols, r)) for r in rel.fetchall()}
        return self._agents

    def serialize(self, what: str) -> None:
        """Let only one transaction at a time (in any process) go past here
        until it ends (Engine.serialize)."""
        self.engine.serialize(self, what)

    def forget_agents(self) -> None:
        self._agents = None

    def chat_keys(self) -> dict[tuple[str, str], int]:
        """(channel, channel user id) -> chat id for every chat: an inbound
        message finds its chat without scanning the chats table."""
        if self._chat_keys is None:
            self._chat_keys = {(c, u): i for i, c, u in self.con.execute(
                "SELECT id, channel, channel_user_id FROM chats").fetchall()}
        return self._chat_keys

    def chat_ids(self, keys) -> dict[tuple[str, str], int]:
        """The chat id of each (channel, channel user id) that has a chat."""
        known = self.chat_keys()
        return {k: known[k] for k in keys if k in known}

    def add_chat_key(self, key: tuple[str, str], chat_id: int) -> None:
        self.chat_keys()[key] = chat_id
        self._added_keys.append(key)

    def recent_message(self, key: tuple[str, str]) -> tuple[int, int] | None:
        """(message id, chat id) of a recently stored message with this
        (channel, provider message id), if the writer remembers it."""
        return self._recent.get(key)

    def remember_message(self, key: tuple[str, str], message_id: int, chat_id: int) -> None:
        self._recent[key] = (message_id, chat_id)
        self._added_recent.append(key)
        while len(self._recent) > RECENT_MESSAGES:
            self._recent.popitem(last=False)  # O(1); a dict's first key is O(deleted) to find

    def chat_states(self, chat_ids) -> dict[int, tuple]:
        """(status, archived, blocked, session id) of each of these chats
        whose state the writer knows as it is now in this transaction."""
        new, kept = self._new_chat_states, self._chat_states
        return {i: state for i in chat_ids if (state := new.get(i) or kept.get(i)) is not None}

    def keep_chat_states(self, states: dict[int, tuple]) -> None:
        """Say the state each of these chats is left in by this transaction
        (ingest, which wrote it with ``keeps_chat_states=True``)."""
        self._new_chat_states.update(states)

    def forget_chat_states(self, chat_ids=None) -> None:
        """Forget what is kept of these chats' states (None: of every chat):
        a statement run with ``keeps_chat_states=True`` changed them."""
        if chat_ids is None:
            self._chat_states.clear()
            self._new_chat_states.clear()
            return
        for chat_id in chat_ids:
            self._chat_states.pop(chat_id, None)
            self._new_chat_states.pop(chat_id, None)

    def chats_changed(self, chat_ids) -> None:
        """Say which chats the statements just run inserted or changed in a
        grouped column (status, channel, archived, assignee, labels)."""
        self._moved_chats.update(chat_ids)
        self._moved_unsaid = False

    def read_tally(self) -> None:
        """Have every chat's group read in this transaction (the first
        count, a bulk load)."""
        self._read_all_groups = True

    def prepare_tally(self):
        """Before the commit: the groups this transaction moved chats into."""
        read_all = self._read_all_groups
        if self._moved_unsaid and self.tally.ready and not read_all:
            log.warning("a statement moved chats between tab groups without saying which: every group read again")
            read_all = True
        if read_all:
            return Groups.read(self.con)
        if not self._moved_chats or not self.tally.ready:
            return None
        ids = sorted(self._moved_chats)
        where, params = ids_in(ids)  # an action's one chat: 0.6 ms at 1M chats
        return moved(ids, self.con.execute(f"SELECT id, {GROUPED} FROM chats WHERE id {where}", params).fetchall())

    def _forget_moves(self) -> None:
        self._moved_chats.clear()
        self._moved_unsaid = self._read_all_groups = False

    def committed(self) -> None:
        self._forget_moves()
        kept = self._chat_states
        for chat_id, state in self._new_chat_states.items():
            kept[chat_id] = state
            kept.move_to_end(chat_id)
        while len(kept) > KEPT_CHAT_STATES:
            kept.popitem(last=False)
        self._new_chat_states.clear()
        self._added_keys.clear()
        self._added_recent.clear()
        self.touched.clear()

    def rolled_back(self) -> None:
        self._forget_moves()
        self._new_chat_states.clear()
        self._agents = None
        if self._chat_keys is not None:
            for key in self._added_keys:
                self._chat_keys.pop(key, None)
        for key in self._added_recent:
            self._recent.pop(key, None)
        self._added_keys.clear()
        self._added_recent.clear()
        self.touched.clear()

    def forget_caches(self) -> None:
        """After a bulk load: rebuild on next use."""
        self._agents = None
        self._chat_keys = None
        self.forget_chat_states()
        self._moved_unsaid = False
        self._read_all_groups = self.tally.ready

    def execute(self, sql, params=None, keeps_chat_states: bool = False):
        """``keeps_chat_states``: the caller says what this statement did to
        its chats' states (``keep_chat_states`` or ``forget_chat_states``)."""
        if changes_groups(sql):
            self._moved_unsaid = True
        if not keeps_chat_states and changes_chat_states(sql):
            self.forget_chat_states()
        if params is None:
            return self.con.execute(sql)
        return self.con.execute(self.engine.writer_sql(sql), params)

    def one(self, sql, params=None, keeps_chat_states: bool = False):
        return self.execute(sql, params, keeps_chat_states).fetchone()

    def all(self, sql, params=None, keeps_chat_states: bool = False):
        return self.execute(sql, params, keeps_chat_states).fetchall()


def _read_tally(w: Writer) -> None:
    w.read_tally()


_read_tally.quiet = True  # changes nothing a poll shows: alone, it moves no version


class Leadership:
    """``held()``: may this process run the job now? Asked before each round."""

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class DatabaseInUse(MaxchatError):
    """Another process holds the database file."""


class DamagedDatabase(MaxchatError):
    """The database file is not a Maxchat database, or is damaged."""


def damaged(path: str, what) -> DamagedDatabase:
    """What is wrong with the file and how to get the data back, in words
    (at start, instead of a traceback)."""
    detail = str(what).strip().splitlines()[0] if str(what).strip() else type(what).__name__
    return DamagedDatabase(_(
        "The file {path} is not a Maxchat database or is damaged ({detail}). Nothing was changed in it."
        " Restore the database file and the media folder from your last backup (README, \"{section}\"),"
        " or point {setting} at another file.").format(path=path, detail=detail, section="Back up",
                                                       setting="MAXCHAT_DB"))


# A DuckDB file is three 4 KB headers, then its blocks: one that ends before
# its last block in use was cut off (a copy that stopped half way, a full
# disk), and DuckDB itself would fail only when a page first reads there.
_DUCKDB_HEADERS = 3 * 4096


def _cut_short(con: duckdb.DuckDBPyConnection, path: str) -> str | None:
    """How much of the file is missing, or None when it is whole."""
    block_size, blocks = con.execute("SELECT block_size, total_blocks FROM pragma_database_size()"
                                     " WHERE database_name = current_database()").fetchone()
    size = os.path.getsize(path)
    if size >= _DUCKDB_HEADERS + block_size * blocks:
        return None  # every block is there: the usual case, one cheap query
    # Free blocks at the end need not be in the file: where is the last one in use?
    tables = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()"
                         " WHERE database_name = current_database()").fetchall()
    ids = [con.execute("SELECT max(greatest(block_id, list_max(additional_block_ids)))"
                       " FROM pragma_storage_info(?) WHERE persistent", [t]).fetchone()[0] for (t,) in tables]
    ids.append(con.execute("SELECT max(block_id) FROM pragma_metadata_info()").fetchone()[0])
    needed = _DUCKDB_HEADERS + block_size * (max((b for b in ids if b is not None), default=-1) + 1)
    return f"it is cut short: {size:,} of its {needed:,} bytes are there" if size < needed else None


# The server's database reaches nothing outside its own file: no files, URLs,
# extensions or secrets (the SQL console runs arbitrary SELECTs on it, and a
# quoted path in a FROM is a file read to DuckDB). Nothing in the process needs
# more: exports write through pyarrow, demo data arrives registered. After
# start-up the configuration is locked (``lock``); a cursor may still choose
# its own search path and time zone.
ISOLATED = {"enable_external_access": "false", "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false", "allow_community_extensions": "false",
            "allow_persistent_secrets": "false", "allow_extension_repositories": "forbidden",
            "python_enable_replacements": "false"}
# Memory a big query used goes back to the system when it ends (measured: a
# stopped 300 MB aggregate left the process 330 MB larger for good with
# DuckDB's defaults, and nothing larger within a second with these).
GIVE_BACK = {"allocator_background_threads": "true", "allocator_flush_threshold": "16MB"}


def lock(con: duckdb.DuckDBPyConnection) -> None:
    """Freeze the database's settings (ICU's TimeZone cannot be given at connect)."""
    con.execute("SET GLOBAL TimeZone='UTC'")
    con.execute("SET GLOBAL allowed_configs=['search_path', 'TimeZone']")
    con.execute("SET lock_configuration=true")


def connect_file(path: str, read_only: bool = False, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(path, read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise damaged(path, exc) from None
        # DuckDB's own words name the other process (its PID): keep them.
        raise DatabaseInUse(_(
            "The database {path} is in use by another process: one Maxchat server owns its file."
            " Stop that server first, or use another {setting}. ({error})").format(path=path, setting="MAXCHAT_DB",
                                                                                 error=exc)) from None
    except duckdb.Error as exc:
        raise damaged(path, exc) from None
    try:
        missing = _cut_short(con, path)
        if missing:
            raise damaged(path, missing)
    except BaseException as exc:
        con.close()
        if isinstance(exc, (duckdb.Error, OSError)):
            raise damaged(path, exc) from None
        raise
    return con


def in_list(name: str, values) -> tuple[str, dict]:
    """``IN ($name0, $name1, ...)`` and its parameters: works on both engines
    and is faster in DuckDB than ``= ANY`` of an array parameter."""
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return "IN (" + ", ".join("$" + k for k in params) + ")", params


def ids_in(ids: list[int]) -> tuple[str, list]:
    """``IN (...)`` of row ids and its parameters: a few ids as a list, which
    DuckDB's primary-key index serves (100k chats, 16 ids: 1.7-1.8 ms
    instead of 2.2-2.5 as a join), many as a join on an array (500 ids:
    3.2 ms instead of 8 as a list)."""
    if len(ids) <= 32:
        return f"IN ({', '.join('?' * len(ids))})", list(ids)
    return "IN (SELECT unnest(?::BIGINT[]))", [list(ids)]


def is_database_url(where) -> bool:
    return str(where).startswith(("postgresql://", "postgres://"))


def pending(folder: Path, done: set[int]) -> list[tuple[int, Path]]:
    """The migrations of ``folder`` not applied yet, in order: (version, file)."""
    files = ((int(f.name.split("_", 1)[0]), f) for f in folder.glob("*.sql"))
    return sorted((version, f) for version, f in files if version not in done)


class Store:
    """One DuckDB file owned by this process (PgStore: the PostgreSQL twin)."""

    engine: Engine = DUCKDB

    def __init__(self, path: str | os.PathLike, media_dir: str | os.PathLike | None = None,
                 progress: Report | None = None):
        """``progress`` hears (migrations applied, migrations to apply) while
        the schema is brought up to date."""
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.media_dir = Path(media_dir or Path(self.path).parent / "media")
        self.media_dir.mkdir(parents=True, exist_ok=True)
        # DuckDB checkpoints inside a commit once the WAL passes the threshold;
        # at the default 16 MB that stalls the writer every few seconds under
        # load (the webhook p99). A larger WAL costs only replay time at start.
        memory = config.get("MAXCHAT_DUCKDB_MEMORY")  # DuckDB's own limit (default: 80% of the RAM)
        self._con = connect_file(self.path, config={**ISOLATED, **GIVE_BACK, "checkpoint_threshold": "256MB",
                                                    **({"memory_limit": memory} if memory else {})})
        try:
            lock(self._con)
            self._migrate(progress)
        except BaseException as exc:
            self._con.close()
            if isinstance(exc, duckdb.Error):  # a catalog or block that cannot be read
                raise damaged(self.path, exc) from None
            raise
        self._init_state()
        self._writer_con = self._con.cursor()
        self._writer_con.execute("SET TimeZone='UTC'")
        self._start_writer(Writer(self._writer_con, Ids(self._writer_con), self.engine))

    def _init_state(self) -> None:
        self._queue: queue.Queue[Job | None] = queue.Queue()
        # Bumped by the writer thread after its commits and, on PostgreSQL,
        # by the listener thread for other replicas' commits: a ``+= 1`` is a
        # read and a write, and two threads interleaving them lose a bump.
        self._version = 0
        self._topics: dict[str, int] = {}
        self._news_lock = threading.Lock()
        self._closed = False
        self._chores: list[list] = []  # [fn, every_s, last run]

    def _start_writer(self, w: Writer) -> None:
        self._w = w
        self.memory = w.memory
        self._thread = threading.Thread(target=self._run, name="maxchat-writer", daemon=True)
        self._thread.start()

    # ---- migrations -------------------------------------------------------
    def _migrate(self, progress: Report | None = None) -> None:
        con = self._con
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()"
                                            " WHERE database_name = current_database()").fetchall()}
        if tables and "schema_migrations" not in tables:
            # Another program's DuckDB file: never add the inbox's tables to it.
            raise damaged(self.path, _("it holds tables of another program ({tables}) and none of Maxchat's").format(
                tables=", ".join(sorted(tables)[:3]) + (", …" if len(tables) > 3 else "")))
        con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
        done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
        for n, (version, f) in enumerate(steps := pending(MIGRATIONS_DIR, done)):
            if progress:
                progress(n, len(steps))
            con.execute("BEGIN")
            try:
                con.execute(f.read_text())
                con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, utcnow()])
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            log.info("applied migration %s", f.name)
        if steps:
            con.execute("CHECKPOINT")
            if progress:
                progress(len(steps), len(steps))

    # ---- reads ------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for the calling thread: never share one."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone='UTC'")
        return cur

    def all(self, sql: str, params: list | None = None) -> list[tuple]:
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()

    def one(self, sql: str, params: list | None = None):
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).fetchone()
        finally:
            cur.close()

    def dicts(self, sql: str, params: list | None = None) -> list[dict]:
        cur = self.cursor()
        try:
            rel = cur.execute(sql, params or [])
            cols = [d[0] for d in rel.description]
            return [dict(zip(cols, row)) for row in rel.fetchall()]
        finally:
            cur.close()

    def chat_tally(self) -> ChatTally | None:
        """The writer's tab counts (chat_tally.py), read on first use; None
        where another process may write (PostgreSQL replicas)."""
        if not self.engine.one_process:
            return None
        tally = self._w.tally
        if not tally.ready:
            self.write(_read_tally)
        return tally

    def topic_version(self, topic: str) -> int:
        """Bumped after a commit that touched ``topic`` (Writer.touch)."""
        return self._topics.get(topic, 0)

    @property
    def version(self) -> int:
        """Bumped after every commit: a poll compares it with what it saw
        last and reads nothing when it has not moved (an O(1) question)."""
        return self._version

    # ---- writes -----------------------------------------------------------
    def submit(self, fn: Callable, *args) -> Future:
        if self._closed:
            raise RuntimeError("store is closed")
        job = Job(fn, args, getattr(fn, "batched", False))
        self._queue.put(job)
        return job.future

    def leadership(self, name: str) -> "Leadership":
        """Who runs a job that must run in one process only (Telegram polling,
        the template sync): with one DuckDB file, always this process."""
        return Leadership()

    def every(self, seconds: float, fn: Callable) -> None:
        """Have the writer run ``fn(writer)`` in a transaction of its own at
        most every ``seconds`` while writes come in, and when they stop:
        upkeep that is cheaper done for many writes at once."""
        self._chores.append([fn, seconds, 0.0])

    def write(self, fn: Callable, *args, timeout: float | None = 60) -> Any:
        """Run ``fn(writer, *args)`` on the writer thread; return after commit."""
        return self.submit(fn, *args).result(timeout)

    def _run(self) -> None:
        dirty = False
        while True:
            try:
                job = self._queue.get(timeout=IDLE_CHECKPOINT_S if dirty else None)
            except queue.Empty:
                # Quiet for a while: fold the WAL into the file now, so the
                # checkpoint does not land inside a busy commit later.
                self._do_chores(due_only=False)
                self._checkpoint()
                dirty = False
                continue
            if job is None:
                self._do_chores(due_only=False)  # a restart then finds the upkeep done
                break
            dirty = True
            group = [job]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._commit_group(group)
            self._do_chores(due_only=True)
            if stop:
                break

    def _do_chores(self, due_only: bool) -> None:
        now = time.monotonic()
        for chore in self._chores:
            fn, every, last = chore
            if due_only and now - last < every:
                continue
            chore[2] = now
            try:
                self._transaction([(fn, [Job(fn, (), False)])], True, news=False)
            except Exception:  # upkeep: tried again next time
                log.exception("chore failed: %s", getattr(fn, "__name__", fn))

    def _checkpoint(self) -> None:
        try:
            self._w.con.execute("CHECKPOINT")
        except Exception:  # a reader holding an old snapshot: try next idle time
            log.debug("idle checkpoint skipped", exc_info=True)

    def _commit_group(self, group: list[Job]) -> None:
        # Same batched function -> one call with all items.
        units: list[tuple[Callable, list[Job]]] = []
        by_fn: dict[Callable, list[Job]] = {}
        for job in group:
            if job.batched:
                if job.fn not in by_fn:
                    by_fn[job.fn] = []
                    units.append((job.fn, by_fn[job.fn]))
                by_fn[job.fn].append(job)
            else:
                units.append((job.fn, [job]))
        for careful in (False, True):
            try:
                outcomes = self._transaction(units, careful)
            except Exception:  # retried below, then reported per job
                log.debug("group of %d failed (careful=%s); retrying", len(group), careful, exc_info=True)
                continue
            self._deliver(outcomes)
            return
        # Last resort: each job alone, so one bad job fails only its caller.
        for fn, jobs in units:
            for job in jobs:
                try:
                    outcomes = self._transaction([(fn, [job])], True)
                except Exception as exc:
                    log.exception("write failed: %s", getattr(fn, "__name__", fn))
                    job.future.set_exception(exc)
                else:
                    self._deliver(outcomes)

    def _transaction(self, units, careful, news=True):
        w = self._w
        news = news and not all(getattr(fn, "quiet", False) for fn, _ in units)
        outcomes = []
        self._begin(w)
        try:
            for fn, jobs in units:
                if jobs[0].batched:
                    items = [j.args[0] for j in jobs]
                    results = fn(w, items, careful)
                    outcomes.extend((j, True, r) for j, r in zip(jobs, results))
                else:
                    job = jobs[0]
                    try:
                        outcomes.append((job, True, job.context.run(fn, w, *job.args)))
                    except MaxchatError as exc:
                        # Refused before writing anything: the batch goes on.
                        outcomes.append((job, False, exc))
            if news:
                self._announce(w)
            groups = w.prepare_tally()
            w.con.execute("COMMIT")
        except BaseException:
            try:
                w.con.execute("ROLLBACK")
            except Exception:  # noqa: BLE001
                pass
            w.rolled_back()
            raise
        w.tally.committed(groups)  # before the version moves: a reader of the new version counts the new groups
        self._bump(w.touched, news)  # upkeep (news=False) changes nothing a poll shows
        w.committed()
        return outcomes

    def _bump(self, topics, version: bool = True) -> None:
        """A commit happened: count it on ``version`` and on each topic it touched."""
        with self._news_lock:
            for topic in topics:
                self._topics[topic] = self._topics.get(topic, 0) + 1
            if version:
                self._version += 1

    def _begin(self, w: Writer) -> None:
        w.con.execute("BEGIN")

    def _announce(self, w: Writer) -> None:
        """Tell other processes about this transaction (none share a DuckDB file)."""

    @staticmethod
    def _deliver(outcomes) -> None:
        for job, ok, value in outcomes:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    def _stop_writer(self) -> bool:
        """Let the writer finish what is queued; False when already closed."""
        if self._closed:
            return False
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=30)
        return True

    def close(self) -> None:
        if not self._stop_writer():
            return
        try:
            self._con.execute("CHECKPOINT")
        except Exception:  # noqa: BLE001
            pass
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

