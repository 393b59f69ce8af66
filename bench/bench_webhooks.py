"""Webhook ingest benchmark: signed WhatsApp webhooks over HTTP against the
real server (``streamlit run app.py`` via tests/live_server.py), from a load
generator on this machine (several processes, each with keep-alive
connections on threads). Prints sustained messages/s and latency to the
2xx; afterwards stops the server, opens the database file and checks that
every acknowledged message is there. 127.0.0.1 only, bounded in count and
time. It prints figures, it does not assert timings.

    python bench/bench_webhooks.py [--seconds 8] [--procs 1] [--conns 32] [--batch 10]

One load process with 32 connections measured best here: the generator
shares the 2 cores with the server, and a second process mostly adds
contention. Throughput comes from group commit, so it grows with the number
of webhooks in flight (latency is in-flight / throughput).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maxchat_data.channels.base import sign  # noqa: E402
from maxchat_data.store import Store  # noqa: E402
from tests.live_server import live_server  # noqa: E402

SECRET, PNID = "bench-secret", "BENCHPNID"
MAX_REQUESTS_PER_CONN = 20_000
CUSTOMERS_PER_CONN = 20  # customers write again and again: most messages land in existing chats (--customers)


def payload(tag: str, n: int, per: int) -> bytes:
    """Webhook number ``n`` of one connection, with ``per`` messages."""
    messages, contacts = [], []
    for k in range(per):
        user = f"62811{abs(hash(tag)) % 100000:05d}{(n * per + k) % CUSTOMERS_PER_CONN:04d}"
        messages.append({"from": user, "id": f"wamid.{tag}.{n}.{k}", "timestamp": str(int(time.time())),
                         "type": "text", "text": {"body": f"Halo kak, pesanan nomor {n}-{k} sudah sampai?"}})
        contacts.append({"profile": {"name": f"Pelanggan {user[-4:]}"}, "wa_id": user})
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550000000", "phone_number_id": PNID},
        "contacts": contacts, "messages": messages}}]}]}
    return json.dumps(body, separators=(",", ":")).encode()


def _connection(port, tag, per, seconds, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    # Built and signed before the clock starts: the client should cost little.
    bodies = []
    lat, acked, errors = [], 0, 0
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and n < MAX_REQUESTS_PER_CONN:
        if n >= len(bodies):
            for i in range(len(bodies), len(bodies) + 200):
                b = payload(tag, i, per)
                bodies.append((b, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, b)}))
        body, headers = bodies[n]
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/webhooks/whatsapp", body, headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lat.append(time.perf_counter() - t0)
        if ok:
            acked += per
        else:
            errors += 1
        n += 1
    conn.close()
    out.append((lat, acked, errors))


def _proc(port, prefix, per, seconds, conns, q):
    out: list = []
    threads = [threading.Thread(target=_connection, args=(port, f"{prefix}c{i}", per, seconds, out)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put([(lat, acked, errors) for lat, acked, errors in out])


def run_phase(port, name, per, seconds, procs, conns):
    q = mp.get_context("fork").Queue()
    workers = [mp.get_context("fork").Process(target=_proc, args=(port, f"{name}p{i}", per, seconds, conns, q))
               for i in range(procs)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    results = [r for _ in workers for r in q.get()]
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    lat = sorted(x for r in results for x in r[0])
    acked = sum(r[1] for r in results)
    errors = sum(r[2] for r in results)
    p = lambda q_: lat[min(len(lat) - 1, int(q_ * len(lat)))] * 1000  # noqa: E731
    print(f"{name:<28} {len(lat):>7} webhooks {acked:>7} msgs in {wall:5.1f}s: {acked / wall:8.0f} msg/s "
          f"{len(lat) / wall:7.0f} req/s  p50 {p(0.50):6.1f} ms  p99 {p(0.99):6.1f} ms  max {lat[-1] * 1000:6.1f} ms"
          f"  errors {errors}", flush=True)
    return acked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--conns", type=int, default=32, help="keep-alive connections per process")
    ap.add_argument("--batch", type=int, default=10, help="messages per webhook in the batched phase")
    ap.add_argument("--customers", type=int, default=CUSTOMERS_PER_CONN,
                    help="distinct customers per connection (large: mostly first contacts, new chats)")
    args = ap.parse_args()
    globals()["CUSTOMERS_PER_CONN"] = args.customers  # read by payload() in the forked load processes
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    env = {"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_PHONE_NUMBER_ID": PNID, "MAXCHAT_SECRETS": "/nonexistent",
           # as in production: no source-file polling on the server's event loop threads
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_SERVER_RUN_ON_SAVE": "false"}
    print(f"server: streamlit run app.py on 127.0.0.1; load: {args.procs} processes x {args.conns} keep-alive "
          f"connections; {args.seconds:.0f}s per phase", flush=True)
    expected = 0
    with live_server(tmp, env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        run_phase(port, "warm-up (1 msg/webhook)", 1, 2, 1, 2)
        single = run_phase(port, "1 message per webhook", 1, args.seconds, args.procs, args.conns)
        batched = run_phase(port, f"{args.batch} messages per webhook", args.batch, args.seconds, args.procs, args.conns)
        expected = single + batched
    s = Store(tmp / "server.duckdb", tmp / "media")
    try:
        stored = s.one("SELECT count(*) FROM messages WHERE direction = 'in' AND provider_message_id NOT LIKE 'wamid.warm%'")[0]
        chats = s.one("SELECT count(*) FROM chats")[0]
    finally:
        s.close()
    verdict = ("OK: every acknowledged message is stored" if stored == expected else
               f"LOST {expected - stored}" if stored < expected else
               f"OK, plus {stored - expected} stored whose 200 the client did not get")
    print(f"verified after stop: {stored} inbound messages stored / {expected} acknowledged ({chats} chats): {verdict}")


if __name__ == "__main__":
    main()
