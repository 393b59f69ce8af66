"""Auto-assignment (SPEC W2) at scale: 200 Online agents, 100k open chats.

    python bench/bench_team.py [--agents 200] [--open 100000]

Prints the decision alone (on the writer: who can take chats, their loads,
the pick) and a new customer's chat end to end (ingest + assignment +
commit), as p50/p95."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import summary, timed

from maxchat_data import team
from maxchat_data.ingest import Inbound, receive
from maxchat_data.store import Store, utcnow


def build(store: Store, agents: int, open_chats: int) -> list[int]:
    def fill(w):
        now = utcnow()
        w.execute("INSERT INTO agents (id, username, display_name, password_hash, role, created_at, availability)"
                  " SELECT i, 'agent' || i, 'Agent ' || i, 'x', 'agent', ?, 'Online' FROM range(1, ? + 1) t(i)",
                  [now, agents])
        w.execute("INSERT INTO contacts (id, name, created_at) SELECT i, 'C' || i, ? FROM range(1, ? + 1) t(i)",
                  [now, open_chats])
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " assignee_id, last_message_at, created_at) SELECT i, i, 'whatsapp', 'u' || i, 'C' || i, 'c' || i,"
                  " 'Answered', 1 + i % ?, ?, ? FROM range(1, ? + 1) t(i)", [agents, now, now, open_chats])
        w.forget_caches()
    store.write(fill)
    store.close()
    return list(range(1, agents + 1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--open", type=int, default=100_000)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="maxchat-team-")) / "team.duckdb"
    agents = build(Store(path), args.agents, args.open)
    store = Store(path)  # reopened: ids and caches as a server has them
    for a in agents:
        team.heartbeat(store, a, f"tab-{a}")
    store.write(lambda w: w.execute("INSERT INTO settings VALUES ('team', ?)",
                                    [f'{{"auto_assign": "least_busy", "capacity": {team.CAPACITY_LIMIT}}}']))
    print(f"{args.agents} Online agents, {store.one('SELECT count(*) FROM chats')[0]:,} open chats\n")
    for method in ("least_busy", "round_robin"):
        s = team.TeamSettings(method, team.CAPACITY_LIMIT)
        inner: list[float] = []

        def decide(w):
            t = time.perf_counter()
            assert team.Assigner(w, s).pick() is not None
            inner.append((time.perf_counter() - t) * 1000)

        for _ in range(200):
            store.write(decide)
        print("  " + summary(f"decision, {method} (on the writer)", inner[20:], target=5))
    n = iter(range(10**6))

    def new_chat():
        receive(store, Inbound("telegram", f"new{next(n)}", f"m{next(n)}", "New", body="halo"))

    for label, value in (("off", '{"auto_assign": "off"}'),
                         ("on", f'{{"auto_assign": "least_busy", "capacity": {team.CAPACITY_LIMIT}}}')):
        store.write(lambda w: w.execute("UPDATE settings SET value = ? WHERE key = 'team'", [value]))
        ms = timed(new_chat, 200)
        print("  " + summary(f"new chat end to end, auto-assignment {label}", ms[20:]))
    assigned = store.one("SELECT count(*) FROM chats WHERE channel = 'telegram' AND assignee_id IS NOT NULL")[0]
    print(f"  new chats assigned: {assigned} of 400 (those made while it was off too, once it was on)")
    store.close()


if __name__ == "__main__":
    main()
