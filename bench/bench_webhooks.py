"""Webhook ingest benchmark: signed WhatsApp webhooks over HTTP against the
real server (``streamlit run app.py`` via tests/live_server.py), from a load
generator on this machine (several processes, each with keep-alive
connections on threads). Prints sustained messages/s and latency to the
2xx, and the CPU time the server and the load generator spent per message
(on a shared machine it moves far less than the rates); afterwards stops the server, opens the database file and checks that
every acknowledged message is there. 127.0.0.1 only, bounded in count and
time. It prints figures, it does not assert timings.

The server starts on the benchmarks' data set (bench/common.py, 100k chats /
2M messages unless ``--chats`` says otherwise; 0: an empty database), most
webhooks write to chats with a history, and the single-message phase is
delivered a second time, the same bodies, as providers do on a timeout.

    python bench/bench_webhooks.py [--chats 100000] [--seconds 8] [--procs 1] [--conns 32] [--batch 10]

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
import os
import shutil
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import big_database, cpu_seconds

from maxchat_data import settings
from maxchat_data.channels.base import sign
from maxchat_data.store import Store
from tests.live_server import PROCESSES, live_server

SECRET, PNID = "bench-secret", "BENCHPNID"
MAX_REQUESTS_PER_CONN = 20_000
CUSTOMERS_PER_CONN = 20  # customers write again and again: most messages land in existing chats (--customers)


def payload(tag: str, n: int, per: int) -> bytes:
    """Webhook number ``n`` of one connection, with ``per`` messages. The
    customers are the demo data set's WhatsApp numbers (628 + chat id): on a
    big database most write to a chat with a long history, some are new."""
    messages, contacts = [], []
    for k in range(per):
        user = f"628{(zlib.crc32(tag.encode()) % 4000) * 25 + (n * per + k) % CUSTOMERS_PER_CONN:010d}"
        messages.append({"from": user, "id": f"wamid.{tag}.{n}.{k}", "timestamp": str(int(time.time())),
                         "type": "text", "text": {"body": f"Halo kak, pesanan nomor {n}-{k} sudah sampai?"}})
        contacts.append({"profile": {"name": f"Pelanggan {user[-4:]}"}, "wa_id": user})
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550000000", "phone_number_id": PNID},
        "contacts": contacts, "messages": messages}}]}]}
    return json.dumps(body, separators=(",", ":")).encode()


def _connection(port, tag, per, seconds, out, limit=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    # Built and signed before the clock starts: the client should cost little.
    bodies = []
    lat, acked, errors = [], 0, 0
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and n < (limit if limit is not None else MAX_REQUESTS_PER_CONN):
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
    out.append((lat, acked, errors, tag, n))


def _proc(port, prefix, per, seconds, conns, q, limits):
    out: list = []
    cpu = sum(os.times()[:2])
    threads = [threading.Thread(target=_connection, args=(port, f"{prefix}c{i}", per, seconds, out,
                                                          limits.get(f"{prefix}c{i}", 0) if limits else None))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put((out, sum(os.times()[:2]) - cpu))


def run_phase(port, name, per, seconds, procs, conns, again: dict | None = None, tag: str | None = None):
    """``again``: webhooks sent per connection by the phase tagged ``tag``,
    sent once more, the same bodies (a provider's repeat delivery). Prints
    the CPU time the server and the load generator spent per message too:
    it moves far less with the machine's load than the rates do."""
    q = mp.get_context("fork").Queue()
    workers = [mp.get_context("fork").Process(target=_proc, args=(port, f"{tag or name}p{i}", per, seconds, conns, q,
                                                                  again))
               for i in range(procs)]
    server = PROCESSES[f"http://127.0.0.1:{port}"].pid
    start, server_cpu = time.perf_counter(), cpu_seconds(server)
    for w in workers:
        w.start()
    done = [q.get() for _ in workers]
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    server_cpu = cpu_seconds(server) - server_cpu
    results = [r for out, _ in done for r in out]
    load_cpu = sum(cpu for _, cpu in done)
    lat = sorted(x for r in results for x in r[0])
    acked = sum(r[1] for r in results)
    errors = sum(r[2] for r in results)
    p = lambda q_: lat[min(len(lat) - 1, int(q_ * len(lat)))] * 1000
    print(f"{name:<28} {len(lat):>7} webhooks {acked:>7} msgs in {wall:5.1f}s: {acked / wall:8.0f} msg/s "
          f"{len(lat) / wall:7.0f} req/s  p50 {p(0.50):6.1f} ms  p99 {p(0.99):6.1f} ms  max {lat[-1] * 1000:6.1f} ms"
          f"  errors {errors}  (load {os.getloadavg()[0]:.1f})\n{'':<28} CPU per message: server"
          f" {server_cpu / max(acked, 1) * 1000:.2f} ms, load generator {load_cpu / max(acked, 1) * 1000:.2f} ms",
          flush=True)
    return acked, acked / wall, {r[3]: r[4] for r in results}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--conns", type=int, default=32, help="keep-alive connections per process")
    ap.add_argument("--batch", type=int, default=10, help="messages per webhook in the batched phase")
    ap.add_argument("--chats", type=int, default=100_000,
                    help="the server starts on the benchmarks' data set of this many chats (0: an empty database)")
    ap.add_argument("--messages-per-chat", type=float, default=20.0, help="of the data set (bench/common.py)")
    ap.add_argument("--customers", type=int, default=CUSTOMERS_PER_CONN,
                    help="distinct customers per connection (large: mostly first contacts, new chats)")
    args = ap.parse_args()
    globals()["CUSTOMERS_PER_CONN"] = args.customers  # read by payload() in the forked load processes
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    if args.chats:
        shutil.copy(big_database(args.chats, args.messages_per_chat), tmp / "server.duckdb")
        with Store(tmp / "server.duckdb", tmp / "media") as s:  # served as a real inbox, not a demo
            settings.put(s, settings.DEMO_DATA, "0")
    before = _inbound(tmp)
    env = {"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_PHONE_NUMBER_ID": PNID, "MAXCHAT_SECRETS": "/nonexistent",
           # as in production: no source-file polling on the server's event loop threads
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_SERVER_RUN_ON_SAVE": "false"}
    print(f"server: streamlit run app.py on 127.0.0.1; load: {args.procs} processes x {args.conns} keep-alive "
          f"connections; {args.seconds:.0f}s per phase", flush=True)
    expected = 0
    with live_server(tmp, env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        run_phase(port, "warm-up (1 msg/webhook)", 1, 2, 1, 2)
        single, new_rate, sent = run_phase(port, "1 message per webhook", 1, args.seconds, args.procs, args.conns,
                                           tag="single")
        _, again_rate, _ = run_phase(port, "the same, delivered again", 1, args.seconds, args.procs, args.conns,
                                     again=sent, tag="single")
        print(f"{'':<28} repeat deliveries / new messages: {again_rate / new_rate:.2f}")
        batched = run_phase(port, f"{args.batch} messages per webhook", args.batch, args.seconds, args.procs,
                            args.conns)[0]
        expected = single + batched
    stored, chats = _inbound(tmp)
    stored -= before[0]
    verdict = ("OK: every acknowledged message is stored" if stored == expected else
               f"LOST {expected - stored}" if stored < expected else
               f"OK, plus {stored - expected} stored whose 200 the client did not get")
    print(f"verified after stop: {stored} inbound messages stored / {expected} acknowledged ({chats} chats): {verdict}")


def _inbound(tmp: Path) -> tuple[int, int]:
    """Inbound messages the load stored (not the warm-up's, not the data set's), and chats."""
    if not (tmp / "server.duckdb").exists():
        return 0, 0
    with Store(tmp / "server.duckdb", tmp / "media") as s:
        return s.one("SELECT count(*) FILTER (WHERE direction = 'in' AND provider_message_id LIKE 'wamid.%'"
                     " AND provider_message_id NOT LIKE 'wamid.warm%'), (SELECT count(*) FROM chats) FROM messages")


if __name__ == "__main__":
    main()
