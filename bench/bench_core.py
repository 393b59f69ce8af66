"""Inbox core at 100k chats / 2M messages (or 1M chats: ``--chats``): the
finder (page + counts) idle and beside a steady ingest, actions, the
change-version poll, ingest from 8 producer threads of new messages and of
the same messages delivered again.

    python bench/bench_core.py [--chats 100000] [--messages-per-chat 20] [--only finder|ingest]
                               [--database-url postgresql://…]

With ``--database-url`` (an empty PostgreSQL database) the same data set is
copied there (``migrate --to``) and the same figures are taken on it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections import deque

from common import big_database, summary, timed

from maxchat_data import accounts, actions, copy_to_pg, inbox, labels, open_store
from maxchat_data.inbox import InboxQuery
from maxchat_data.ingest import Inbound, receive_async
from maxchat_data.store import Store


def ingest(store: Store, seconds: float, in_flight: int, again: list | None = None, say: bool = True) -> list:
    """8 producer threads; each keeps up to ``in_flight`` messages waiting for
    their commit (1 = one at a time; more = a server with many requests open).
    ``again``: the messages an earlier run sent, delivered once more in the
    same order (a provider's repeat delivery). Returns what was sent."""
    what = "repeat deliveries" if again else "new messages"
    if say:
        print(f"\ningest of {what}, 8 producer threads, {in_flight} in flight each, {seconds:g} s:")
    stop = time.monotonic() + seconds
    acknowledged = [0] * 8
    sent: list[list[Inbound]] = [[] for _ in range(8)]
    tag = f"wamid.bench{in_flight}.{time.monotonic_ns()}"

    def producer(n):
        window: deque = deque()
        i = 0
        replay = again[n] if again else None
        while time.monotonic() < stop and (replay is None or i < len(replay)):
            if replay is not None:
                m = replay[i]
            else:  # half to existing chats, half to new customers
                user = f"628{(n * 100_000 + i) % 2_000_000:010d}" if i % 2 else f"{tag}-{n}-{i}"
                m = Inbound("whatsapp", user, f"{tag}.{n}.{i}", "Bench", body="halo")
            window.append(receive_async(store, m))
            sent[n].append(m)
            i += 1
            if len(window) >= in_flight:
                window.popleft().result()
                acknowledged[n] += 1
        for f in window:
            f.result()
            acknowledged[n] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=producer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    total = sum(acknowledged)
    if say:
        print(f"  {total:,} {what} acknowledged in {elapsed:.1f} s: {total / elapsed:,.0f} messages/s"
              f"  (load {os.getloadavg()[0]:.1f})")
    return sent, total / elapsed


def ingest_beside(store: Store, stop: threading.Event, rate: float) -> None:
    """A steady inbound stream of ``rate`` messages/s (webhooks of 10, half
    to existing chats, some repeated) until ``stop``."""
    tag, i = f"wamid.beside.{time.monotonic_ns()}", 0
    while not stop.is_set():
        started = time.monotonic()
        batch = [Inbound("whatsapp", f"628{(i + k * 7919) % 2_000_000:010d}" if k % 2 else f"{tag}-{i + k}",
                         f"{tag}.{i + k - (k == 9)}", "Bench", body="halo") for k in range(10)]  # the 10th repeats the 9th
        for f in [receive_async(store, m) for m in batch]:
            f.result()
        i += 10
        time.sleep(max(0.0, 10 / rate - (time.monotonic() - started)))


def finder(store: Store, agent: int, combos: dict, runs: int, after_commit: bool = True) -> dict[str, float]:
    """p50 per filter. ``after_commit``: a commit comes before each run (not
    timed), so nothing the finder kept from the last run answers it."""
    out = {}
    for name, q in combos.items():
        inbox.find_chats(store, agent, q)  # warm
        ms = []
        for _ in range(runs):
            if after_commit:
                store.write(_nothing)
            ms += timed(lambda: inbox.find_chats(store, agent, q), 1)
        out[name] = statistics.median(ms)
        print("  " + summary(name, ms, target=20), flush=True)
    return out


def _nothing(w) -> None:
    """A commit that changes nothing: the store's version moves all the same."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--messages-per-chat", type=float, default=20.0, help="of the data set (bench/common.py)")
    parser.add_argument("--ingest-seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=40, help="finder runs per filter")
    parser.add_argument("--beside-rate", type=float, default=500, help="messages/s ingested beside the finder")
    parser.add_argument("--only", choices=("finder", "ingest"), help="one part only")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to copy the data set into and measure")
    args = parser.parse_args()
    path = big_database(args.chats, args.messages_per_chat)
    where = str(path)
    if args.database_url:
        Store(path, path.parent / "media").close()  # migrated to this version first
        started = time.perf_counter()
        copy_to_pg.copy_database(path, args.database_url, say=lambda line: None)
        print(f"copied to PostgreSQL in {time.perf_counter() - started:.0f} s")
        where = args.database_url
    store = open_store(where, str(path.parent / "media"))  # as the server opens it (its upkeep too)
    print(f"backend: {store.engine.name}")
    chats, messages = store.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM messages)")
    print(f"data set: {chats:,} chats, {messages:,} messages\n")

    if args.only != "ingest":
        interactive(store, args)
    if args.only != "finder":
        ingest(store, args.ingest_seconds, in_flight=1)
        sent, new_rate = ingest(store, args.ingest_seconds, in_flight=64)
        _, again_rate = ingest(store, args.ingest_seconds, in_flight=64, again=sent)
        print(f"  repeat deliveries / new messages: {again_rate / new_rate:.2f}")
    store.close()


def interactive(store: Store, args) -> None:
    """What a person waits for: the finder (idle and beside ingest), a thread, actions, the poll."""
    agent = accounts.list_agents(store, active_only=True)[1]["id"]
    label_ids = [l["id"] for l in labels.list_labels(store)]
    started = time.perf_counter()
    if store.chat_tally() is not None:  # what the server does at start (DuckDB)
        print(f"tab tally read (once, at start): {time.perf_counter() - started:.2f} s")
    print(f"finder (page of 30 + counts of every tab, one round, each after a commit), load {os.getloadavg()[0]:.1f}:")
    combos = {
        "All, no filter": InboxQuery(),
        "My Chat": InboxQuery(tab="My Chat"),
        "Unassigned + Open": InboxQuery(tab="Unassigned", statuses=("Open",)),
        "All + WhatsApp + Answered/Resolved": InboxQuery(channels=("whatsapp",), statuses=("Answered", "Resolved")),
        "All + label": InboxQuery(label_ids=(label_ids[0],)),
        "All + name search 'sant'": InboxQuery(search="sant"),
        "All + phone search '62800001'": InboxQuery(search="62800001"),
        "All + one-letter search 'a'": InboxQuery(search="a"),
        "Open + two-letter search 'ri'": InboxQuery(statuses=("Open",), search="ri"),
        "Archived": InboxQuery(tab="Archived"),
        "everything combined, page 3": InboxQuery(tab="All", statuses=("Open", "Answered"), channels=("whatsapp", "telegram"),
                                                   label_ids=tuple(label_ids[:2]), search="a", page=3),
    }
    idle = finder(store, agent, combos, args.runs)
    print(f"\nthe same asked again with no commit between (answered from memory), load {os.getloadavg()[0]:.1f}:")
    finder(store, agent, combos, args.runs, after_commit=False)
    print(f"\nthe same with ingest running beside ({args.beside_rate:g} messages/s), load {os.getloadavg()[0]:.1f}:")
    stop = threading.Event()
    beside = threading.Thread(target=ingest_beside, args=(store, stop, args.beside_rate))
    beside.start()
    try:
        busy = finder(store, agent, combos, args.runs)
    finally:
        stop.set()
        beside.join()
    worst = max(busy, key=busy.get)
    print("  while ingesting / idle, p50: " + ", ".join(f"{busy[k] / idle[k]:.2f}" for k in combos)
          + f"; slowest under ingest: {worst} {busy[worst]:.1f} ms")

    thread_chat = store.one("SELECT id FROM chats ORDER BY unread DESC LIMIT 1")[0]
    print("  " + summary("thread (last 200 of one chat)", timed(lambda: inbox.thread(store, thread_chat), 40)))

    print("\nactions (queue -> writer -> commit -> answer):")
    open_ids = [c for (c,) in store.all("SELECT id FROM chats WHERE channel = 'telegram' AND NOT blocked LIMIT 400")]
    it = iter(open_ids)
    print("  " + summary("assign", timed(lambda: actions.assign(store, next(it), agent, agent), 100), target=5))
    print("  " + summary("resolve", timed(lambda: actions.resolve(store, next(it), agent), 100), target=5))
    mine = iter(open_ids[:100])  # assigned to this agent just above: the everyday reply
    print("  " + summary("reply in own chat (Telegram: no window)", timed(lambda: actions.reply(store, next(mine), agent, "halo"), 100), target=5))
    print("  " + summary("reply that takes or reopens the chat", timed(lambda: actions.reply(store, next(it), agent, "halo"), 100), target=5))

    print("\nchange-version poll:")
    print("  " + summary("store.version", timed(lambda: store.version, 10000), target=1))


if __name__ == "__main__":
    main()
