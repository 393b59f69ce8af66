"""D3: the data teams' Parquet export, through the real command line."""
from __future__ import annotations

from datetime import timedelta

import duckdb

from conftest import customer_writes
from maxchat_data import actions
from maxchat_data.__main__ import main
from maxchat_data.store import utcnow


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
