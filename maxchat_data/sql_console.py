"""D4: the read-only SQL console for analysts and admins.

On DuckDB a query runs on a cursor of the store's own connection (one
process owns the file), so safety comes from what is let through, decided by
DuckDB's own parser rather than by pattern matching (on PostgreSQL the same
check, by the same parser, which is PostgreSQL's grammar underneath):
- exactly one statement, and it is a SELECT (``extract_statements``);
- every table it names is one of the documented views in the ``console``
  schema (made by migration 005, without secrets) or one of its own CTEs;
  table functions other than a few generators, and functions that read
  files, settings or the environment, are refused (walking the syntax tree
  from ``json_serialize_sql``);
- a row limit (``fetchmany``) and a time limit: the query runs in a thread
  and is interrupted at the limit, so the server stays responsive.
On PostgreSQL the query then runs in a READ ONLY transaction with
``search_path`` set to the views' schema, as a cursor declared for it (which
PostgreSQL allows for a SELECT only), and ``statement_timeout`` stops it at
the time limit; the functions that reach files, settings or other tables by
name (``pg_read_file``, ``set_config``, ``query_to_xml``...) are refused
like DuckDB's.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import duckdb
import pandas as pd
import psycopg

from .errors import NotAllowed, ValidationError
from .roles import can_use_sql
from .store import Store

ROW_LIMIT = 5000
TIME_LIMIT_S = 10.0
SCHEMA = "console"
# The documented views: name -> (what a row is, columns).
VIEWS = {
    "chats": ("one contact on one channel", "id, contact_id, channel, channel_user_id, contact_name, status, "
              "assignee_id, archived, blocked, label_ids, unread, last_message_at, last_direction, "
              "last_inbound_at, session_id, created_at"),
    "sessions": ("one conversation: from a first message after new/Resolved to its resolution",
                 "id, chat_id, initiated_by, started_at, first_response_at, resolved_at, resolved_by"),
    "messages": ("one message or activity line (direction in/out/activity; sender_agent_id NULL on out = BOT)",
                 "id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption, template_id, "
                 "status, error, sent_at, created_at"),
    "events": ("who did what, when (actor_id NULL = BOT/system)", "id, chat_id, actor_id, action, details, created_at"),
    "labels": ("a label (contacts' labels are chats.label_ids)", "id, name, color, created_at"),
    "agents": ("a team member, without any secret", "id, username, display_name, role, active, created_at"),
}
SAFE_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
# Scalar functions that reach outside the views: files, settings, the environment, sequences.
_REFUSED_FUNCTIONS = ("read_", "glob", "getenv", "current_setting", "getvariable", "query", "nextval", "currval",
                      "pragma_", "duckdb_", "sniff_csv", "parquet_", "json_execute_serialized_sql", "sql_auto",
                      "load", "install", "iceberg", "delta", "http", "file", "which_secret", "setseed",
                      # PostgreSQL's: files, sleeps, locks, signals, settings, large objects, other
                      # databases, and those that run SQL text or read a table by name.
                      "pg_", "set_config", "setval", "lo_", "loread", "lowrite", "dblink", "query_to_xml",
                      "table_to_xml", "cursor_to_xml", "schema_to_xml", "database_to_xml", "ts_stat", "ts_rewrite")


@dataclass
class Result:
    frame: pd.DataFrame
    truncated: bool                 # more rows than the limit existed
    seconds: float


def _walk(node, tables: list, ctes: set, functions: list, table_functions: list) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            tables.append((node.get("catalog_name", ""), node.get("schema_name", ""), node.get("table_name", "")))
        elif kind == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            table_functions.append(str(fn.get("function_name", "")).lower())
        if node.get("class") == "FUNCTION" and "function_name" in node:
            functions.append(str(node["function_name"]).lower())
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                ctes.add(str(entry.get("key", "")).lower())
        for value in node.values():
            _walk(value, tables, ctes, functions, table_functions)
    elif isinstance(node, list):
        for value in node:
            _walk(value, tables, ctes, functions, table_functions)


def check(cur: duckdb.DuckDBPyConnection, sql: str, real_tables: set[str]) -> None:
    """Refuse, with a clear message, anything but one SELECT over the views."""
    sql = (sql or "").strip()
    if not sql:
        raise ValidationError("Write a query first.")
    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as exc:
        raise ValidationError(f"That is not valid SQL: {exc}") from None
    if len(statements) != 1:
        raise NotAllowed("One statement at a time: the console runs a single SELECT.")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise NotAllowed(f"Only SELECT queries are allowed here (this is {statements[0].type.name}). "
                         "The console is read-only.")
    tree = json.loads(cur.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):
        raise NotAllowed(f"Only plain SELECT queries are allowed here: {tree.get('error_message')}")
    tables, ctes, functions, table_functions = [], set(), [], []
    _walk(tree["statements"], tables, ctes, functions, table_functions)
    if ctes & real_tables:
        raise NotAllowed(f"Name your WITH queries differently from the app's tables ({', '.join(sorted(ctes & real_tables))}).")
    for catalog, schema, name in tables:
        lowered = name.lower()
        if catalog or schema.lower() not in ("", SCHEMA) or (lowered not in VIEWS and (schema or lowered not in ctes)):
            shown = ".".join(p for p in (catalog, schema, name) if p)
            raise NotAllowed(f"{shown!r} is not one of the console's views: use {', '.join(VIEWS)}.")
    for fn in table_functions:
        if fn not in SAFE_TABLE_FUNCTIONS:
            raise NotAllowed(f"The table function {fn}() is not allowed: the console reads only its views "
                             "(no files, URLs or settings).")
    for fn in functions:
        if fn.startswith(_REFUSED_FUNCTIONS):
            raise NotAllowed(f"The function {fn}() is not allowed in the console.")


def _stopped(time_limit: float) -> NotAllowed:
    return NotAllowed(f"The query ran longer than {time_limit:g} s and was stopped. "
                      "Narrow it (a WHERE on a time column, fewer joins) or aggregate first.")


def run_query(store: Store, role: str, sql: str, *, row_limit: int = ROW_LIMIT,
              time_limit: float = TIME_LIMIT_S) -> Result:
    """Run an analyst's query read-only, within the row and time limits."""
    if not can_use_sql(role):
        raise NotAllowed("The SQL console is for analysts and admins.")
    real = {n.lower() for (n,) in store.all(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    if store.dialect == "postgresql":
        parser = duckdb.connect()  # parses only: it holds no data
        try:
            check(parser, sql, real)
        finally:
            parser.close()
        return _run_postgresql(store, sql, row_limit, time_limit)
    cur = store.cursor()
    try:
        check(cur, sql, real)
        cur.execute(f"SET search_path = '{SCHEMA}'")  # this cursor only: bare names are the views
        box: dict = {}

        def work():
            try:
                rel = cur.execute(sql)
                cols = [d[0] for d in rel.description]
                rows = rel.fetchmany(row_limit + 1)
                box["frame"] = pd.DataFrame(rows[:row_limit], columns=cols)
                box["truncated"] = len(rows) > row_limit
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc

        started = time.perf_counter()
        thread = threading.Thread(target=work, name="sql-console", daemon=True)
        thread.start()
        thread.join(time_limit)
        if thread.is_alive():
            cur.interrupt()
            thread.join(30)
            raise _stopped(time_limit)
        if "error" in box:
            exc = box["error"]
            if isinstance(exc, duckdb.Error):
                raise ValidationError(f"The query failed: {exc}") from None
            raise exc
        return Result(box["frame"], box["truncated"], time.perf_counter() - started)
    finally:
        cur.close()


def _run_postgresql(store: Store, sql: str, row_limit: int, time_limit: float) -> Result:
    cur = store.cursor()
    started = time.perf_counter()
    try:
        cur.execute("BEGIN READ ONLY")
        cur.execute(f"SET LOCAL statement_timeout = {max(1, int(time_limit * 1000))}")
        cur.execute(f"SET LOCAL search_path = {SCHEMA}")
        # Backslashes mean the same to both parsers only with this on (the default).
        cur.execute("SET LOCAL standard_conforming_strings = on")
        cur.execute_one_statement(f"DECLARE console_rows NO SCROLL CURSOR FOR {sql.strip().rstrip(';')}")
        rel = cur.execute(f"FETCH FORWARD {row_limit + 1} FROM console_rows")
        cols = [d[0] for d in rel.description]
        rows = rel.fetchall()
    except psycopg.errors.QueryCanceled:
        raise _stopped(time_limit) from None
    except psycopg.Error as exc:
        raise ValidationError(f"The query failed: {exc}") from None
    finally:
        try:
            cur.execute("ROLLBACK")
        finally:
            cur.close()
    return Result(pd.DataFrame(rows[:row_limit], columns=cols), len(rows) > row_limit, time.perf_counter() - started)
