"""Delivery ticks on the benchmarks' data set (100k chats / 2M messages, or
``--chats 1000000 --messages-per-chat 5``): WhatsApp and Telegram report
sent, delivered and read for every message we sent, so a broadcast of 1,000
brings 3,000 ticks, each one a look-up of the message by the id its channel
gave it, on the one writer thread. Prints ticks/s one at a time (what a
quiet day does) and in a burst (a broadcast's receipts arriving together),
and the time to open the database (its migrations included).

    python bench/bench_ticks.py [--chats 100000] [--messages-per-chat 20] [--ticks 3000]
"""
from __future__ import annotations

import argparse
import os
import random
import time

from common import big_database, pct

from maxchat_data import open_store
from maxchat_data.ticks import DeliveryStatus, record_status_async


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--messages-per-chat", type=float, default=20.0)
    parser.add_argument("--ticks", type=int, default=3000)
    args = parser.parse_args()
    path = big_database(args.chats, args.messages_per_chat)
    started = time.perf_counter()
    store = open_store(path)
    print(f"open (migrations included): {time.perf_counter() - started:.1f} s", flush=True)
    try:
        sent = store.all("SELECT channel, provider_message_id FROM messages WHERE direction = 'out'"
                         " AND provider_message_id IS NOT NULL USING SAMPLE 3000 ROWS")
        rng = random.Random(7)
        ticks = [DeliveryStatus(*rng.choice(sent), status) for status in ("delivered", "read")
                 for _ in range(args.ticks // 2)]
        one = ticks[: len(ticks) // 3]
        waits = []
        started = time.perf_counter()
        for t in one:  # one at a time: each its own commit
            t0 = time.perf_counter()
            record_status_async(store, t).result(60)
            waits.append((time.perf_counter() - t0) * 1000)
        spent = time.perf_counter() - started
        print(f"one at a time: {len(one) / spent:,.0f} ticks/s, p50 {pct(waits, 50):.1f} ms, p99 {pct(waits, 99):.1f} ms"
              f" (load {os.getloadavg()[0]:.1f})", flush=True)
        burst = ticks[len(one):]
        started = time.perf_counter()
        for f in [record_status_async(store, t) for t in burst]:  # all at once: commit groups
            f.result(120)
        spent = time.perf_counter() - started
        print(f"burst of {len(burst):,}: {len(burst) / spent:,.0f} ticks/s (load {os.getloadavg()[0]:.1f})")
    finally:
        store.close()


if __name__ == "__main__":
    main()
