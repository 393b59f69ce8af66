"""Issue 19, figures that hold: the demo made in batches (each its own write,
with progress), progress of the long commands, and repeat deliveries that
cost what a new message costs (no failed transaction, no lookup per
message)."""
from __future__ import annotations

import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import customer_writes
from maxchat_data import demo, export
from maxchat_data.errors import ValidationError
from maxchat_data.ingest import Inbound, receive_async
from maxchat_data.progress import Bar
from maxchat_data.store import Store

ROOT = Path(__file__).resolve().parents[1]


# ---- the demo in batches ------------------------------------------------------------------
def test_demo_in_batches_commits_each_batch_and_reports_progress(store):
    calls = []
    made = demo.generate(store, 2500, messages_per_chat=4, batch=1000, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]
    chats, sessions, messages = store.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM sessions),"
                                          " (SELECT count(*) FROM messages)")
    assert made == {"chats": 2500, "messages": messages} and chats == sessions == 2500
    # Every batch made its own chats: none without messages, none sharing a contact or a customer.
    assert store.one("SELECT count(*) FROM chats c WHERE NOT EXISTS"
                     " (SELECT 1 FROM messages m WHERE m.chat_id = c.id)")[0] == 0
    assert store.one("SELECT count(DISTINCT contact_id), count(DISTINCT (channel, channel_user_id)) FROM chats") \
        == (2500, 2500)
    # The batches differ (each draws its own numbers), and the facts know every session.
    assert store.one("SELECT count(DISTINCT contact_name) FROM chats WHERE id > 2000")[0] > 30
    assert store.one("SELECT count(*) FROM session_facts")[0] == 2500


def test_demo_sizes_its_batches_by_the_pace_so_far(store, monkeypatch):
    monkeypatch.setattr(demo, "FIRST_BATCH", 300)
    monkeypatch.setattr(demo, "BATCH_SECONDS", 0.0)  # as if each batch were very slow: the smallest batches next
    calls = []
    made = demo.generate(store, 700, messages_per_chat=3, progress=lambda d, t: calls.append(d))
    assert calls == [300, 400, 500, 600, 700] and made["chats"] == 700
    assert store.one("SELECT count(*) FROM chats")[0] == 700


def test_demo_refuses_an_empty_batch(store):
    with pytest.raises(ValidationError):
        demo.generate(store, 10, batch=0)
    assert store.one("SELECT count(*) FROM chats")[0] == 0


@pytest.mark.slow
def test_demo_command_shows_progress_without_a_terminal(tmp_path):
    db = tmp_path / "demo.duckdb"
    out = subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(db), "demo", "--chats", "3000",
                          "--batch", "500"], cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={"PATH": "/usr/bin:/bin", "MAXCHAT_DEMO": "0", "HOME": str(tmp_path), "MAXCHAT_LANGUAGE": "en"})
    assert out.returncode == 0, out.stderr
    bars = [line for line in out.stderr.splitlines() if line.startswith("demo [")]
    # One line per batch (each is more than a tenth of the whole), none redrawn with \r in a log.
    assert [line.split("] ")[1].split(" chats")[0] for line in bars] == \
        ["500/3,000", "1,000/3,000", "1,500/3,000", "2,000/3,000", "2,500/3,000", "3,000/3,000"]
    assert "\r" not in out.stderr and bars[-1].split()[-3] == "100%"
    with Store(db, tmp_path / "media") as s:
        chats, messages = s.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM messages)")
    assert chats == 3000 and f"added 3,000 chats and {messages:,} messages" in out.stdout


def test_export_reports_progress_up_to_every_row(store, tmp_path):
    demo.generate(store, 300, messages_per_chat=4)
    calls = []
    written = export.export_parquet(store, tmp_path / "lake", progress=lambda d, t: calls.append((d, t)))
    total = sum(written.values())
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and all(t == total for _, t in calls)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_on_a_terminal_and_steps_in_a_log():
    log, tty = io.StringIO(), _Terminal()
    for stream in (log, tty):
        bar = Bar("copy", "rows", stream=stream)
        for done in range(0, 101, 2):
            bar(done, 100)
        bar(100, 100)  # said again at the end: not printed again
    lines = log.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("copy [" + "#" * 30 + "] 100/100 rows 100%")
    assert tty.getvalue().count("\r") == 51 and tty.getvalue().endswith("\n")


# ---- repeat deliveries ------------------------------------------------------------------------
def _rollbacks(store, monkeypatch) -> list:
    seen = []
    writer = store._w
    original = writer.rolled_back
    monkeypatch.setattr(writer, "rolled_back", lambda: (seen.append(1), original()))
    return seen


def test_a_repeat_delivery_costs_no_failed_transaction(store, monkeypatch):
    first = customer_writes(store, user="62811", pmid="wamid.again", text="halo")
    rollbacks = _rollbacks(store, monkeypatch)
    again = [receive_async(store, Inbound("whatsapp", "62811", "wamid.again", "Rina", body="halo")),
             receive_async(store, Inbound("whatsapp", "62811", "wamid.new", "Rina", body="baru"))]
    repeat, new = (f.result(5) for f in again)
    assert repeat.duplicate and (repeat.message_id, repeat.chat_id) == (first.message_id, first.chat_id)
    assert not new.duplicate and new.chat_id == first.chat_id
    assert rollbacks == []  # the old code failed the group and tried it again, looking up every message
    assert store.one("SELECT count(*), max(unread) FROM messages JOIN chats c ON c.id = chat_id") == (2, 2)


def test_repeats_the_writer_does_not_remember_are_found_in_the_file(store, tmp_path):
    first = customer_writes(store, user="62811", pmid="wamid.old", text="halo")
    path = store.path
    store.close()
    with Store(path, tmp_path / "media") as again:  # a restart: the writer remembers nothing
        results = [f.result(5) for f in [
            receive_async(again, Inbound("whatsapp", "62811", "wamid.old", "Rina", body="halo")),
            receive_async(again, Inbound("whatsapp", "62899", "wamid.other", "Dewi", body="baru"))]]
        assert results[0].duplicate and results[0].message_id == first.message_id
        assert not results[1].duplicate
        assert again.one("SELECT count(*) FROM messages")[0] == 2


def test_the_writer_remembers_a_bounded_number_of_messages(store, monkeypatch):
    from maxchat_data import store as store_module
    monkeypatch.setattr(store_module, "RECENT_MESSAGES", 3)
    first = [customer_writes(store, user=f"6281{i}", pmid=f"wamid.b{i}") for i in range(5)]
    assert len(store._w._recent) == 3
    again = customer_writes(store, user="62810", pmid="wamid.b0")  # forgotten by the writer: found in the file
    assert again.duplicate and again.message_id == first[0].message_id
    assert store.one("SELECT count(*) FROM messages")[0] == 5


def test_a_message_of_a_rolled_back_transaction_is_not_taken_for_a_repeat(store):
    running, release = threading.Event(), threading.Event()
    blocker = store.submit(lambda w: (running.set(), release.wait(5)))
    assert running.wait(5)
    # These two share the next group: the bad one fails it, and each is then run alone.
    message = receive_async(store, Inbound("whatsapp", "62811", "wamid.kept", "Rina", body="halo"))
    bad = store.submit(lambda w: w.execute("SELECT * FROM no_such_table"))
    release.set()
    blocker.result(5)
    stored = message.result(5)
    with pytest.raises(Exception, match="no_such_table"):
        bad.result(5)
    assert not stored.duplicate
    assert store.one("SELECT count(*) FROM messages WHERE provider_message_id = 'wamid.kept'")[0] == 1


def test_migrate_reports_each_migration_and_says_nothing_when_up_to_date(tmp_path, capsys):
    from maxchat_data.__main__ import main
    from maxchat_data.store import MIGRATIONS_DIR
    steps = len(list(MIGRATIONS_DIR.glob("*.sql")))
    calls = []
    Store(tmp_path / "new.duckdb", progress=lambda d, t: calls.append((d, t))).close()
    assert calls == [(n, steps) for n in range(steps + 1)]  # before each, and once when all are in
    calls.clear()
    Store(tmp_path / "new.duckdb", progress=lambda d, t: calls.append((d, t))).close()
    assert calls == []
    # The command shows it as a bar (a line per step away from a terminal).
    assert main(["--db", str(tmp_path / "other.duckdb"), "migrate"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"migrate [{'.' * 30}] 0/{steps} migrations")
    assert err[-1].startswith(f"migrate [{'#' * 30}] {steps}/{steps} migrations 100%")
    assert main(["--db", str(tmp_path / "other.duckdb"), "migrate"]) == 0
    assert capsys.readouterr().err == ""


def test_a_message_is_found_by_its_provider_id_through_the_index_not_a_scan(store):
    """Delivery ticks, fetched media and edits look a message up by the id
    its channel gave it: on DuckDB through messages_provider_id (a scan of
    every message took 5 ms at 2M messages, 50 ms at 20M)."""
    from maxchat_data.common import BY_PROVIDER_ID, message_by_provider_id
    for n in range(300):
        customer_writes(store, user=f"62812{n % 30:05d}", text=f"m{n}", pmid=f"wamid.scan{n}")
    found = store.write(lambda w: message_by_provider_id(w, "whatsapp", "wamid.scan123", "body"))
    assert found == ("m123",)
    assert store.write(lambda w: message_by_provider_id(w, "telegram", "wamid.scan123")) is None  # another channel's
    plan = "\n".join(row[1] for row in store.all("EXPLAIN ANALYZE " + BY_PROVIDER_ID.format(columns="id", where="TRUE"),
                                                   ["wamid.scan123", "whatsapp"]))
    assert "Index Scan" in plan and "Sequential Scan" not in plan, plan  # EXPLAIN alone always says Seq Scan
