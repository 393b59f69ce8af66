"""D4: the SQL console refuses everything but one SELECT over its views,
with a clear message, and nothing changes; a runaway query is stopped at
the time limit while the server keeps answering."""
from __future__ import annotations

import threading
import time

import pytest

from maxchat_data import NotAllowed, ValidationError, sql_console
from maxchat_data.store import utcnow

pytestmark = pytest.mark.both_backends


def snapshot(store):
    return {t: store.all(f"SELECT * FROM {t} ORDER BY 1") for t in
            ("agents", "chats", "sessions", "messages", "events", "settings", "labels")}


@pytest.fixture
def data(store, team, tmp_path):
    def write(w):
        now = utcnow()
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " created_at) VALUES (1, 1, 'whatsapp', '6281', 'Rina Kusuma', 'rina kusuma', 'Open', ?)", [now])
        w.execute("INSERT INTO messages (id, chat_id, channel, direction, kind, body, status, sent_at, created_at)"
                  " VALUES (1, 1, 'whatsapp', 'in', 'text', 'Halo kak', 'received', ?, ?)", [now, now])
    store.write(write)
    (tmp_path / "x.csv").write_text("a\n1\n")
    return team


def test_a_select_over_the_views_works_with_a_row_limit(store, data):
    r = sql_console.run_query(store, "analyst", "SELECT channel, count(*) AS n FROM chats GROUP BY channel")
    assert r.frame.to_dict("records") == [{"channel": "whatsapp", "n": 1}] and not r.truncated
    r = sql_console.run_query(store, "admin", "SELECT * FROM generate_series(1, 100) t(i)", row_limit=10)
    assert len(r.frame) == 10 and r.truncated
    r = sql_console.run_query(store, "analyst", "WITH x AS (SELECT * FROM console.agents) SELECT username FROM x ORDER BY 1")
    assert r.frame["username"].tolist() == ["admin", "budi", "sari"]
    assert "password_hash" not in sql_console.run_query(store, "analyst", "SELECT * FROM agents").frame.columns


REFUSED = [
    ("INSERT INTO chats (id) VALUES (99)", "Only SELECT"),
    ("UPDATE agents SET role = 'admin'", "Only SELECT"),
    ("DELETE FROM messages", "Only SELECT"),
    ("DROP TABLE messages", "Only SELECT"),
    ("CREATE TABLE t AS SELECT 1", "Only SELECT"),
    ("ALTER TABLE chats ADD COLUMN x INT", "Only SELECT"),
    ("ATTACH '/tmp/other.duckdb' AS o", "Only SELECT"),
    ("COPY chats TO '/tmp/out.csv'", "Only SELECT"),
    ("COPY (SELECT 1) TO '/tmp/out.csv'", "Only SELECT"),
    ("EXPORT DATABASE '/tmp/dump'", "Only SELECT"),
    ("INSTALL httpfs", "Only SELECT"),
    ("LOAD httpfs", "Only SELECT"),
    ("SET enable_external_access = false", "Only SELECT"),
    ("PRAGMA database_list", "Only SELECT"),
    ("CHECKPOINT", "Only SELECT"),
    ("SELECT * FROM read_csv('{tmp}/x.csv')", "table function read_csv"),
    ("SELECT * FROM read_parquet('{tmp}/x.parquet')", "table function read_parquet"),
    ("SELECT * FROM read_text('/etc/passwd')", "table function read_text"),
    ("SELECT * FROM glob('/etc/*')", "table function glob"),
    ("SELECT * FROM read_json('http://127.0.0.1:1/x.json')", "table function read_json"),
    ("SELECT * FROM '{tmp}/x.csv'", "not one of the console's views"),
    ("SELECT * FROM duckdb_settings()", "table function duckdb_settings"),
    ("SELECT current_setting('threads')", "current_setting"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT password_hash FROM main.agents", "not one of the console's views"),
    ("SELECT * FROM settings", "not one of the console's views"),
    ("SELECT value FROM main.settings WHERE key = 'session_secret'", "not one of the console's views"),
    ("SELECT * FROM console.agents a JOIN main.agents b USING (id)", "not one of the console's views"),
    ("SELECT * FROM (SELECT * FROM agents) WHERE id IN (SELECT id FROM outbox)", "not one of the console's views"),
    ("WITH settings AS (SELECT 1) SELECT * FROM settings", "differently from the app's tables"),
    ("SELECT * FROM system.main.duckdb_tables", "not one of the console's views"),
    ("SELECT 1; SELECT 2", "One statement"),
    ("SELECT 1; DELETE FROM chats", "One statement"),
    ("SELECT * FROM query('SELECT * FROM main.agents')", "table function query"),
    # PostgreSQL's ways out, refused on both engines.
    ("COPY chats TO PROGRAM 'touch {tmp}/out.csv'", "not valid SQL"),
    ("COPY (SELECT 1) TO PROGRAM 'touch {tmp}/out.csv'", "not valid SQL"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
    ("SELECT pg_catalog.pg_read_binary_file('/etc/passwd')", "pg_read_binary_file"),
    ("SELECT password_hash FROM public.agents", "not one of the console's views"),
    ("SELECT * FROM pg_catalog.pg_authid", "not one of the console's views"),
    ("SELECT * FROM pg_shadow", "not one of the console's views"),
    ("SELECT set_config('role', 'postgres', true)", "set_config"),
    ("SELECT set_config('transaction_read_only', 'off', true)", "set_config"),
    ("SELECT pg_sleep(30)", "pg_sleep"),
    ("SELECT query_to_xml('SELECT password_hash FROM public.agents', true, true, '')", "query_to_xml"),
    ("SELECT table_to_xml('public.agents', true, true, '')", "table_to_xml"),
    ("SELECT lo_import('/etc/passwd')", "lo_import"),
    ("SELECT pg_terminate_backend(1)", "pg_terminate_backend"),
    ("SELECT setval('messages_id_seq', 1)", "setval"),
    # Strings with backslash escapes end where PostgreSQL ends them (DuckDB's parser is PostgreSQL's).
    ("SELECT E'\\'' AS x, password_hash FROM public.agents --'", "not one of the console's views"),
]


@pytest.mark.parametrize("sql,message", REFUSED)
def test_refused_with_a_clear_message_and_nothing_changes(store, data, tmp_path, sql, message):
    before = snapshot(store)
    with pytest.raises((NotAllowed, ValidationError), match=message):
        sql_console.run_query(store, "analyst", sql.format(tmp=tmp_path))
    assert snapshot(store) == before
    assert not (tmp_path / "out.csv").exists()


def test_an_agent_or_supervisor_cannot_call_it(store, data):
    for role in ("agent", "supervisor"):
        with pytest.raises(NotAllowed, match="for analysts and admins"):
            sql_console.run_query(store, role, "SELECT 1")


def test_a_runaway_query_is_interrupted_and_the_store_keeps_answering(store, data):
    answers = []

    def meanwhile():
        time.sleep(0.3)
        t = time.perf_counter()
        answers.append((store.one("SELECT count(*) FROM chats")[0], time.perf_counter() - t))

    other = threading.Thread(target=meanwhile)
    other.start()
    started = time.perf_counter()
    with pytest.raises(NotAllowed, match="longer than 1 s and was stopped"):
        sql_console.run_query(store, "analyst", "SELECT count(*) FROM generate_series(1, 1000000) a,"
                              " generate_series(1, 1000000) b", time_limit=1.0)
    assert time.perf_counter() - started < 5
    other.join()
    assert answers[0][0] == 1 and answers[0][1] < 1.0
    # and the console works again at once
    assert sql_console.run_query(store, "analyst", "SELECT 42 AS x").frame["x"].tolist() == [42]


def test_on_postgresql_the_transaction_itself_is_read_only_limited_and_sees_only_the_views(store, data, backend):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's own limits (DuckDB's are the parser check and the interrupt above)")
    # Behind the parser's check, should a query get past it: PostgreSQL's own limits.
    before = snapshot(store)
    run = sql_console._run_postgresql
    with pytest.raises(ValidationError, match="read-only transaction"):
        run(store, "SELECT setval('public.messages_id_seq', 1)", 10, 5.0)
    with pytest.raises(ValidationError, match="syntax error"):  # a cursor is declared for a SELECT only
        run(store, "DELETE FROM messages", 10, 5.0)
    with pytest.raises(ValidationError, match="multiple commands"):  # never a second statement
        run(store, "SELECT 1; COMMIT; DELETE FROM chats", 10, 5.0)
    with pytest.raises(ValidationError, match="password_hash"):  # bare names are the views
        run(store, "SELECT password_hash FROM agents", 10, 5.0)
    started = time.perf_counter()
    with pytest.raises(NotAllowed, match="longer than 0.5 s and was stopped"):
        run(store, "SELECT pg_sleep(30)", 10, 0.5)
    assert time.perf_counter() - started < 3
    assert snapshot(store) == before
    # The pooled connection comes back clean: no transaction, the usual search path, no time limit.
    assert store.one("SELECT current_setting('transaction_read_only'), current_setting('search_path'),"
                     " current_setting('statement_timeout')") == ("off", '"$user", public', "0")
