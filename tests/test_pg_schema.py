"""The PostgreSQL schema (migrations/postgresql) is the DuckDB schema after
its migrations: same tables and console views, same columns in the same
order, nullability, compatible types, keys, CHECKs, defaults and seed rows.
Compared against a freshly migrated DuckDB file, read from both engines'
catalogues, so a DuckDB migration without its PostgreSQL twin fails here."""
from __future__ import annotations

import re

import psycopg
import pytest

from maxchat_data.store import ID_TABLES, Store
import pg_cluster

pytestmark = pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL 15 is not installed")

# DuckDB type -> what PostgreSQL's information_schema may call it.
PG_TYPES = {
    "VARCHAR": {"character varying", "text"},
    "INTEGER": {"integer"},
    "BIGINT": {"bigint"},
    "BOOLEAN": {"boolean"},
    "DOUBLE": {"double precision"},
    "TIMESTAMP WITH TIME ZONE": {"timestamp with time zone"},
    "INTEGER[]": {"ARRAY _int4"},
    "BIGINT[]": {"ARRAY _int8"},
    "VARCHAR[]": {"ARRAY _varchar", "ARRAY _text"},
    "JSON": {"json", "jsonb"},
}
SKIPPED = {"schema_migrations"}  # the runners' own table: its rows are the migrations applied


@pytest.fixture
def duck(tmp_path):
    s = Store(tmp_path / "maxchat.duckdb", tmp_path / "media")
    yield s
    s.close()


@pytest.fixture
def pg():
    """A connection to a new database migrated by the PostgreSQL runner."""
    url = pg_cluster.fresh_database()  # migrated by open_store, as the app does
    try:
        with psycopg.connect(url, autocommit=True) as con:
            yield con
    finally:
        pg_cluster.drop_database(url)


def duck_columns(duck) -> dict:
    rows = duck.all("SELECT table_schema, table_name, column_name, is_nullable, data_type"
                    " FROM information_schema.columns ORDER BY table_schema, table_name, ordinal_position")
    out: dict = {}
    for schema, table, column, nullable, dtype in rows:
        out.setdefault(("public" if schema == "main" else schema, table), []).append((column, nullable, dtype))
    return out


def pg_columns(pg) -> dict:
    rows = pg.execute("SELECT table_schema, table_name, column_name, is_nullable,"
                      " CASE WHEN data_type = 'ARRAY' THEN 'ARRAY ' || udt_name ELSE data_type END"
                      " FROM information_schema.columns WHERE table_schema IN ('public', 'console')"
                      " ORDER BY table_schema, table_name, ordinal_position").fetchall()
    out: dict = {}
    for schema, table, column, nullable, dtype in rows:
        out.setdefault((schema, table), []).append((column, nullable, dtype))
    return out


def test_same_tables_and_console_views(duck, pg):
    duck_tables = set(duck.all("SELECT CASE table_schema WHEN 'main' THEN 'public' ELSE table_schema END,"
                               " table_name, table_type FROM information_schema.tables"))
    pg_tables = set(pg.execute("SELECT table_schema, table_name, table_type FROM information_schema.tables"
                               " WHERE table_schema IN ('public', 'console')").fetchall())
    assert pg_tables == duck_tables
    assert ("console", "messages", "VIEW") in pg_tables


def test_same_columns_in_the_same_order_with_compatible_types(duck, pg):
    want, got = duck_columns(duck), pg_columns(pg)
    assert set(got) == set(want)
    for key, columns in want.items():
        assert [c for c, _, _ in got[key]] == [c for c, _, _ in columns], key
        is_view = key[0] == "console"  # a view's columns are nullable to both catalogues
        for (column, nullable, dtype), (_, pg_nullable, pg_type) in zip(columns, got[key]):
            assert pg_type in PG_TYPES[dtype], f"{key[1]}.{column}: {dtype} became {pg_type}"
            if not is_view:
                assert pg_nullable == nullable, f"{key[1]}.{column}"


def test_same_keys_and_checks(duck, pg):
    def allowed(expression):  # the quoted words a CHECK allows, whatever the engine's spelling
        return frozenset(re.findall(r"'([^']*)'", expression))

    want = {(t, kind, tuple(cols), allowed(expr or ""))
            for t, kind, cols, expr in duck.all(
                "SELECT table_name, constraint_type, constraint_column_names, expression FROM duckdb_constraints()"
                " WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK') AND table_name <> 'schema_migrations'")}
    got = {(t, {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK"}[kind], tuple(cols),
            allowed(definition) if kind == "c" else frozenset())
           for t, kind, cols, definition in pg.execute(
               "SELECT c.conrelid::regclass::text, c.contype,"
               " array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)"
               "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos),"
               " pg_get_constraintdef(c.oid)"
               " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
               " WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'c')"
               " AND c.conrelid::regclass::text <> 'schema_migrations'").fetchall()}
    assert got == want
    # The key several processes race on when a customer writes first.
    assert ("chats", "UNIQUE", ("channel", "channel_user_id"), frozenset()) in got


def test_same_defaults(duck, pg):
    """Each default evaluated by its own engine gives the same value."""
    want = {(t, c): duck.one(f"SELECT {d}")[0] for t, c, d in duck.all(
        "SELECT table_name, column_name, column_default FROM information_schema.columns"
        " WHERE table_schema = 'main' AND column_default IS NOT NULL")}
    got = {(t, c): pg.execute(f"SELECT {d}").fetchone()[0] for t, c, d in pg.execute(
        "SELECT table_name, column_name, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_default IS NOT NULL").fetchall()}
    assert got == want
    assert got[("chats", "label_ids")] == []


def test_ids_the_writer_hands_out_come_from_identity_sequences(pg):
    identity = {(t, c, dtype) for t, c, dtype in pg.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND is_identity = 'YES'").fetchall()}
    assert {t for t, _, _ in identity} == set(ID_TABLES)
    assert all(c == "id" for _, c, _ in identity)
    for table in ID_TABLES:
        assert pg.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0], table


def test_same_seed_rows(duck, pg):
    tables = [t for (t,) in duck.all("SELECT table_name FROM information_schema.tables"
                                     " WHERE table_schema = 'main' ORDER BY 1") if t not in SKIPPED]
    for table in tables:
        assert sorted(pg.execute(f"SELECT * FROM {table}").fetchall()) == sorted(duck.all(f"SELECT * FROM {table}")), table
    assert pg.execute("SELECT * FROM facts_state").fetchall() == [(0, 0)]


@pytest.mark.parametrize("finder, sql", [
    ("inbox page", "SELECT id FROM chats ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT 30"),
    ("chat history", "SELECT id FROM messages WHERE chat_id = 7 ORDER BY sent_at DESC, id DESC LIMIT 50"),
    ("chat by customer", "SELECT id FROM chats WHERE channel = 'whatsapp' AND channel_user_id = '62812'"),
    ("label filter", "SELECT id FROM chats WHERE label_ids && ARRAY[3]"),
    ("outbox due", "SELECT message_id FROM outbox ORDER BY next_attempt_at, message_id LIMIT 20"),
    ("report range", "SELECT session_id FROM session_facts WHERE started_at >= now() - interval '7 days'"),
    ("waits range", "SELECT reply_id FROM waits WHERE started_at >= now() - interval '7 days'"),
    ("chat events", "SELECT id FROM events WHERE chat_id = 7 ORDER BY id"),
    ("broadcast recipients", "SELECT message_id FROM broadcast_recipients WHERE broadcast_id = 2"),
])
def test_finders_can_use_an_index(pg, finder, sql):
    """With sequential scans priced out, the plan reads an index: one exists
    for what the finder filters and orders by."""
    pg.execute("SET enable_seqscan = off")
    plan = "\n".join(r for (r,) in pg.execute(f"EXPLAIN {sql}").fetchall())
    assert "Seq Scan" not in plan, f"{finder}:\n{plan}"
