"""Replicas on PostgreSQL: signed WhatsApp webhooks per second and the inbox
finder's p50 with one replica, then two, on one PostgreSQL (a throwaway
cluster started here), in the same run. The load is split evenly over the
replicas' ports (as a proxy would); the finder is timed meanwhile from this
process on the same database. Afterwards every acknowledged message is
checked to be stored. It prints figures, it does not assert timings.

    python bench/bench_replicas.py [--seconds 8] [--conns 32]

On this 2-core machine the replicas, PostgreSQL and the load generator all
share the same two cores: a second replica adds a writer, not CPU.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_webhooks import PNID, SECRET, _proc
from common import pct

import pg_cluster
from maxchat_data import inbox, open_store, system
from maxchat_data.inbox import InboxQuery
from tests.live_server import live_server


def load(ports: list[int], name: str, seconds: float, conns: int) -> tuple[int, list[float]]:
    """``conns`` connections spread over the ports; returns messages acknowledged and latencies."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    per_port = max(1, conns // len(ports))
    workers = [ctx.Process(target=_proc, args=(port, f"{name}r{i}", 1, seconds, per_port, q))
               for i, port in enumerate(ports)]
    for w in workers:
        w.start()
    results = [r for _ in workers for r in q.get()]
    for w in workers:
        w.join()
    return sum(r[1] for r in results), sorted(x for r in results for x in r[0])


def finder_while(store, agent: int, stop: threading.Event, out: list[float]) -> None:
    q = InboxQuery()
    while not stop.is_set():
        t0 = time.perf_counter()
        inbox.find_chats(store, agent, q)
        out.append(time.perf_counter() - t0)
        time.sleep(0.05)


def phase(store, agent: int, ports: list[int], name: str, seconds: float, conns: int) -> int:
    stop, timings = threading.Event(), []
    finder = threading.Thread(target=finder_while, args=(store, agent, stop, timings))
    finder.start()
    started = time.perf_counter()
    acked, lat = load(ports, name, seconds, conns)
    wall = time.perf_counter() - started
    stop.set()
    finder.join()
    print(f"{name:<12} {acked:>7} msgs in {wall:5.1f}s: {acked / wall:7.0f} msg/s  webhook p50 {pct(lat, 50) * 1000:6.1f} ms"
          f" p99 {pct(lat, 99) * 1000:6.1f} ms   finder p50 {pct(timings, 50) * 1000:6.1f} ms"
          f" p90 {pct(timings, 90) * 1000:6.1f} ms ({len(timings)} runs)", flush=True)
    return acked


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--conns", type=int, default=32, help="keep-alive connections in all")
    args = ap.parse_args()
    url = pg_cluster.fresh_database()
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    env = {"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_PHONE_NUMBER_ID": PNID, "MAXCHAT_SECRETS": "/nonexistent",
           "MAXCHAT_DATABASE_URL": url, "MAXCHAT_MEDIA_DIR": str(tmp / "media"),
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_SERVER_RUN_ON_SAVE": "false"}
    store = open_store(url, tmp / "media")
    agent = system.create_account(store, "bench", "Bench Agent", "bench-pass-1", "supervisor")
    print(f"PostgreSQL 15 (throwaway cluster, fsync off), {args.conns} keep-alive connections, "
          f"{args.seconds:.0f} s per phase, 1 message per webhook", flush=True)
    expected = 0
    with ExitStack() as stack:
        bases = []
        for name in ("a", "b"):
            (tmp / name).mkdir()
            bases.append(stack.enter_context(live_server(tmp / name, env=env)))
        ports = [int(b.rsplit(":", 1)[1]) for b in bases]
        load(ports[:1], "warm", 2, 2)
        load(ports[1:], "warm", 2, 2)
        expected += phase(store, agent, ports[:1], "1 replica", args.seconds, args.conns)
        expected += phase(store, agent, ports, "2 replicas", args.seconds, args.conns)
    stored = store.one("SELECT count(*) FROM messages WHERE direction = 'in' AND provider_message_id NOT LIKE 'wamid.warm%'")[0]
    verdict = "OK: every acknowledged message is stored" if stored >= expected else f"LOST {expected - stored}"
    print(f"verified after stop: {stored} stored / {expected} acknowledged: {verdict}")
    store.close()
    pg_cluster.drop_database(url)


if __name__ == "__main__":
    main()
