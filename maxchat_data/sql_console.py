"""D4: the read-only SQL console for analysts and admins.

A query may read the documented views and nothing else, and may not take
the server's memory. Each guarantee holds in two places, so one mistake is
not enough to break it.

What it may read:
1. The check, by DuckDB's own parser for both backends (PostgreSQL's grammar
   underneath), walking the syntax tree from ``json_serialize_sql``:
   - exactly one SELECT;
   - every table it names is one of the views in the ``console`` schema
     (migration 005, no secrets) or a WITH query in scope there: a WITH name
     is valid in its own query and below, in the WITH queries after it, and
     inside itself only when recursive; never in a sibling or outer query;
   - names are plain identifiers: DuckDB reads ``FROM 'x.csv'`` or
     ``FROM "/etc/passwd"`` as a file when no table has that name;
   - table functions only a few generators; functions that reach files,
     settings, sequences or other tables, or run SQL text, are refused; so
     are qualified function names and sizes that are not written out.
2. The engine: on DuckDB the database has no external access at all (files,
   URLs, extensions, secrets) and its configuration is locked (store.py),
   and the query runs in a read-only transaction; on PostgreSQL the query runs in a READ ONLY transaction, as a declared
   cursor (a SELECT only), as the ``maxchat_console`` role, which may read the
   views and nothing else (no file functions, no other table).

Times: the database's times are UTC; beside each TIMESTAMPTZ column of a
result comes ``<name>_local``, the same instants in the team's timezone
(MAXCHAT_TIMEZONE), so a person compares them with what the other pages
show. It is added in pandas after the fetch: the query runs as written.

How much it may take: one console query runs at a time in a process (four
hostile ones cost what one does); its time is limited (the query is
interrupted); rows are fetched in small batches until the row or byte limit;
one value is cut at ``VALUE_LIMIT`` characters; sizes it builds are written
out and small; on DuckDB a watchdog stops the query when the memory DuckDB
holds for queries grows past ``MEMORY_LIMIT`` (DuckDB's own limit is for
the whole database, so it cannot be the console's).
Errors never tell whether a path exists: the check refuses a path before
anything runs, and the engine's refusal is reported in the same words.
"""
from __future__ import annotations

import contextvars
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from . import config, facts, i18n
from .errors import NotAllowed, ValidationError
from .i18n import N_, _
from .pg_store import CONSOLE_ROLE as PG_ROLE
from .roles import can_use_sql
from .store import ISOLATED, Store, lock

ROW_LIMIT = 5000
BYTE_LIMIT = 8 * 1024 * 1024       # what one result may hold
VALUE_LIMIT = 10_000                # characters of one value
MEMORY_LIMIT = 256 * 1024 * 1024    # DuckDB's working memory one query may add
TIME_LIMIT_S = 10.0
BATCH_ROWS = 256
SCHEMA = "console"
# The documented views: name -> (what a row is, columns).
VIEWS = {  # what a row is: marked, shown with _()
    "chats": (N_("one contact on one channel"), "id, contact_id, channel, channel_user_id, contact_name, status, "
              "assignee_id, archived, blocked, label_ids, unread, last_message_at, last_direction, "
              "last_inbound_at, session_id, created_at"),
    "sessions": (N_("one conversation: from a first message after new/Resolved to its resolution; its first response "
                    "is the first reply a human agent sent (never a template or BOT message), first_response_s the "
                    "first response time Reports counts (user-initiated sessions)"),
                 "id, chat_id, initiated_by, started_at, first_customer_at, first_response_at, "
                 "first_response_agent_id, first_response_s, resolved_at, resolved_by"),
    "messages": (N_("one message or activity line (direction in/out/activity; sender_agent_id NULL on out = BOT)"),
                 "id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption, template_id, "
                 "status, error, sent_at, created_at"),
    "events": (N_("who did what, when (actor_id NULL = BOT/system)"),
               "id, chat_id, actor_id, action, details, created_at"),
    "labels": (N_("a label (contacts' labels are chats.label_ids; color is a palette name)"),
               "id, name, color, created_at"),
    "agents": (N_("a team member, without any secret"), "id, username, display_name, role, active, created_at"),
}
SAFE_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Functions that reach outside the views: files, settings, the environment,
# sequences, the catalog, logs; and those that run SQL text.
_REFUSED_FUNCTIONS = ("read_", "glob", "getenv", "current_setting", "getvariable", "query", "nextval", "currval",
                      "pragma_", "duckdb_", "sniff_csv", "parquet_", "json_execute_serialized_sql", "sql_auto",
                      "load", "install", "iceberg", "delta", "http", "file", "which_secret", "setseed",
                      "add_parquet_key", "write_log", "sleep", "has_", "col_description", "obj_description",
                      "shobj_description", "get_block_size", "checkpoint", "force_checkpoint", "array_fill",
                      # PostgreSQL's: files, sleeps, locks, signals, settings, large objects, other
                      # databases, and those that run SQL text or read a table by name.
                      "pg_", "set_config", "setval", "lo_", "loread", "lowrite", "dblink", "query_to_xml",
                      "table_to_xml", "cursor_to_xml", "schema_to_xml", "database_to_xml", "ts_stat", "ts_rewrite")
# Functions whose result grows with a number they are given: the number must
# be written out and keep one value within VALUE_LIMIT (a list within
# LIST_LIMIT items). name -> (index of the size argument, of the text argument
# whose length multiplies it, or None).
_SIZED = {"repeat": (1, 0), "lpad": (1, None), "rpad": (1, None), "bar": (3, None),
          "list_resize": (1, None), "array_resize": (1, None)}
_RANGES = ("range", "generate_series")  # as a value: a list of every number
_FORMATS = ("printf", "format")
LIST_LIMIT = 100_000
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WIDE_FORMAT = re.compile(r"\d{5,}|\*|\{[^}]*\{")
_TABLE_REFS = {"BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EMPTY", "EXPRESSION_LIST", "PIVOT", "SHOW_REF"}
REFUSED_ACCESS = N_("The console reads only its views: no files, URLs, extensions, settings or other tables.")


@dataclass
class Result:
    frame: pd.DataFrame
    truncated: bool                 # rows were left out (the row or the byte limit)
    seconds: float
    cut: str = ""                   # what was cut, in words ("" when nothing)
    local_columns: list[str] = field(default_factory=list)  # the team-time columns added beside UTC ones
    timezone: str = "UTC"           # theirs


LOCAL_SUFFIX = "_local"


def zone_label(tz: ZoneInfo, at: datetime | None = None) -> str:
    """``Asia/Jakarta (UTC+07:00)``: the zone and its offset (now, or at ``at``)."""
    offset = (at or datetime.now(tz)).astimezone(tz).strftime("%z")
    return f"{tz.key} (UTC{offset[:3]}:{offset[3:]})"


def unique_names(names) -> list[str]:
    """A result's column names, each once, for a table or a file: a repeated
    name gets its number (``n``, ``n (2)``); the user's query may repeat one."""
    seen: dict = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _beside_utc(frame: pd.DataFrame, zoned: list[bool], tz: ZoneInfo) -> list[str]:
    """Insert, right after each zoned (TIMESTAMPTZ) column, the same times in
    ``tz`` named ``<name>_local``; returns the names added. By position: the
    user's names may repeat."""
    added = []
    for i in reversed([i for i, z in enumerate(zoned) if z]):
        name = f"{frame.columns[i]}{LOCAL_SUFFIX}"
        utc = pd.to_datetime(frame.iloc[:, i], utc=True)  # PostgreSQL's rows may come as objects
        frame.isetitem(i, utc)
        frame.insert(i + 1, name, utc.dt.tz_convert(tz), allow_duplicates=True)
        added.append(name)
    return added[::-1]


def _literal(arg) -> object:
    """The value of an argument written out (a number or a string), else None."""
    expr = arg.get("expression", arg) if isinstance(arg, dict) else None
    if not isinstance(expr, dict) or expr.get("class") != "CONSTANT":
        return None
    literal = expr.get("literal") or {}
    text = literal.get("text")
    if literal.get("kind") == "STRING":
        return text
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class _Check:
    """One walk over the syntax tree, with the WITH names in scope."""

    def __init__(self, real_tables: set[str]):
        self.real_tables = real_tables

    def walk(self, node, scope: frozenset, key: str = "") -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, scope, key)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if key in ("from_table", "source", "left", "right") and "class" not in node and kind not in _TABLE_REFS \
                and not str(kind).endswith("_NODE"):
            raise NotAllowed(_("This kind of table ({kind}) is not allowed in the console.").format(kind=kind))
        entries = (node.get("cte_map") or {}).get("map") or []
        if entries:
            visible = set(scope)
            for entry in entries:
                name = str(entry.get("key", ""))
                self.cte_name(name)
                # Its own query sees the WITH queries before it, not itself
                # (a recursive one sees itself through its RECURSIVE_CTE_NODE).
                self.walk(entry.get("value"), frozenset(visible), "cte")
                visible.add(name.lower())
            scope = frozenset(visible)
        if kind == "RECURSIVE_CTE_NODE":
            scope = scope | {str(node.get("cte_name", "")).lower()}
        if kind == "BASE_TABLE":
            self.table(node, scope)
        elif kind == "SHOW_REF":
            self.show(node)
        elif kind == "TABLE_FUNCTION":
            self.table_function(node, scope)
            return
        if "function_name" in node:
            self.function(node)
        for k, value in node.items():
            if k != "cte_map":
                self.walk(value, scope, k)

    def cte_name(self, name: str) -> None:
        if not _PLAIN_NAME.match(name):
            raise NotAllowed(_("Name WITH queries with letters, digits and _ only (not {name}).")
                             .format(name=repr(name)))
        if name.lower() in self.real_tables - VIEWS.keys():  # never a table's name, should scoping ever slip
            raise NotAllowed(_("Name your WITH queries differently from the app's tables ({name}).").format(name=name))

    def table(self, node: dict, scope: frozenset) -> None:
        catalog, schema, name = (str(node.get(k) or "") for k in ("catalog_name", "schema_name", "table_name"))
        shown = ".".join(p for p in (catalog, schema, name) if p)
        plain = bool(_PLAIN_NAME.match(name))
        if not catalog and plain and schema.lower() == SCHEMA and name.lower() in VIEWS:
            return
        if not catalog and not schema and plain and (name.lower() in VIEWS or name.lower() in scope):
            return
        raise NotAllowed(_("{name} is not one of the console's views: use {views} (or a WITH query named before).")
                         .format(name=repr(shown), views=", ".join(VIEWS)))

    def show(self, node: dict) -> None:
        if node.get("query") is not None and node.get("show_type") in ("DESCRIBE", "SUMMARY"):
            return  # the query inside is walked like any other
        name = str(node.get("table_name") or "")
        if node.get("show_type") in ("SHOW", "DESCRIBE") and name.lower() in VIEWS and _PLAIN_NAME.match(name):
            return
        raise NotAllowed(_("Only DESCRIBE or SUMMARIZE of the console's views is allowed ({views}).")
                         .format(views=", ".join(VIEWS)))

    def table_function(self, node: dict, scope: frozenset) -> None:
        fn = node.get("function") or {}
        name = str(fn.get("function_name", "")).lower()
        if name not in SAFE_TABLE_FUNCTIONS or fn.get("schema") or fn.get("catalog"):
            raise NotAllowed(_("The table function {name}() is not allowed: the console reads only its views "
                               "(no files, URLs or settings); {allowed} are.")
                             .format(name=name, allowed=", ".join(sorted(SAFE_TABLE_FUNCTIONS))))
        for k, value in node.items():
            if k == "function":
                self.walk(fn.get("arguments"), scope, "arguments")
                self.walk(fn.get("children"), scope, "arguments")
            else:
                self.walk(value, scope, k)

    def function(self, node: dict) -> None:
        name = str(node["function_name"]).lower()
        if node.get("schema") or node.get("catalog"):
            raise NotAllowed(_("Write functions without a schema ({name}()).").format(name=name))
        if name.startswith(_REFUSED_FUNCTIONS):
            raise NotAllowed(_("The function {name}() is not allowed in the console.").format(name=name))
        args = node.get("arguments") or node.get("children") or []
        if name in _SIZED:
            self.sized(name, args)
        elif name in _RANGES:
            self.range_list(name, args)
        elif name in _FORMATS:
            pattern = _literal(args[0]) if args else None
            if not isinstance(pattern, str) or _WIDE_FORMAT.search(pattern):
                raise NotAllowed(_("{name}() takes its format written out in the console, with widths under {limit}.")
                                 .format(name=name, limit=i18n.number(10_000)))

    @staticmethod
    def sized(name: str, args: list) -> None:
        size_at, text_at = _SIZED[name]
        size = _literal(args[size_at]) if size_at is not None and len(args) > size_at else None
        if size_at is not None and len(args) <= size_at and name == "bar":
            return  # bar()'s default width (80)
        text = _literal(args[text_at]) if text_at is not None and len(args) > text_at else ""
        limit = LIST_LIMIT if "resize" in name else VALUE_LIMIT
        if not isinstance(size, float) or not isinstance(text, str) or size * max(len(text), 1) > limit:
            if "resize" in name:
                says = N_("{name}() in the console takes its size written out, and builds at most {limit} items.")
            elif text_at is not None:
                says = N_("{name}() in the console takes its size written out, and builds at most {limit} "
                          "characters from text written out.")
            else:
                says = N_("{name}() in the console takes its size written out, and builds at most {limit} "
                          "characters.")
            raise NotAllowed(_(says).format(name=name, limit=i18n.number(limit)))

    @staticmethod
    def range_list(name: str, args: list) -> None:
        values = [_literal(a) for a in args]
        if values and all(isinstance(v, float) for v in values):
            start, stop, step = (values + [1.0])[:3] if len(values) > 1 else (0.0, values[0], 1.0)
            if step and (stop - start) / step <= LIST_LIMIT:
                return
        raise NotAllowed(_("{name}() as a value takes numbers written out and makes at most {limit} items in the "
                           "console; for rows write FROM {name}(...).")
                         .format(name=name, limit=i18n.number(LIST_LIMIT)))


def check(cur: duckdb.DuckDBPyConnection, sql: str, real_tables: set[str]) -> None:
    """Refuse, with a clear message, anything but one SELECT over the views."""
    sql = (sql or "").strip()
    if not sql:
        raise ValidationError(_("Write a query first."))
    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as exc:
        raise ValidationError(_("That is not valid SQL: {error}").format(error=exc)) from None
    if len(statements) != 1:
        raise NotAllowed(_("One statement at a time: the console runs a single SELECT."))
    if statements[0].type != duckdb.StatementType.SELECT:
        raise NotAllowed(_("Only SELECT queries are allowed here (this is {kind}). The console is read-only.")
                         .format(kind=statements[0].type.name))
    tree = json.loads(cur.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    if tree.get("error"):
        raise NotAllowed(_("Only plain SELECT queries are allowed here: {error}")
                         .format(error=tree.get("error_message")))
    _Check(real_tables).walk(tree["statements"], frozenset())


def _stopped(time_limit: float) -> NotAllowed:
    return NotAllowed(_("The query ran longer than {seconds} s and was stopped. Narrow it (a WHERE on a time "
                        "column, fewer joins) or aggregate first.").format(seconds=i18n.number(time_limit)))


def _too_big() -> NotAllowed:
    return NotAllowed(_("The query needed more than {megabytes} MB of memory and was stopped. Aggregate first, "
                        "add a LIMIT, or select fewer or shorter columns.")
                      .format(megabytes=i18n.number(MEMORY_LIMIT // 2**20)))


_one_at_a_time = threading.Lock()


def _parser() -> duckdb.DuckDBPyConnection:
    """A DuckDB to parse with: it holds no data and reaches nothing."""
    parser = duckdb.connect(config=ISOLATED)
    try:
        lock(parser)
    except BaseException:
        parser.close()
        raise
    return parser


def run_query(store: Store, role: str, sql: str, *, row_limit: int = ROW_LIMIT,
              time_limit: float = TIME_LIMIT_S, byte_limit: int = BYTE_LIMIT, tz: ZoneInfo | None = None) -> Result:
    """Run an analyst's query read-only, within the limits above; times with
    a zone also in ``tz`` (default: the team's timezone), beside the UTC ones."""
    tz = tz or config.team_timezone()
    if not can_use_sql(role):
        raise NotAllowed(_("The SQL console is for analysts and admins."))
    facts.catch_up(store)  # the sessions view's figures include every message committed, as Reports' do
    real = {n.lower() for (n,) in store.all(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    # DuckDB checks the query on either engine: the store's own cursor, or
    # beside PostgreSQL a DuckDB that holds no data.
    parser, run = store.engine.pick(duckdb=(store.cursor, _run_duckdb), postgresql=(_parser, _run_postgresql))
    cur = parser()
    try:
        check(cur, sql, real)
    finally:
        cur.close()
    # One at a time: four hostile queries cost what one does.
    if not _one_at_a_time.acquire(timeout=time_limit):
        raise NotAllowed(_("The console is busy with another query; try again in a moment."))
    try:
        result, zoned = run(store, sql, row_limit, time_limit, byte_limit)
    finally:
        _one_at_a_time.release()
    result.local_columns = _beside_utc(result.frame, zoned, tz)
    result.timezone = zone_label(tz)
    return result


class _Fetched:
    """Rows taken batch by batch until the row or the byte limit, long text
    values cut: Arrow batches from DuckDB, lists of rows from PostgreSQL."""

    def __init__(self, row_limit: int, byte_limit: int):
        self.row_limit, self.byte_limit = row_limit, byte_limit
        self.batches: list[pa.RecordBatch] = []
        self.rows: list[tuple] = []
        self.count = self.bytes = 0
        self.more = False                # rows were left out
        self.by_bytes = False
        self.long_values = False

    def _room(self, size: int) -> bool:
        if self.count >= self.row_limit:
            self.more = True
            return False
        if self.bytes + size > self.byte_limit and self.count:
            self.more = self.by_bytes = True
            return False
        return True

    def add_batch(self, batch: pa.RecordBatch) -> bool:
        """Keep what fits of an Arrow batch; False once full."""
        if batch.num_rows == 0:
            return True
        if not self._room(0):
            return False
        batch = self._shorten(batch)
        fits = min(self.row_limit - self.count,
                   int((self.byte_limit - self.bytes) // max(batch.nbytes / batch.num_rows, 1)))
        if fits < batch.num_rows:
            self.more = True
            self.by_bytes = fits < self.row_limit - self.count
            batch = batch.slice(0, max(fits, 0 if self.count else 1))  # the first row always shows
        self.batches.append(batch)
        self.count += batch.num_rows
        self.bytes += batch.nbytes
        return not self.more

    def add_row(self, row: tuple) -> bool:
        """Keep a row from PostgreSQL if it fits; False once full."""
        row = tuple(self._cut(v) if isinstance(v, str) else v for v in row)
        if not self._room(sum(len(v) if isinstance(v, (str, bytes)) else 16 for v in row)):
            return False
        self.rows.append(row)
        self.count += 1
        self.bytes += sum(len(v) if isinstance(v, (str, bytes)) else 16 for v in row)
        return True

    def _cut(self, value: str) -> str:
        if len(value) > VALUE_LIMIT:
            self.long_values = True
            return value[:VALUE_LIMIT]
        return value

    def _shorten(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = []
        for column in batch.columns:
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                long = pc.greater(pc.utf8_length(column), VALUE_LIMIT)
                if pc.any(long).as_py():
                    self.long_values = True
                    column = pc.if_else(long, pc.utf8_slice_codeunits(column, 0, VALUE_LIMIT), column)
            columns.append(column)
        return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

    def result(self, names: list[str], seconds: float) -> Result:
        if self.batches:
            table = pa.Table.from_batches(self.batches)
            frame = table.to_pandas()
            for i, field in enumerate(table.schema):
                if pa.types.is_nested(field.type):  # lists and structs as Python's, not NumPy's
                    frame[frame.columns[i]] = table.column(i).to_pylist()
            frame.columns = names
        else:
            frame = pd.DataFrame(self.rows, columns=names)
        cut = []
        if self.more:
            cut.append(_("cut at {megabytes} MB").format(megabytes=i18n.number(self.byte_limit / 2**20))
                       if self.by_bytes else
                       _("cut at the {rows}-row limit").format(rows=i18n.number(self.row_limit)))
        if self.long_values:
            cut.append(_("values longer than {characters} characters cut").format(characters=i18n.number(VALUE_LIMIT)))
        return Result(frame, self.more, seconds, "; ".join(cut))


def _capped(sql: str, names: list[str], text: list[bool], row_limit: int) -> str:
    """The query as it runs: each text value cut one character past the
    limit (so a cut shows), no more rows than are kept (an ORDER BY without
    LIMIT becomes a top-N, not a sort of everything), DuckDB and PostgreSQL
    alike; columns by position, as the user's names may repeat."""
    cols = ", ".join(f"left(CAST(q.c{i} AS VARCHAR), {VALUE_LIMIT + 1})" if is_text else f"q.c{i}"
                     for i, is_text in enumerate(text))
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    return f"SELECT {cols} FROM (\n{sql.strip().rstrip(';')}\n) AS q({aliases}) LIMIT {row_limit + 1}"


# DuckDB's cache of the tables: it evicts that on its own when memory is short.
_CACHE_TAGS = ('BASE_TABLE', 'ART_INDEX', 'METADATA', 'OVERFLOW_STRINGS', 'EXTERNAL_FILE_CACHE', 'OBJECT_CACHE')
QUIET_S = 5.0          # this long after the last console query, the process is at rest again
SETTLE_S = 3.0         # at most this long a query waits for the last one's memory to go back


class _Memory:
    """What a console query costs the process, two ways:
    - ``query()``: the memory DuckDB holds for queries (aggregates, sorts,
      joins, lists), exactly, but not what it does not count (the rows of
      one step, strings being built);
    - ``process()``: the process's resident memory beyond DuckDB's cache
      of the tables, against the process at rest (measured when no console
      query ran for ``QUIET_S``): DuckDB's allocator gives memory back
      about a second after a query ends, so back-to-back queries would
      otherwise stack up. Each may grow by ``MEMORY_LIMIT``."""

    rest: int | None = None
    quiet_from = 0.0

    def __init__(self, probe: duckdb.DuckDBPyConnection):
        self.probe = probe

    def _sizes(self) -> tuple[int, int]:
        rows = self.probe.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory()").fetchall()
        with open("/proc/self/statm") as f:
            resident = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        cache = sum(n for tag, n in rows if tag in _CACHE_TAGS)
        return sum(n for tag, n in rows if tag not in _CACHE_TAGS), resident - cache

    def settle(self) -> None:
        """Take the measure before a query (after the last one's memory went back)."""
        _, process = self._sizes()
        if _Memory.rest is None or time.monotonic() > _Memory.quiet_from:
            _Memory.rest = process
        give_up = time.monotonic() + SETTLE_S
        while process > _Memory.rest + MEMORY_LIMIT // 4:
            if time.monotonic() > give_up:  # not the last query's: the process grew
                _Memory.rest = process
                break
            time.sleep(0.05)
            _, process = self._sizes()
        self.query_start = self._sizes()[0]

    def too_much(self) -> bool:
        query, process = self._sizes()
        return query - self.query_start > MEMORY_LIMIT or process - _Memory.rest > MEMORY_LIMIT * 3 // 2

    @staticmethod
    def done() -> None:
        _Memory.quiet_from = time.monotonic() + QUIET_S


def _run_duckdb(store: Store, sql: str, row_limit: int = ROW_LIMIT, time_limit: float = TIME_LIMIT_S,
                byte_limit: int = BYTE_LIMIT) -> tuple[Result, list[bool]]:
    """The result, and which of its columns are TIMESTAMPTZ."""
    cur, probe = store.cursor(), store.cursor()
    try:
        cur.execute(f"SET search_path = '{SCHEMA}'")  # this cursor only: bare names are the views
        cur.execute("BEGIN TRANSACTION READ ONLY")     # closing the cursor ends it
        box: dict = {}
        fetched = _Fetched(row_limit, byte_limit)

        def work():
            try:
                rel = cur.sql(sql)
                if rel is None:  # a statement, run already (and refused by the read-only transaction)
                    raise NotAllowed(_("Only SELECT queries are allowed here."))
                names = list(rel.columns)
                box["names"] = names
                box["zoned"] = [str(t) == "TIMESTAMP WITH TIME ZONE" for t in rel.types]
                # Intervals as text too ("3 days"): Arrow would make them offsets.
                capped = _capped(sql, names, [str(t) in ("VARCHAR", "JSON", "INTERVAL") for t in rel.types], row_limit)
                check(cur, capped, set())  # what runs is what was checked, plus the cut
                for batch in cur.sql(capped).to_arrow_reader(BATCH_ROWS):
                    if not fetched.add_batch(batch):
                        break
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc

        memory = _Memory(probe)
        memory.settle()
        started = time.perf_counter()
        # In the caller's context: its refusals speak the caller's language.
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="sql-console", daemon=True)
        thread.start()
        stop = None
        while thread.is_alive() and stop is None:
            thread.join(0.02)
            if time.perf_counter() - started > time_limit:
                stop = _stopped(time_limit)
            else:
                try:
                    if memory.too_much():
                        stop = _too_big()
                except duckdb.Error:  # no memory left even to ask
                    stop = _too_big()
        if stop is not None:
            cur.interrupt()
            thread.join(30)
            raise stop
        if "error" in box:
            raise _failed(box["error"])
        return fetched.result(box["names"], time.perf_counter() - started), box["zoned"]
    finally:
        _Memory.done()
        probe.close()
        cur.close()


def _failed(exc: BaseException) -> Exception:
    if isinstance(exc, duckdb.PermissionException):
        return NotAllowed(_(REFUSED_ACCESS))  # never the path: the same words whether it exists or not
    if isinstance(exc, duckdb.OutOfMemoryException):
        return _too_big()
    if isinstance(exc, duckdb.Error):
        return ValidationError(_("The query failed: {error}").format(error=exc))
    return exc


_TEXT_TYPES = {"text", "varchar", "bpchar", "json", "jsonb", "xml", "name"}


def _run_postgresql(store: Store, sql: str, row_limit: int = ROW_LIMIT, time_limit: float = TIME_LIMIT_S,
                    byte_limit: int = BYTE_LIMIT) -> tuple[Result, list[bool]]:
    """The result, and which of its columns are TIMESTAMPTZ."""
    cur = store.cursor()
    started = time.perf_counter()
    fetched = _Fetched(row_limit, byte_limit)
    try:
        cur.execute("BEGIN READ ONLY")
        cur.execute(f"SET LOCAL statement_timeout = {max(1, int(time_limit * 1000))}")
        cur.execute(f"SET LOCAL search_path = {SCHEMA}")
        # Backslashes mean the same to both parsers only with this on (the default).
        cur.execute("SET LOCAL standard_conforming_strings = on")
        try:
            # Reads the views and nothing else: no file functions, no other table.
            cur.execute(f"SET LOCAL ROLE {PG_ROLE}")
        except (psycopg.errors.UndefinedObject, psycopg.errors.InvalidParameterValue,
                psycopg.errors.InsufficientPrivilege):
            raise NotAllowed(_("The SQL console needs the PostgreSQL role {role}, which the app could not make: ask "
                               "the database admin to run CREATE ROLE {role} NOLOGIN; GRANT {role} TO <the app's "
                               "user>; and restart the app.").format(role=PG_ROLE)) from None
        # The columns first (no row is computed), to cut long text values.
        cur.execute_one_statement(f"DECLARE console_shape NO SCROLL CURSOR FOR {sql.strip().rstrip(';')}")
        cur.execute("FETCH FORWARD 0 FROM console_shape")
        names = [d.name for d in cur.description]
        types = [getattr(psycopg.postgres.types.get(d.type_code), "name", "") for d in cur.description]
        text = [t in _TEXT_TYPES for t in types]
        cur.execute("CLOSE console_shape")
        cur.execute_one_statement(f"DECLARE console_rows NO SCROLL CURSOR FOR {_capped(sql, names, text, row_limit)}")
        while not fetched.more:
            rows = cur.execute(f"FETCH FORWARD {BATCH_ROWS} FROM console_rows").fetchall()
            if not rows:
                break
            for row in rows:
                if not fetched.add_row(row):
                    break
    except psycopg.errors.QueryCanceled:
        raise _stopped(time_limit) from None
    except psycopg.errors.InsufficientPrivilege:
        raise NotAllowed(_(REFUSED_ACCESS)) from None
    except psycopg.Error as exc:
        raise ValidationError(_("The query failed: {error}").format(error=exc)) from None
    finally:
        try:
            cur.execute("ROLLBACK")
        finally:
            cur.close()
    return fetched.result(names, time.perf_counter() - started), [t == "timestamptz" for t in types]
