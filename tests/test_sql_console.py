"""D4: the SQL console refuses everything but one SELECT over its views,
with a clear message, and nothing changes; it reads no file, URL, extension,
setting or other table, neither through the check nor, should the check be
bypassed, through the engine; a runaway query is stopped at the time limit
while the server keeps answering; a result is cut at the byte limit, a long
value at the value limit, and a query that grows past the memory limit is
stopped, with the process's memory bounded."""
from __future__ import annotations

import http.server
import threading
import time
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from maxchat_data import NotAllowed, ValidationError, sql_console
from maxchat_data.store import utcnow

pytestmark = pytest.mark.both_backends

SECRET = "SECRET-TOKEN-42"


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
    (tmp_path / "secret.csv").write_text(f"token\n{SECRET}\n")
    (tmp_path / "secret.json").write_text(f'{{"token": "{SECRET}"}}\n')
    pd.DataFrame({"token": [SECRET]}).to_parquet(tmp_path / "secret.parquet")
    return team


def test_a_select_over_the_views_works_with_a_row_limit(store, data):
    r = sql_console.run_query(store, "analyst", "SELECT channel, count(*) AS n FROM chats GROUP BY channel")
    assert r.frame.to_dict("records") == [{"channel": "whatsapp", "n": 1}] and not r.truncated and r.cut == ""
    r = sql_console.run_query(store, "admin", "SELECT * FROM generate_series(1, 100) t(i)", row_limit=10)
    assert len(r.frame) == 10 and r.truncated and r.cut == "cut at the 10-row limit"
    r = sql_console.run_query(store, "analyst", "WITH x AS (SELECT * FROM console.agents) SELECT username FROM x ORDER BY 1")
    assert r.frame["username"].tolist() == ["admin", "budi", "sari"]
    assert "password_hash" not in sql_console.run_query(store, "analyst", "SELECT * FROM agents").frame.columns
    # Lists stay lists and times stay times, as before the rows came in batches.
    r = sql_console.run_query(store, "analyst", "SELECT label_ids, created_at FROM chats")
    assert r.frame["label_ids"].tolist() == [[]] and r.frame["created_at"][0].year >= 2024


def test_beside_each_utc_time_comes_the_same_time_in_the_team_timezone(store, data, monkeypatch):
    """Issue 18.10: one timezone wherever a person compares numbers. The views
    are UTC; each TIMESTAMPTZ column gets ``<name>_local`` right after it, in
    MAXCHAT_TIMEZONE (Asia/Jakarta = UTC+7, no summer time), on both backends."""
    from datetime import datetime, timezone
    monkeypatch.setenv("MAXCHAT_TIMEZONE", "Asia/Jakarta")
    at = datetime(2026, 12, 3, 20, 30, tzinfo=timezone.utc)  # 03:30 the next day in Jakarta
    store.write(lambda w: w.execute("UPDATE chats SET created_at = ?, last_message_at = NULL WHERE id = 1", [at]))
    r = sql_console.run_query(store, "analyst", "SELECT id, created_at, last_message_at, created_at AS again,"
                              " CAST(created_at AS DATE) AS day FROM chats")
    assert list(r.frame.columns) == ["id", "created_at", "created_at_local", "last_message_at",
                                     "last_message_at_local", "again", "again_local", "day"]
    assert r.local_columns == ["created_at_local", "last_message_at_local", "again_local"]
    assert r.timezone == "Asia/Jakarta (UTC+07:00)"
    row = r.frame.iloc[0]
    assert str(row["created_at"]) == "2026-12-03 20:30:00+00:00"
    assert str(row["created_at_local"]) == "2026-12-04 03:30:00+07:00"
    assert row["created_at_local"] == row["created_at"]                 # the same instant
    assert pd.isna(row["last_message_at"]) and pd.isna(row["last_message_at_local"])  # NULL stays NULL
    # Another team's zone, given or set: the same instant, their clock.
    r = sql_console.run_query(store, "analyst", "SELECT created_at FROM chats", tz=ZoneInfo("America/New_York"))
    assert str(r.frame.iloc[0]["created_at_local"]) == "2026-12-03 15:30:00-05:00"
    # No zoned column, nothing added.
    r = sql_console.run_query(store, "analyst", "SELECT 1 AS a, 2 AS a")
    assert list(r.frame.columns) == ["a", "a"] and r.local_columns == []


# What an analyst legitimately writes keeps working: WITH queries in every
# place they are in scope, recursion, subqueries, joins, small sizes.
ALLOWED = [
    ("WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT y FROM b", [{"y": 2}]),
    ("WITH a AS (SELECT 1 AS x) SELECT (SELECT count(*) FROM a) AS n", [{"n": 1}]),
    ("WITH a AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM (SELECT x FROM a) s1) s2", [{"x": 1}]),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT sum(n) AS s FROM t",
     [{"s": 6}]),
    ("WITH chats AS (SELECT 7 AS id) SELECT id FROM chats", [{"id": 7}]),  # shadows the view, in scope
    ("SELECT c.contact_name, count(m.id) AS n FROM chats c LEFT JOIN messages m ON m.chat_id = c.id"
     " GROUP BY 1 ORDER BY 1", [{"contact_name": "Rina Kusuma", "n": 1}]),
    ("SELECT lpad(CAST(id AS VARCHAR), 4, '0') AS p FROM chats", [{"p": "0001"}]),
    ("SELECT repeat('-', 3) AS r", [{"r": "---"}]),
    ("SELECT id FROM chats WHERE contact_name IN ('x.csv', '/etc/passwd') OR id = 1", [{"id": 1}]),
    ('SELECT "/etc/passwd" FROM (SELECT 1 AS "/etc/passwd") q', [{"/etc/passwd": 1}]),  # a column, not a file
    ("SELECT 1 AS a, 2 AS a", None),  # a repeated column name keeps both columns
]


def test_what_analysts_write_keeps_working(store, data):
    for sql, rows in ALLOWED:
        frame = sql_console.run_query(store, "analyst", sql).frame
        if rows is None:
            assert list(frame.columns) == ["a", "a"] and frame.values.tolist() == [[1, 2]], sql
        else:
            assert frame.to_dict("records") == rows, sql


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
    ("SELECT pg_catalog.pg_read_binary_file('/etc/passwd')", "without a schema"),
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


VIEW, TABLE_FN, NAME, SHOW = "not one of the console's views", "table function", "Name WITH queries", "Only DESCRIBE"
ONLY, INVALID, FN, QUALIFIED = "Only SELECT", "not valid SQL", "is not allowed in the console", "without a schema"
# Issue 17: a WITH name was taken as valid everywhere, so naming a WITH
# query after a file made the file readable in a sibling query; the same
# shape read DuckDB's catalog and settings.
ISSUE_17 = [
    ("SELECT * FROM '{tmp}/secret.csv', (WITH \"{tmp}/secret.csv\" AS (SELECT 1) SELECT 1)", VIEW),
    ("SELECT * FROM '{tmp}/secret.json', (WITH \"{tmp}/secret.json\" AS (SELECT 1) SELECT 1)", VIEW),
    ("SELECT * FROM '{tmp}/secret.parquet', (WITH \"{tmp}/secret.parquet\" AS (SELECT 1) SELECT 1)", VIEW),
    ("SELECT * FROM '{tmp}/secret.*', (WITH \"{tmp}/secret.*\" AS (SELECT 1) SELECT 1)", VIEW),
    ("SELECT * FROM duckdb_tables, (WITH duckdb_tables AS (SELECT 1) SELECT 1)", VIEW),
    ("SELECT * FROM duckdb_settings, (WITH duckdb_settings AS (SELECT 1) SELECT 1)", VIEW),
    ("SELECT * FROM 'http://127.0.0.1:9/x.csv', (WITH \"http://127.0.0.1:9/x.csv\" AS (SELECT 1) SELECT 1)", VIEW),
]
# And more of the kind, invented: scopes, places a table can hide, names,
# spellings, statements that look like queries, catalogs, URLs.
ESCAPES = ISSUE_17 + [
    # WITH names in the wrong scope
    ("WITH a AS (SELECT 1) SELECT * FROM a, (SELECT * FROM duckdb_tables) t", VIEW),
    ("WITH a AS (SELECT * FROM duckdb_tables), duckdb_tables AS (SELECT 1) SELECT * FROM a", VIEW),
    ("WITH duckdb_tables AS (SELECT * FROM duckdb_tables) SELECT * FROM duckdb_tables", VIEW),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t, duckdb_views WHERE n < 2) SELECT * FROM t", VIEW),
    ("SELECT * FROM (WITH duckdb_settings AS (SELECT 1 AS x) SELECT * FROM duckdb_settings) a, duckdb_settings b", VIEW),
    ("SELECT (WITH sqlite_master AS (SELECT 1) SELECT 1) AS x, * FROM sqlite_master", VIEW),
    ("SELECT * FROM chats WHERE id IN (WITH duckdb_views AS (SELECT 1) SELECT 1)"
     " OR id IN (SELECT 1 FROM duckdb_views)", VIEW),
    ("WITH a AS (SELECT 1) SELECT * FROM a UNION ALL SELECT * FROM (WITH duckdb_columns AS (SELECT 1) SELECT 1)"
     " UNION ALL SELECT 1 FROM duckdb_columns", VIEW),
    ("SELECT * FROM (SELECT * FROM (SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x)"
     " WHERE 1 IN (SELECT 1 FROM duckdb_databases)))", VIEW),
    ("SELECT * FROM chats c, LATERAL (WITH duckdb_tables AS (SELECT c.id) SELECT * FROM duckdb_tables) l,"
     " duckdb_tables", VIEW),
    ("WITH x AS (SELECT 1), y AS (WITH duckdb_secrets AS (SELECT 1) SELECT 1) SELECT * FROM duckdb_secrets", VIEW),
    ("WITH a AS MATERIALIZED (SELECT * FROM '{tmp}/secret.csv') SELECT * FROM a", VIEW),
    ("WITH chats AS (SELECT * FROM '{tmp}/secret.csv') SELECT * FROM chats", VIEW),
    # a file in every place a table can stand
    ("SELECT * FROM chats, LATERAL (SELECT * FROM '{tmp}/secret.csv') s", VIEW),
    ("SELECT * FROM chats WHERE id IN (SELECT 1 FROM read_csv('{tmp}/secret.csv'))", TABLE_FN),
    ("SELECT * FROM chats JOIN read_text('{tmp}/secret.csv') ON true", TABLE_FN),
    ("SELECT (SELECT content FROM read_text('{tmp}/secret.csv')) AS x", TABLE_FN),
    ("SELECT 1 WHERE EXISTS (SELECT * FROM glob('{tmp}/*'))", TABLE_FN),
    ("SELECT * FROM chats WHERE EXISTS (FROM '{tmp}/secret.csv')", VIEW),
    ("SELECT * FROM chats c WHERE c.id = ANY (SELECT 1 FROM '{tmp}/secret.csv')", VIEW),
    ("SELECT * FROM (VALUES (1)) v(x), '{tmp}/secret.csv'", VIEW),
    ("SELECT * FROM chats POSITIONAL JOIN '{tmp}/secret.csv'", VIEW),
    ("SELECT * FROM chats ASOF JOIN '{tmp}/secret.csv' s ON chats.id >= 1", VIEW),
    ("SELECT * FROM unnest((SELECT list(token) FROM '{tmp}/secret.csv'))", VIEW),
    ("SELECT * FROM range((SELECT count(*) FROM '{tmp}/secret.csv'))", VIEW),
    ("SELECT list_transform([1], x -> (SELECT count(*) FROM '{tmp}/secret.csv')) AS l", VIEW),
    ("SELECT COLUMNS(c -> (SELECT true FROM '{tmp}/secret.csv' LIMIT 1)) FROM chats", VIEW),
    ("SELECT * FROM chats QUALIFY row_number() OVER (PARTITION BY (SELECT 1 FROM '{tmp}/secret.csv')) = 1", VIEW),
    ("SELECT sum(id) OVER (ORDER BY (SELECT count(*) FROM '{tmp}/secret.csv')) FROM chats", VIEW),
    ("SELECT * FROM '{tmp}/secret.csv' USING SAMPLE 1", VIEW),
    ("SELECT * FROM chats USING SAMPLE (SELECT 1 FROM '{tmp}/secret.csv')", INVALID),
    ("PIVOT '{tmp}/secret.csv' ON token IN ('x') USING count(*)", VIEW),
    ("UNPIVOT '{tmp}/secret.csv' ON token INTO NAME k VALUE v", VIEW),
    ("PIVOT '{tmp}/secret.csv' ON token USING count(*)", ONLY),
    # names and spellings of a path
    ("SELECT * FROM \"{tmp}/secret.csv\"", VIEW),
    ("WITH \"secret.csv\" AS (SELECT 1) SELECT * FROM \"secret.csv\"", NAME),
    ("SELECT * FROM \"x.csv\"", VIEW),
    ("SELECT * FROM U&'{tmp}/secret\\0063sv'", INVALID),
    ("SELECT * FROM U&\"{tmp}/secret\\0063sv\"", INVALID),
    ("SELECT * FROM E'{tmp}/secret.csv'", INVALID),
    ("SELECT * FROM $${tmp}/secret.csv$$", INVALID),
    ("SELECT * FROM read_csv('{tmp}/*.csv')", TABLE_FN),
    ("SELECT * FROM '{tmp}/**/*.csv'", VIEW),
    ("SELECT * FROM '{tmp}/secret.[cp]*'", VIEW),
    ("SELECT * FROM 'http://127.0.0.1:9/x.json'", VIEW),
    ("SELECT * FROM 's3://bucket/x.parquet'", VIEW),
    ("SELECT * FROM read_parquet('s3://bucket/x.parquet')", TABLE_FN),
    ("SELECT * FROM read_json_auto('{tmp}/secret.json')", TABLE_FN),
    ("SELECT * FROM read_blob('{tmp}/secret.csv')", TABLE_FN),
    ("SELECT * FROM sniff_csv('{tmp}/secret.csv')", TABLE_FN),
    ("SELECT * FROM parquet_metadata('{tmp}/secret.parquet')", TABLE_FN),
    ("SELECT * FROM read_duckdb('{tmp}/other.duckdb')", TABLE_FN),
    # FROM first, and statements that read like a query
    ("FROM '{tmp}/secret.csv'", VIEW),
    ("FROM read_csv('{tmp}/secret.csv')", TABLE_FN),
    ("SUMMARIZE '{tmp}/secret.csv'", VIEW),
    ("SUMMARIZE SELECT * FROM read_csv('{tmp}/secret.csv')", TABLE_FN),
    ("DESCRIBE '{tmp}/secret.csv'", VIEW),
    ("DESCRIBE SELECT * FROM read_parquet('{tmp}/secret.parquet')", TABLE_FN),
    ("SHOW TABLES", SHOW),
    ("SHOW ALL TABLES", SHOW),
    ("SHOW DATABASES", SHOW),
    ("SHOW settings", SHOW),
    ("EXPLAIN SELECT * FROM '{tmp}/secret.csv'", ONLY),
    ("EXPLAIN ANALYZE SELECT 1", ONLY),
    ("CALL duckdb_settings()", ONLY),
    ("CREATE MACRO m(x) AS x", ONLY),
    ("CREATE TEMP VIEW v AS SELECT * FROM '{tmp}/secret.csv'", ONLY),
    ("USE main", ONLY),
    ("DETACH maxchat", ONLY),
    ("RESET lock_configuration", ONLY),
    ("IMPORT DATABASE '{tmp}'", ONLY),
    ("CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')", ONLY),
    ("COPY chats FROM '{tmp}/secret.csv'", ONLY),
    # catalogs and schemas
    ("SELECT * FROM duckdb_tables()", TABLE_FN),
    ("SELECT * FROM duckdb_tables", VIEW),
    ("SELECT * FROM information_schema.tables", VIEW),
    ("SELECT * FROM information_schema.columns WHERE table_name = 'settings'", VIEW),
    ("SELECT * FROM pg_catalog.pg_class", VIEW),
    ("SELECT * FROM pg_tables", VIEW),
    ("SELECT * FROM system.main.duckdb_settings()", TABLE_FN),
    ("SELECT * FROM temp.main.x", VIEW),
    ("SELECT * FROM temp.x", VIEW),
    ("SELECT * FROM maxchat.main.agents", VIEW),
    ("SELECT * FROM memory.console.chats", VIEW),
    ("SELECT * FROM main.chats", VIEW),
    ("SELECT * FROM sqlite_master", VIEW),
    ("SELECT * FROM query_table('agents')", TABLE_FN),
    ("SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))", TABLE_FN),
    ("SELECT * FROM histogram(chats, id)", TABLE_FN),
    # functions that reach out, spelled every way
    ("SELECT json_execute_serialized_sql(json_serialize_sql('SELECT 1'))", FN),
    ("SELECT getvariable('x')", FN),
    ("SELECT main.current_setting('temp_directory')", QUALIFIED),
    ("SELECT system.main.repeat('x', 2)", QUALIFIED),
    ("SELECT 'threads'.current_setting()", FN),
    ("SELECT nextval('messages_id_seq')", FN),
    ("SELECT write_log('x')", FN),
    ("SELECT add_parquet_key('k', '0123456789112345')", FN),
    ("SELECT pg_get_viewdef('console.chats')", FN),
    ("SELECT has_table_privilege('agents', 'select')", FN),
    ("SELECT pg_ls_dir('.')", FN),
    ("SELECT pg_stat_file('/etc/passwd')", FN),
    ("SELECT lo_get(1)", FN),
    ("SELECT dblink('host=127.0.0.1', 'SELECT 1')", FN),
    ("SELECT ts_stat('SELECT 1')", FN),
    ("SELECT database_to_xml(true, true, '')", FN),
    ("SELECT sleep_ms(100000)", FN),
]


def test_every_way_out_is_refused_and_no_secret_shows(store, data, tmp_path):
    """All the shapes in one test (one database for each backend), each
    refused with its message; the file's content never appears anywhere."""
    before = snapshot(store)
    wrong = []
    for sql, message in ESCAPES:
        try:
            got = sql_console.run_query(store, "analyst", sql.format(tmp=tmp_path))
            wrong.append((sql, f"ran: {got.frame.head(3).to_dict('records')}"))
        except (NotAllowed, ValidationError) as exc:
            if message not in str(exc) or SECRET in str(exc):
                wrong.append((sql, str(exc)))
    assert wrong == []
    assert snapshot(store) == before
    assert len(ESCAPES) >= len(ISSUE_17) + 30


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # http.server's name
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(f"token\n{SECRET}\n".encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def url():
    """An HTTP server on 127.0.0.1 that counts what reaches it."""
    _Listener.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


ENGINE_REFUSES = [
    "SELECT * FROM read_csv('{tmp}/secret.csv')",
    "SELECT * FROM '{tmp}/secret.csv'",
    "SELECT * FROM '{tmp}/secret.json'",
    "SELECT * FROM read_parquet('{tmp}/secret.parquet')",
    "SELECT * FROM '{tmp}/*.csv'",
    "SELECT * FROM glob('{tmp}/*')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM read_csv('{url}/x.csv')",
    "SELECT * FROM '{url}/x.parquet'",
    "SELECT * FROM 's3://bucket/x.parquet'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "COPY (SELECT 1) TO '{tmp}/out.csv'",
]


@pytest.fixture
def no_check(monkeypatch):
    """The console with its check bypassed: only the engine stands in the way."""
    monkeypatch.setattr(sql_console, "check", lambda *args: None)
    return lambda store, sql: sql_console.run_query(store, "analyst", sql)


def test_duckdb_itself_reads_no_file_url_or_extension_should_the_check_be_bypassed(store, data, tmp_path, url,
                                                                                    backend, no_check):
    if backend != "duckdb":
        pytest.skip("DuckDB's engine (PostgreSQL's below)")
    run = no_check
    before = snapshot(store)
    for sql in ENGINE_REFUSES:
        with pytest.raises(NotAllowed) as refused:
            run(store, sql.format(tmp=tmp_path, url=url))
        assert str(refused.value) == sql_console.REFUSED_ACCESS, sql  # no path, no content
    assert _Listener.hits == []  # not one request left the engine
    assert not (tmp_path / "other.duckdb").exists()
    # A file that exists and one that does not: the same words.
    answers = set()
    for path in (tmp_path / "secret.csv", tmp_path / "missing.csv", "/etc/passwd", "/etc/nonexistent"):
        with pytest.raises(NotAllowed) as refused:
            run(store, f"SELECT * FROM read_text('{path}')")
        answers.add(str(refused.value))
    assert answers == {sql_console.REFUSED_ACCESS}
    # Settings cannot change, not even to open the way again; writes and files out are refused.
    for sql in ("SET enable_external_access = true", "SET lock_configuration = false", "RESET lock_configuration",
                "SET memory_limit = '100GB'", "SET GLOBAL allowed_configs = ['enable_external_access']",
                "SET autoinstall_known_extensions = true", "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')",
                "DELETE FROM main.chats", "UPDATE main.agents SET role = 'admin'"):
        with pytest.raises((NotAllowed, ValidationError)):
            run(store, sql.format(tmp=tmp_path))
    assert store.one("SELECT current_setting('enable_external_access'), current_setting('lock_configuration')") \
        == (False, True)
    assert snapshot(store) == before and not (tmp_path / "out.csv").exists()
    # What the app needs still works under the lock: time zones, JSON, a cursor's own search path.
    assert store.one("SELECT strftime(TIMESTAMPTZ '2024-01-01 00:00:00+07', '%H'), json_serialize_sql('SELECT 1')"
                     " IS NOT NULL") == ("17", True)


ENGINE_REFUSES_PG = [
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_file('/etc/nonexistent')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('/etc')",
    "SELECT pg_stat_file('/etc/passwd')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT password_hash FROM public.agents",
    "SELECT value FROM public.settings",
    "SELECT query_to_xml('SELECT password_hash FROM public.agents', true, true, '')",
    "SELECT table_to_xml('public.agents', true, true, '')",
    "SELECT current_setting('data_directory')",
    "SELECT * FROM pg_catalog.pg_authid",
    "SELECT * FROM pg_catalog.pg_file_settings",
    "SELECT * FROM pg_catalog.pg_hba_file_rules",
    "SELECT pg_reload_conf()",
    "SELECT setval('public.messages_id_seq', 1)",
]


def test_postgresql_itself_reads_no_file_or_other_table_should_the_check_be_bypassed(store, data, backend, no_check):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's engine (DuckDB's above)")
    before = snapshot(store)
    run = no_check
    for sql in ENGINE_REFUSES_PG:
        with pytest.raises(NotAllowed) as refused:
            run(store, sql)
        assert str(refused.value) == sql_console.REFUSED_ACCESS, sql
    with pytest.raises(ValidationError, match="syntax error"):  # a cursor is declared for a SELECT only
        run(store, "COPY (SELECT 1) TO PROGRAM 'true'")
    with pytest.raises(ValidationError, match="does not exist"):
        run(store, "SELECT dblink('host=127.0.0.1', 'SELECT 1')")
    assert snapshot(store) == before
    # The views still read, as the console's role.
    assert run(store, "SELECT username FROM agents ORDER BY 1").frame["username"].tolist() == ["admin", "budi", "sari"]


def test_on_postgresql_without_its_role_the_console_says_what_to_ask_for(store, data, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL role")
    monkeypatch.setattr(sql_console, "PG_ROLE", "maxchat_nobody")
    with pytest.raises(NotAllowed, match="needs the PostgreSQL role maxchat_nobody.*CREATE ROLE maxchat_nobody"):
        sql_console.run_query(store, "analyst", "SELECT 1")


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
    # The pooled connection comes back clean: no transaction, the usual search path, no time limit, its own role.
    assert store.one("SELECT current_setting('transaction_read_only'), current_setting('search_path'),"
                     " current_setting('statement_timeout'), current_user = session_user") \
        == ("off", '"$user", public', "0", True)


def _peak_rss_during(fn):
    """Run ``fn``; the process's resident size before, at its peak and after (bytes)."""
    def resident():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    before, peak, done = resident(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], resident())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        outcome = fn()
    finally:
        done.set()
        sampler.join()
    return outcome, before, max(peak[0], before)


MB = 2**20


def test_the_hostile_query_of_issue_17_is_refused_at_once_and_costs_no_memory(store, data):
    """``repeat('x', 1000000) FROM range(1000)`` took the server from 296 MB
    to 4 GB: a size the console builds must be written out and small."""
    def hostile():
        with pytest.raises(NotAllowed, match=r"repeat\(\) in the console .* at most 10,000 characters"):
            sql_console.run_query(store, "analyst", "SELECT repeat('x', 1000000) FROM range(1000)")
    _, before, peak = _peak_rss_during(hostile)
    assert peak - before < 50 * MB
    for sql, name in (("SELECT repeat('x', id * 1000000) FROM chats", "repeat"),
                      ("SELECT lpad('x', 100000000)", "lpad"), ("SELECT rpad(body, 20000) FROM messages", "rpad"),
                      ("SELECT printf('%0999999999d', 1)", "printf"), ("SELECT format('{:>{}}', 'x', 10)", "format"),
                      ("SELECT range(1000000000)", "range"), ("SELECT generate_series(1, 1000000000)", "generate_series"),
                      ("SELECT list_resize([1], 1000000000)", "list_resize"), ("SELECT bar(1, 0, 1, 1000000000)", "bar")):
        with pytest.raises(NotAllowed, match=rf"{name}\(\)"):
            sql_console.run_query(store, "analyst", sql)


def test_a_big_result_comes_back_cut_at_the_byte_limit_with_memory_bounded(store, data):
    sql = "SELECT repeat('x', 9000) || i AS v FROM generate_series(1, 200000) t(i)"  # 1.8 GB in all
    result, before, peak = _peak_rss_during(lambda: sql_console.run_query(store, "analyst", sql))
    assert result.truncated and result.cut == "cut at 8 MB"
    assert 0 < result.frame["v"].str.len().sum() <= sql_console.BYTE_LIMIT
    assert peak - before < 600 * MB


def test_a_long_value_is_cut_and_said_so(store, data):
    r = sql_console.run_query(store, "analyst", "SELECT repeat('x', 6000) || repeat('y', 6000) AS v, 1 AS n")
    assert r.frame["v"].tolist() == ["x" * 6000 + "y" * 4000] and r.frame["n"].tolist() == [1]
    assert r.cut == "values longer than 10,000 characters cut" and not r.truncated


def test_a_query_growing_past_the_memory_limit_is_stopped_and_gives_the_memory_back(store, data, backend):
    if backend != "duckdb":
        pytest.skip("PostgreSQL's memory is its own server's; the app only receives the rows")
    sql = "SELECT length(string_agg(repeat('x', 1000), '')) FROM range(3000000)"  # 3 GB in one value

    def hostile():
        with pytest.raises(NotAllowed, match="needed more than 256 MB of memory and was stopped"):
            sql_console.run_query(store, "analyst", sql)
    _, before, peak = _peak_rss_during(hostile)
    assert peak - before < 600 * MB
    assert sql_console.run_query(store, "analyst", "SELECT count(*) AS n FROM chats").frame["n"].tolist() == [1]


def test_four_hostile_queries_at_once_run_one_at_a_time_and_the_store_keeps_answering(store, data, backend):
    if backend != "duckdb":
        pytest.skip("the memory watchdog is DuckDB's (PostgreSQL computes in its own server)")
    sql = "SELECT length(string_agg(repeat('x', 1000), '')) FROM range(3000000)"
    answers, reads = [], []

    def console():
        try:
            sql_console.run_query(store, "analyst", sql)
        except NotAllowed as exc:
            answers.append(str(exc))

    def four():
        threads = [threading.Thread(target=console) for _ in range(4)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            t0 = time.perf_counter()
            store.one("SELECT count(*) FROM chats")
            reads.append(time.perf_counter() - t0)
            time.sleep(0.05)
        for t in threads:
            t.join()
    _, before, peak = _peak_rss_during(four)
    assert len(answers) == 4 and all("needed more than 256 MB" in a or "busy" in a for a in answers)
    assert peak - before < 600 * MB
    assert max(reads) < 1.0
