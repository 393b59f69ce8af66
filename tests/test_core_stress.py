"""Concurrency and durability of the store: many threads at once, and a
process killed mid-ingest."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from maxchat_data import actions, labels
from maxchat_data.errors import MaxchatError
from maxchat_data.inbox import InboxQuery, find_chats
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import Store
from test_inbox_finder import expected

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.both_backends
def test_eight_threads_mixed_actions_and_ingest(store, team):
    vip = labels.create_label(store, "VIP", "Purple", team["admin"])
    agents = [team["budi"], team["sari"], team["admin"]]
    acknowledged: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    stop = time.monotonic() + 4.0

    def producer(n):
        i = 0
        while time.monotonic() < stop:
            pmid = f"wamid.t{n}.{i}"
            receive(store, Inbound("whatsapp", f"628{n}{i % 7}", pmid, f"Cust {n}-{i % 7}", body=f"msg {i}"))
            with lock:
                acknowledged.append(pmid)
            i += 1

    def agent_worker(n):
        rnd = random.Random(n)
        while time.monotonic() < stop:
            chats = [c for (c,) in store.all("SELECT id FROM chats")]
            if not chats:
                time.sleep(0.01)
                continue
            chat, who = rnd.choice(chats), rnd.choice(agents)
            action = rnd.choice(["assign", "resolve", "archive", "unarchive", "label", "reply", "note", "read", "find"])
            try:
                if action == "assign":
                    actions.assign(store, chat, rnd.choice(agents), who)
                elif action == "resolve":
                    actions.resolve(store, chat, who)
                elif action == "archive":
                    actions.archive(store, chat, who)
                elif action == "unarchive":
                    actions.unarchive(store, chat, who)
                elif action == "label":
                    labels.set_label(store, chat, vip, rnd.random() < 0.5, who)
                elif action == "reply":
                    actions.reply(store, chat, who, "halo")
                elif action == "note":
                    actions.add_note(store, chat, who, "catatan")
                elif action == "find":  # the finder reads the tally while the writer moves chats
                    q = InboxQuery(search=rnd.choice(["cust", "c", "1-", "zz"]), label_ids=(vip,) if rnd.random() < 0.3 else ())
                    page = find_chats(store, who, q)
                    assert page.total == page.counts["All"] and len(page.chats) <= q.page_size
                    assert all(q.search in c["contact_name"].lower() for c in page.chats), page.chats
                else:
                    actions.mark_read(store, chat, who)
            except MaxchatError:
                pass  # a refused action (e.g. nothing to resolve) is an answer, not a failure

    def guard(fn, n):
        try:
            fn(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(producer, n)) for n in range(4)]
    threads += [threading.Thread(target=guard, args=(agent_worker, n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(acknowledged) > 100
    stored = {p for (p,) in store.all("SELECT provider_message_id FROM messages WHERE direction = 'in'")}
    assert set(acknowledged) <= stored
    assert store.all("SELECT id, status, assignee_id FROM chats WHERE NOT ("
                     "(status = 'Open' AND assignee_id IS NULL) OR (status = 'Answered' AND assignee_id IS NOT NULL)"
                     " OR (status = 'Resolved' AND assignee_id IS NULL))") == []
    # Every reply sits in the outbox; labels on chat rows match the contacts'.
    assert store.one("SELECT count(*) FROM messages WHERE direction = 'out'")[0] == store.one("SELECT count(*) FROM outbox")[0]
    assert store.all("SELECT c.id FROM chats c WHERE (?::INTEGER = ANY(c.label_ids)) <> EXISTS ("
                     "SELECT 1 FROM contact_labels cl WHERE cl.contact_id = c.contact_id AND cl.label_id = ?)",
                     [vip, vip]) == []
    # Every customer message is in a session of its own chat, and a Resolved
    # chat got none after it was resolved (ingest reopens it: a state the
    # writer kept must never be a stale one).
    assert store.all("SELECT m.id FROM messages m LEFT JOIN sessions s ON s.id = m.session_id"
                     " WHERE m.direction = 'in' AND s.chat_id IS DISTINCT FROM m.chat_id") == []
    assert store.all("SELECT c.id FROM chats c JOIN sessions s ON s.id = c.session_id WHERE c.status = 'Resolved'"
                     " AND EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = c.id AND m.direction = 'in'"
                     " AND m.session_id = c.session_id AND m.created_at > s.resolved_at)") == []
    for chat_id, state in store._w._chat_states.items():
        assert state == store.one("SELECT status, archived, blocked, session_id FROM chats WHERE id = ?", [chat_id])
    # The finder's answers (on DuckDB from the tally the writer kept through all that) equal a fresh count.
    for q in (InboxQuery(search="cust"), InboxQuery(search="1-", label_ids=(vip,)), InboxQuery(tab="Archived", search="c")):
        counts, ids = expected(store, team["budi"], q)
        found = find_chats(store, team["budi"], q)
        assert (found.counts, [c["id"] for c in found.chats]) == (counts, ids), q


CHILD = """
import sys
sys.path.insert(0, {root!r})
from maxchat_data.store import Store
from maxchat_data.ingest import Inbound, receive
s = Store({db!r}, {media!r})
i = 0
while True:
    receive(s, Inbound("telegram", str(1000 + i % 50), f"tg.{{i}}", f"Kill {{i % 50}}", body=f"m{{i}}"))
    print(f"tg.{{i}}", flush=True)  # acknowledged: committed before this line
    i += 1
"""


@pytest.mark.slow
def test_sigkill_loses_nothing_acknowledged(tmp_path):
    db, media = str(tmp_path / "kill.duckdb"), str(tmp_path / "media")
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT), db=db, media=media)],
                            stdout=subprocess.PIPE, text=True)
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            acknowledged.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acknowledged += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    assert len(acknowledged) >= 300

    reopened = Store(db, media)
    try:
        stored = {p for (p,) in reopened.all("SELECT provider_message_id FROM messages")}
        assert set(acknowledged) <= stored
        chats = reopened.one("SELECT count(*) FROM chats")[0]
        assert chats == min(50, len(stored))
    finally:
        reopened.close()
