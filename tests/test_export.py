"""D3: the data teams' Parquet export, through the real command line."""
from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from conftest import customer_writes
from maxchat_data import actions, export
from maxchat_data.__main__ import main
from maxchat_data.store import utcnow

pytestmark = pytest.mark.both_backends


def test_export_writes_day_partitions_that_read_back_to_the_same_rows(store, team, tmp_path, capsys):
    now = utcnow()
    old = customer_writes(store, "6281", "kemarin", sent_at=now - timedelta(days=3)).chat_id
    new = customer_writes(store, "6282", "hari ini", name="Budi").chat_id
    actions.reply(store, new, team["budi"], "Siap")
    actions.resolve(store, old, team["sari"])
    expected = {t: store.all(f"SELECT * FROM console.{t} ORDER BY id") for t in ("sessions", "messages", "chats", "events")}
    db = store.path
    store.close()
    out = tmp_path / "lake"
    assert main(["--db", db, "export", "--parquet", str(out)]) == 0
    assert "messages:" in capsys.readouterr().out
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for table, rows in expected.items():
        days = sorted(p.name for p in (out / table).iterdir())
        assert days and all(d.startswith("dt=") for d in days), table
        back = con.execute(f"SELECT * EXCLUDE (dt) FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true)"
                           " ORDER BY id").fetchall()
        assert back == rows, table
    # The day partitions follow the row's time (UTC day): the 3-day-old message is in its own day.
    assert len(list((out / "messages").iterdir())) >= 2
    # Never secrets: no password hash column anywhere.
    cols = {c for t in expected for c in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{out}/{t}/*/*.parquet', hive_partitioning=true)").fetchall()}
    assert not any("password" in str(c) or "hash" in str(c) for c in cols)
    # --since keeps the recent days only.
    since = (now - timedelta(days=1)).date().isoformat()
    assert main(["--db", db, "export", "--parquet", str(tmp_path / "recent"), "--since", since]) == 0
    recent = con.execute(f"SELECT min(sent_at) FROM read_parquet('{tmp_path}/recent/messages/*/*.parquet')").fetchone()[0]
    assert recent.date() >= (now - timedelta(days=1)).date()


def read_back(out, table):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    return con.execute(f"SELECT * EXCLUDE (dt) FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true)"
                       " ORDER BY id").fetchall()


def test_every_column_type_comes_back_as_it_was_and_a_rerun_replaces_its_days(store, team, tmp_path):
    day1, day2 = utcnow() - timedelta(days=2), utcnow()

    def write(w):
        for i, (at, labels_) in enumerate([(day1, [3, 1]), (day2, [])], 1):
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                      " label_ids, created_at) VALUES (?, ?, 'whatsapp', ?, 'Rina \U0001F64F', 'rina', 'Open', ?, ?)",
                      [i, i, f"u{i}", labels_, at])
            w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at) VALUES (?, ?, 'User initiate', ?)",
                      [i, i, at])
            w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, status, sent_at,"
                      " created_at) VALUES (?, ?, ?, 'whatsapp', 'in', 'text', '<b>50% off</b>', 'received', ?, ?)",
                      [i, i, i, at, at])
    store.write(write)
    out = tmp_path / "lake"
    written = export.export_parquet(store, out)
    assert written == {"sessions": 2, "messages": 2, "chats": 2, "events": store.one("SELECT count(*) FROM events")[0]}
    assert read_back(out, "events") == store.all("SELECT * FROM console.events ORDER BY id")  # the agents' creation
    for table in ("sessions", "messages", "chats"):
        assert read_back(out, table) == store.all(f"SELECT * FROM console.{table} ORDER BY id"), table
        assert sorted(p.name for p in (out / table).iterdir()) == [f"dt={day1.date()}", f"dt={day2.date()}"]
    # A rerun from day 2 on replaces day 2's files and leaves day 1's.
    store.write(lambda w: w.execute("UPDATE messages SET body = 'edited' WHERE id = 2"))
    assert export.export_parquet(store, out, since=day2.date())["messages"] == 1
    assert [r[7] for r in read_back(out, "messages")] == ["<b>50% off</b>", "edited"]
    # The command line, on the store's own database (a file or a PostgreSQL URL).
    expected = read_back(out, "messages")
    store.close()
    assert main(["--db", str(store.path), "export", "--parquet", str(tmp_path / "cli")]) == 0
    assert read_back(tmp_path / "cli", "messages") == expected
