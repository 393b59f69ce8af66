"""``python -m maxchat_data migrate --to postgresql://…``: a DuckDB file
filled through the real write paths is copied into an empty PostgreSQL
database, every row intact; a used target, a held file or a wrong URL is
refused with one line and changes nothing."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from maxchat_data import actions, broadcasts, copy_to_pg, demo, open_store, outbox, quick_replies, system
from maxchat_data.__main__ import main
from maxchat_data.ingest import Change, Inbound, MediaRef, Parsed, store_parsed
from maxchat_data.login import sessions
from maxchat_data.login.tokens import Session
from maxchat_data.store import ID_TABLES, Store

import pg_cluster
from conftest import customer_writes
from fakes.helpers import PNG

pytestmark = pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL 15 is not installed")
ROOT = Path(__file__).resolve().parents[1]
NOT_COPIED = {"schema_migrations"}


def fill(path: Path) -> None:
    """Demo chats plus one of everything else the app writes."""
    s = open_store(str(path), str(path.parent / "media"))
    try:
        admin = system.create_account(s, "admin", "Admin", "admin-pass-1", "admin")
        demo.generate(s, 20, 6.0, 7, 2.0)
        got = customer_writes(s, user="6281299990001", text="Halo kak 🙏 <b>not markup</b>", pmid="wamid.fill1")
        customer_writes(s, user="6281299990001", pmid="wamid.fill2", kind="location", text=None,
                        details={"lat": -6.2, "lon": 106.8, "name": "Monas", "address": "Jakarta"})
        customer_writes(s, user="6281299990002", pmid="wamid.fill3", text="foto", kind="image")
        actions.reply(s, got.chat_id, admin, "Baik kak, kami cek dulu ya.")
        actions.send_attachment(s, got.chat_id, admin, "photo.png", PNG, caption="Ini fotonya")
        assert outbox.claim(s, "fill-sender", limit=1)  # a reply a delivery lane has taken (claimed_by, senders)
        store_parsed(s, Parsed(
            media=[MediaRef("whatsapp", "wamid.fill3", "media-123", "a.jpg", "image/jpeg")],
            profiles=[("messenger", "psid-7")],
            changes=[Change("whatsapp", "wamid.fill1", "edited", "chg-1", sender="6281299990001", body="Halo kak, sudah sampai?"),
                     Change("whatsapp", "wamid.fill1", "reaction", "chg-2", sender="6281299990001", emoji="👍")]))
        quick_replies.create(s, admin, "thanks", "Terima kasih {{contact.name}}", shared=True)
        template = s.one("SELECT id FROM templates WHERE name = 'order_update'")[0]
        broadcasts.create(s, admin, template, broadcasts.Audience("channel"), ["{{contact.name}}", "INV-7"], rate=5)
        sessions.revoke(s, Session(admin, "sid-logged-out", 0.0, datetime.now(timezone.utc).timestamp() + 3600))
        system.set_password(s, "budi", "budi-new-pass-1")  # ends Budi's sessions: a session epoch
        # Always empty on DuckDB (facts.py): a row by hand so its copy is checked too.
        s.write(lambda w: w.execute("INSERT INTO facts_pending VALUES ('messages', 0, ?)", [datetime.now(timezone.utc)]))
    finally:
        s.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("source") / "maxchat.duckdb"
    fill(path)
    return path


@pytest.fixture
def target():
    """A new, empty database: not even migrated (the copy migrates it)."""
    name = f"copy_{abs(hash(datetime.now()))}"
    base = pg_cluster.cluster()
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    pg_cluster.drop_database(url)


def tables_of(path: Path) -> list[str]:
    s = Store(path)
    try:
        return [t for (t,) in s.all("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
                                     " AND table_type = 'BASE TABLE' ORDER BY 1") if t not in NOT_COPIED]
    finally:
        s.close()


def rows(con_or_store, table: str) -> list[tuple]:
    """Every row, in an order both engines agree on (not collation-dependent)."""
    if isinstance(con_or_store, psycopg.Connection):
        got = con_or_store.execute(f"SELECT * FROM {table}").fetchall()
    else:
        got = con_or_store.all(f"SELECT * FROM {table}")
    return sorted(got, key=lambda r: tuple(str(v) for v in r))


def snapshot(url: str) -> dict:
    with psycopg.connect(url) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables"
                                             " WHERE table_schema = 'public' ORDER BY 1").fetchall()]
        return {t: rows(con, t) for t in tables}


def migrate(source: Path, url: str, capsys) -> tuple[int, str, str]:
    code = main(["--db", str(source), "migrate", "--to", url])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_row_arrives_intact(source, target, capsys):
    code, out, err = migrate(source, target, capsys)
    assert code == 0, err
    bars = [line for line in err.splitlines() if line.startswith("copy [")]  # progress on stderr, as rows go
    copied = sum(int(line.split(": ")[1].split(" =")[0].replace(",", "")) for line in out.splitlines() if " = " in line)
    assert bars and bars[-1].startswith(f"copy [{'#' * 30}] {copied:,}/{copied:,} rows 100%")
    tables = tables_of(source)
    duck = Store(source)
    try:
        with psycopg.connect(target) as pg:
            for table in tables:
                want = rows(duck, table)
                assert rows(pg, table) == want, table
                assert f"{table}: {len(want):,} = {len(want):,} ✓" in out
            empty = [t for t in tables if not rows(duck, t)]
            # The fill reaches every table, so this compared real rows everywhere.
            assert empty == [], empty
            # Arrays, JSON text and timestamps came through as values, not text.
            (params,) = pg.execute("SELECT template_params FROM messages WHERE template_params IS NOT NULL"
                                   " LIMIT 1").fetchone()
            assert isinstance(params, list) and params[1] == "INV-7"
            (details,) = pg.execute("SELECT details::json ->> 'name' FROM messages"
                                    " WHERE provider_message_id = 'wamid.fill2'").fetchone()
            assert details == "Monas"
            (labels_,) = pg.execute("SELECT label_ids FROM chats WHERE cardinality(label_ids) > 0 LIMIT 1").fetchone()
            assert labels_ and all(isinstance(x, int) for x in labels_)
            # Planner statistics are there from the start (pg_stats fills only on ANALYZE).
            assert pg.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'chats'").fetchone()[0] > 0
    finally:
        duck.close()
    assert "copied" in out


def new_chat(w):
    chat_id, message_id = w.ids.next("chats"), w.ids.next("messages")
    now = datetime.now(timezone.utc)
    w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
              " created_at) VALUES (?, 0, 'whatsapp', '6281277770001', 'Baru', 'baru', 'Open', ?)", [chat_id, now])
    w.execute("INSERT INTO messages (id, chat_id, channel, direction, kind, body, status, sent_at, created_at)"
              " VALUES (?, ?, 'whatsapp', 'in', 'text', 'Halo', 'received', ?, ?)", [message_id, chat_id, now, now])
    return chat_id, message_id


def test_new_rows_get_ids_above_the_copied_ones(source, target, capsys, tmp_path):
    assert migrate(source, target, capsys)[0] == 0
    with psycopg.connect(target) as pg:
        top = {t: pg.execute(f"SELECT max(id) FROM {t}").fetchone()[0] for t in ID_TABLES}
    s = open_store(target, str(tmp_path / "media"))
    try:
        # Ids as every write function takes them (ingest itself is not on PostgreSQL yet).
        chat_id, message_id = s.write(new_chat)
        agent = system.create_account(s, "newbie", "New Agent", "newbie-pass-1", "agent")
        reply = quick_replies.create(s, agent, "hi", "Hi!")
    finally:
        s.close()
    assert chat_id > top["chats"] and message_id > top["messages"]
    assert agent > top["agents"] and reply > top["quick_replies"]


def test_a_used_database_is_refused_and_left_as_it_was(source, target, capsys):
    assert migrate(source, target, capsys)[0] == 0
    before = snapshot(target)
    code, out, err = migrate(source, target, capsys)
    assert code == 2
    assert "is not empty" in err and "Nothing was changed" in err and "\n" not in err.strip()
    assert "✓" not in out
    assert snapshot(target) == before


def test_a_database_of_something_else_is_refused(source, target, capsys):
    with psycopg.connect(target, autocommit=True) as con:
        con.execute("CREATE TABLE invoices (id INTEGER)")
    code, _, err = migrate(source, target, capsys)
    assert code == 2 and "not Maxchat's" in err
    assert list(snapshot(target)) == ["invoices"]


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maxchat_data", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_wrong_url_gives_one_line_not_a_traceback(source):
    closed = pg_cluster.cluster().rsplit("@", 1)[0] + "@127.0.0.1:1/maxchat"
    for url, says in [(closed, "Cannot connect to"), ("mysql://db/maxchat", "takes a PostgreSQL URL"),
                      ("postgresql://u:hunter2@127.0.0.1:1/x", "postgresql://u:***@127.0.0.1:1/x")]:
        done = run_cli("--db", str(source), "migrate", "--to", url)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert says in done.stderr
        assert "hunter2" not in done.stderr + done.stdout


def test_a_file_a_server_holds_is_refused(tmp_path, target):
    path = tmp_path / "held.duckdb"
    held = Store(path)  # the running server
    try:
        done = run_cli("--db", str(path), "migrate", "--to", target)
    finally:
        held.close()
    assert done.returncode == 2
    assert "in use by another process" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(target) == {}  # not even migrated


def test_a_count_that_differs_exits_non_zero(source, target, capsys, monkeypatch):
    """Should a table arrive short, the command says which and fails."""
    real = copy_to_pg._copy_table

    def lose_one_note(duck, pg, table):
        yield from real(duck, pg, table)
        if table == "notes":
            pg.execute("DELETE FROM notes WHERE id = (SELECT max(id) FROM notes)")
    monkeypatch.setattr(copy_to_pg, "_copy_table", lose_one_note)
    duck = Store(source)
    (notes,) = duck.one("SELECT count(*) FROM notes")
    duck.close()
    code, out, _ = migrate(source, target, capsys)
    assert code == 1
    assert f"notes: {notes} ≠ {notes - 1} ✗ MISMATCH" in out and "do not switch" in out



def test_migrating_an_empty_postgresql_database_reports_each_migration(target, tmp_path):
    from maxchat_data.pg_store import PG_MIGRATIONS_DIR, PgStore
    steps = len(list(PG_MIGRATIONS_DIR.glob("*.sql")))
    calls = []
    PgStore(target, tmp_path / "media", progress=lambda d, t: calls.append((d, t))).close()
    assert calls == [(n, steps) for n in range(steps + 1)]
    calls.clear()
    PgStore(target, tmp_path / "media", progress=lambda d, t: calls.append((d, t))).close()
    assert calls == []
