"""Channels are not alike (issue 19): the Monitor times each channel by its
own reply window (window.WINDOW), the window's explanation is said once and
follows the channel's window, and a label stores its colour's palette name,
so a shade changed in the palette changes every label of that colour."""
from __future__ import annotations

import shutil
from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

import pg_cluster
from conftest import customer_writes
from maxchat_data import actions, labels, monitor, pg_store, sql_console, store as store_module, window
from maxchat_data.errors import NotAllowed
from maxchat_data import open_store
from maxchat_data.engine import label_bits
from maxchat_data.store import MIGRATIONS_DIR, utcnow
from test_chat_page import env, ok, open_chat, run_as  # env is the page tests' fixture
from ui import admin, chat_text

JKT = ZoneInfo("Asia/Jakarta")
WEEK = timedelta(days=7)


@pytest.mark.both_backends
def test_the_monitor_times_each_channel_by_its_own_window(store, team, monkeypatch):
    monkeypatch.setitem(window.WINDOW, "messenger", WEEK)  # Messenger's human-agent window: 7 days
    now = utcnow()
    wa = customer_writes(store, "6281", "a", name="WA", sent_at=now - timedelta(hours=23, minutes=30)).chat_id
    week = customer_writes(store, "m1", "b", channel="messenger", name="Week",
                           sent_at=now - WEEK + timedelta(minutes=20)).chat_id
    customer_writes(store, "m2", "c", channel="messenger", name="Day", sent_at=now - timedelta(hours=23, minutes=30))
    customer_writes(store, "m3", "d", channel="messenger", name="Gone", sent_at=now - WEEK - timedelta(minutes=5))
    closing = monitor.snapshot(store, JKT, now=now).closing
    assert [c["chat_id"] for c in closing] == [week, wa]  # soonest first; a day-old Messenger chat has 6 days left
    assert [c["closes_at"] - c["last_inbound_at"] for c in closing] == [WEEK, timedelta(hours=24)]


def test_the_composer_and_the_send_explain_the_channels_own_window(env, monkeypatch):
    store, ids = env
    monkeypatch.setitem(window.WINDOW, "messenger", WEEK)
    chat = customer_writes(store, "m1", "halo", channel="messenger", name="Lama",
                           sent_at=utcnow() - timedelta(days=8)).chat_id
    with pytest.raises(NotAllowed) as refused:
        actions.reply(store, chat, ids["budi"], "masih di sana?")
    said = str(refused.value)
    assert said.startswith("The 168-hour window is closed: the customer has not written for over 168 hours")
    at = open_chat(ok(run_as(store, ids["budi"])), chat)
    assert said in [w.value for w in at.warning]  # the composer says the very sentence the send refuses with
    assert any("168-hour window closed" in cap.value for cap in at.caption)


@pytest.mark.both_backends
def test_a_label_keeps_its_colour_when_the_palette_changes_a_shade(store, team, monkeypatch):
    teal = labels.create_label(store, "Reseller", "Teal", team["admin"])
    assert labels.list_labels(store) == [{"id": teal, "name": "Reseller", "color": "Teal"}]
    monkeypatch.setitem(labels.PALETTE, "Teal", "#009688")  # a new shade of teal
    found = labels.list_labels(store)
    assert 'style="background:#009688"' in chat_text.label_chips(found)
    assert "background:#009688" in chat_text.label_swatch(found[0]["color"])
    assert "background:#009688" in admin.swatch(found[0]["color"])
    with pytest.raises(Exception, match="Pick a colour"):
        labels.create_label(store, "Hex", "#009688", team["admin"])  # a hex is not a colour's name


def _database(backend: str, tmp_path, monkeypatch, before: int, fill) -> tuple[str, object]:
    """A new database migrated up to ``before`` (exclusive), the runner of
    its engine reading a copy of the migrations without the later ones, and
    ``fill`` written into it then. Returns (where, drop it)."""
    older = tmp_path / "migrations"
    (older / "postgresql").mkdir(parents=True)
    for folder in (MIGRATIONS_DIR, MIGRATIONS_DIR / "postgresql"):
        for f in folder.glob("*.sql"):
            if int(f.name.split("_")[0]) < before:
                shutil.copy(f, older / f.relative_to(MIGRATIONS_DIR))
    if backend == "duckdb":
        where, drop = str(tmp_path / "maxchat.duckdb"), lambda: None
    else:
        name = f"older_{abs(hash(str(tmp_path))) % 10**8}"
        base = pg_cluster.cluster()
        with psycopg.connect(base, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        where = base.rsplit("/", 1)[0] + "/" + name
        drop = lambda: pg_cluster.drop_database(where)
    with monkeypatch.context() as m:
        m.setattr(store_module, "MIGRATIONS_DIR", older)
        m.setattr(pg_store, "PG_MIGRATIONS_DIR", older / "postgresql")
        s = open_store(where, tmp_path / "media")
        try:
            s.write(fill)
        finally:
            s.close()
    return where, drop


@pytest.mark.both_backends
def test_the_migrations_keep_existing_labels_colours_and_first_responses(backend, tmp_path, monkeypatch):
    if backend == "postgresql" and not pg_cluster.available():
        pytest.skip("PostgreSQL 15 is not installed")
    now = utcnow()

    def older_rows(w):
        for i, hex_ in enumerate(("#E53935", "#00897b", "#123456"), 1):  # Red, Teal (lower case), unknown
            w.execute("INSERT INTO labels VALUES (?, ?, ?, ?, ?)", [i, f"L{i}", f"l{i}", hex_, now])
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at, first_response_at)"
                  " VALUES (1, 1, 'User initiate', ?, ?)", [now, now])  # the send-time column that goes
        w.execute("INSERT INTO session_facts (session_id, chat_id, channel, started_at, first_customer_at,"
                  " first_reply_at, first_reply_agent_id) VALUES (1, 1, 'whatsapp', ?, ?, ?, 7)",
                  [now, now, now + timedelta(seconds=90)])
        w.execute("UPDATE facts_state SET sessions_through = 1")

    where, drop = _database(backend, tmp_path, monkeypatch, 14, older_rows)
    try:
        s = open_store(where, tmp_path / "media")  # the later migrations run now
        try:
            assert s.all("SELECT name, color FROM labels ORDER BY id") == [
                ("L1", "Red"), ("L2", "Teal"), ("L3", "Grey")]
            assert s.one("SELECT first_response_at, first_response_agent_id FROM session_facts") == (
                now + timedelta(seconds=90), 7)
            assert s.one("SELECT first_response_at, first_response_s FROM console.sessions") == (
                now + timedelta(seconds=90), 90.0)
            # The view made again is the console's to read (on PostgreSQL, as the console's role).
            got = sql_console.run_query(s, "analyst", "SELECT first_response_s FROM sessions", tz=JKT).frame
            assert got["first_response_s"].tolist() == [90.0]
        finally:
            s.close()
    finally:
        drop()


@pytest.mark.both_backends
def test_the_migration_gives_each_labelled_chat_the_bits_of_its_labels(backend, tmp_path, monkeypatch):
    """Migration 018: labels 1-62 as bits of chats.label_bits, which the label
    filter reads on DuckDB; labels past 62 have no bit, a chat without labels 0."""
    if backend == "postgresql" and not pg_cluster.available():
        pytest.skip("PostgreSQL 15 is not installed")
    carried = {1: [3, 70], 2: [], 3: [1, 62, 63], 4: [64]}

    def older_chats(w):
        for chat_id, ids in carried.items():
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                      " label_ids, created_at) VALUES (?, ?, 'telegram', ?, 'X', 'x', 'Open', ?::INTEGER[], now())",
                      [chat_id, chat_id, str(chat_id), ids])

    where, drop = _database(backend, tmp_path, monkeypatch, 18, older_chats)
    try:
        s = open_store(where, tmp_path / "media")  # 018 runs now
        try:
            assert dict(s.all("SELECT id, label_bits FROM chats")) == {
                1: 1 << 3, 2: 0, 3: (1 << 1) | (1 << 62), 4: 0} == {i: label_bits(ids) for i, ids in carried.items()}
            for wanted, found in (([3], [1]), ([70], [1]), ([62], [3]), ([63, 64], [3, 4]), ([5], [])):
                sql, params = s.engine.has_labels(wanted)
                assert [i for (i,) in s.all(f"SELECT id FROM chats WHERE {sql} ORDER BY id", params or None)] == found
        finally:
            s.close()
    finally:
        drop()
