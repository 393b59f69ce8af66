"""Broadcast benchmark: 10,000 recipients from a CSV against the fake
WhatsApp API (real HTTP, in its own process), on top of the 100k-chat data
set, while the Chat page runs in the same process as the sender.

Prints: the time to queue the broadcast (one set-based write), the sustained
send rate against the configured rate (sampled every second), and the full
Chat page run (AppTest, caches dropped: every read) p50/p90 before and during
the broadcast.

    python bench/bench_broadcast.py [--recipients 10000] [--rate 100] [--chats 100000]

Prints figures; asserts nothing."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from common import big_database, pct, timed_page_run

FAKE = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fakes import FakeWhatsApp
wa = FakeWhatsApp(phone_number_id="PNID")
print(wa.url, flush=True)
while True:
    time.sleep(3600)
"""


def page_runs(at, stop: threading.Event | None, runs: int) -> list[float]:
    times = []
    while (stop is None and len(times) < runs) or (stop is not None and not stop.is_set()):
        times.append(timed_page_run(at, cold=True))
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipients", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--chats", type=int, default=100_000)
    ap.add_argument("--no-page", action="store_true", help="no Chat page runs during the broadcast")
    args = ap.parse_args()

    db = big_database(args.chats)
    fake = subprocess.Popen([sys.executable, "-c", FAKE.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True)
    url = fake.stdout.readline().strip()
    # The data set has the demo accounts: demo mode lets it open (sends still go to the fake, see clients()).
    os.environ.update(MAXCHAT_DB=str(db), MAXCHAT_MEDIA_DIR=str(db.parent / "media"), MAXCHAT_DEMO="1",
                      MAXCHAT_SECRETS="/nonexistent", WHATSAPP_API_BASE=url, WHATSAPP_TOKEN="wa-token",
                      WHATSAPP_PHONE_NUMBER_ID="PNID")
    from streamlit.testing.v1 import AppTest

    from maxchat_data import broadcasts, system
    from maxchat_data.broadcasts import Audience
    from maxchat_data.channels import clients
    from server import runtime
    from server.delivery import DeliveryWorker

    worker = None
    try:
        store = runtime.store()
        sari = system.create_account(store, "bench_sari", "Sari", "bench-pass-1", "supervisor")
        tid = system.create_template(store, channel="whatsapp", name="bench_promo", language="id",
                                     category="MARKETING", body="Halo {{1}}, kode {{2}}", initiate=True)
        system.review_template(store, tid, "Accepted")
        agent = store.dicts("SELECT id, username, display_name, role, notify FROM agents WHERE role = 'agent'"
                            " AND active LIMIT 1")[0]
        chat_id = store.one("SELECT id FROM chats WHERE NOT archived ORDER BY last_message_at DESC LIMIT 1")[0]
        at = AppTest.from_file(str(ROOT / "app_pages" / "chat.py"), default_timeout=60)
        at.session_state["agent"] = agent
        at.query_params["tab"] = "All"
        at.query_params["chat"] = str(chat_id)
        at.run()
        before = page_runs(at, None, 15)

        csv = "phone,name,var1,var2\n" + "".join(f"0819{i:08d},Bench {i},Bench {i},K{i}\n"
                                                 for i in range(args.recipients))
        rows = tuple(broadcasts.read_csv(csv.encode(), 2).rows)
        worker = DeliveryWorker(store, clients()).start()
        started = time.perf_counter()
        bid = broadcasts.create(store, sari, tid, Audience("csv", rows=rows), rate=args.rate)
        queued_s = time.perf_counter() - started

        stop = threading.Event()
        during: list[float] = []
        runner = threading.Thread(target=lambda: during.extend(page_runs(at, stop, 0)), daemon=True)
        if not args.no_page:
            runner.start()
        samples = []  # (seconds since start, handled)
        t0 = time.perf_counter()
        while True:
            p = broadcasts.progress(store, bid)
            samples.append((time.perf_counter() - t0, p["handled"]))
            if p["done"]:
                break
            time.sleep(1.0)
        stop.set()
        if not args.no_page:
            runner.join(120)
        total_s = samples[-1][0]
        # Sustained: the middle of the run (10 % .. 90 % handled), free of start-up and tail.
        lo = next(s for s in samples if s[1] >= 0.1 * args.recipients)
        hi = next(s for s in samples if s[1] >= 0.9 * args.recipients)
        sustained = (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else float("nan")
        per_second = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samples, samples[1:]) if b[0] > a[0]]
        c = p["counts"]
        print(f"data: {args.chats:,} chats; broadcast of {args.recipients:,} new numbers at {args.rate:g}/s")
        print(f"queued in {queued_s * 1000:.0f} ms (one set-based write: contacts, chats, sessions, messages, outbox)")
        print(f"sent {c['sent']:,}, failed {c['failed']:,} in {total_s:.1f} s; sustained {sustained:.1f}/s "
              f"({sustained / args.rate:.0%} of the configured {args.rate:g}/s); fastest 1-s sample "
              f"{max(per_second):.1f}/s")
        print(f"Chat page run before: p50 {statistics.median(before):.0f} ms, p90 {pct(before, 90):.0f} ms "
              f"({len(before)} runs)")
        if during:
            print(f"Chat page run during: p50 {statistics.median(during):.0f} ms, p90 {pct(during, 90):.0f} ms "
                  f"({len(during)} runs, back to back)")
    finally:
        if worker is not None:
            worker.stop()
        runtime.close()
        fake.kill()


if __name__ == "__main__":
    main()
