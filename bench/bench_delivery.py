"""Outbound delivery under trouble, against the fake providers (real HTTP on
127.0.0.1). Prints figures; it does not assert them.

1. kill -9 mid-send: the real server (tests/live_server.py) sends one reply
   per channel, every fake holds its answer, the server is killed with
   SIGKILL while the three calls are in flight, then restarted: how many
   times did each fake receive its message, and how did the message end?
2. WhatsApp hangs 35 s on every call: how long does a Telegram reply queued
   meanwhile take to go out?
3. Retry-After: 0 and Retry-After: 86400 on every try: how many tries, over
   how long, and how does the message end?

    python bench/bench_delivery.py [--skip-hang]
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maxchat_data import actions, config, system
from maxchat_data.channels import clients
from maxchat_data.store import Store
from server.delivery import DeliveryWorker
from tests.conftest import customer_writes
from tests.fakes import FakeMessenger, FakeTelegram, FakeWhatsApp, Reply, rate_limited
from tests.fakes.helpers import PNID, TG_TOKEN, env_for
from tests.live_server import live_server

USERS = {"whatsapp": "6281200000001", "messenger": "PSID1", "telegram": "5550001"}
HELD = {"whatsapp": lambda d: Reply(200, {"messages": [{"id": "wamid.HELD"}]}, delay=d),
        "messenger": lambda d: Reply(200, {"recipient_id": "PSID1", "message_id": "m_HELD"}, delay=d),
        "telegram": lambda d: Reply(200, {"ok": True, "result": {"message_id": 1}}, delay=d)}
KEY = {"whatsapp": "messages", "messenger": "messages", "telegram": "sendMessage"}


def fakes():
    return {"whatsapp": FakeWhatsApp(phone_number_id=PNID), "messenger": FakeMessenger(),
            "telegram": FakeTelegram(token=TG_TOKEN)}


def seeded(path: Path, channels) -> tuple[Store, dict]:
    s = Store(path, path.parent / "media")
    agent = system.create_account(s, "budi", "Budi", "budi-pass-1", "agent")
    chats = {ch: customer_writes(s, user=USERS[ch], channel=ch, pmid=f"seed-{ch}").chat_id for ch in channels}
    return s, {"agent": agent, **chats}


def status(s: Store, mid: int) -> str:
    st, err = s.one("SELECT status, error FROM messages WHERE id = ?", [mid])
    return st + (f" ({err})" if err else "")


def kill_mid_send(tmp: Path) -> None:
    f = fakes()
    try:
        s, ids = seeded(tmp / "server.duckdb", USERS)
        queued = {ch: actions.reply(s, ids[ch], ids["agent"], f"once on {ch}") for ch in USERS}
        s.close()
        for ch, fake in f.items():
            fake.script(KEY[ch], HELD[ch](10))
        env = env_for(f["whatsapp"], f["messenger"], f["telegram"])
        with live_server(tmp, env=env) as base:
            for ch, fake in f.items():
                fake.wait_for(KEY[ch], 1, timeout=30)
            import subprocess
            port = base.rsplit(":", 1)[1]
            (pid,) = subprocess.run(["pgrep", "-f", "--", f"--server.port {port} "], capture_output=True,
                                    text=True).stdout.split()
            os.kill(int(pid), signal.SIGKILL)
        with live_server(tmp, env=env):
            time.sleep(3)
        s = Store(tmp / "server.duckdb", tmp / "media")
        print("1. kill -9 while each channel's send was in flight, then restart:")
        for ch, mid in queued.items():
            print(f"   {ch:9s} received {len(f[ch].calls(KEY[ch]))}x; message: {status(s, mid)}")
        s.close()
    finally:
        for fake in f.values():
            fake.close()


def hanging_whatsapp(tmp: Path) -> None:
    f = fakes()
    for k, v in env_for(f["whatsapp"], f["messenger"], f["telegram"]).items():
        os.environ[k] = v
    config._secrets.cache_clear()
    f["whatsapp"].script("messages", *[HELD["whatsapp"](35) for _ in range(5)])
    s, ids = seeded(tmp / "hang.duckdb", ("whatsapp", "telegram"))
    w = DeliveryWorker(s, clients()).start()  # the default 0.25 s poll
    try:
        slow = actions.reply(s, ids["whatsapp"], ids["agent"], "slow")
        f["whatsapp"].wait_for("messages")
        waits = []
        for at in (1, 10, 20):
            time.sleep(max(0.0, at - sum(waits)))
            start = time.monotonic()
            mid = actions.reply(s, ids["telegram"], ids["agent"], f"quick {at}")
            while s.one("SELECT status FROM messages WHERE id = ?", [mid])[0] == "pending":
                time.sleep(0.01)
            waits.append(time.monotonic() - start)
        print("2. Telegram replies queued 1, 10, 20 s into a 35 s WhatsApp hang went out after "
              + ", ".join(f"{x:.2f} s" for x in waits))
        end = time.monotonic() + 60
        while s.one("SELECT status FROM messages WHERE id = ?", [slow])[0] == "pending" and time.monotonic() < end:
            time.sleep(0.1)
        print(f"   the WhatsApp reply: {status(s, slow)}; WhatsApp received it {len(f['whatsapp'].calls('messages'))}x")
    finally:
        w.stop()
        s.close()
        for fake in f.values():
            fake.close()


def retry_after(tmp: Path) -> None:
    for seconds in (0, 86400):
        f = fakes()
        for k, v in env_for(f["whatsapp"]).items():
            os.environ[k] = v
        config._secrets.cache_clear()
        f["whatsapp"].script("messages", *[rate_limited(seconds) for _ in range(50)])
        s, ids = seeded(tmp / f"ra{seconds}.duckdb", ("whatsapp",))
        w = DeliveryWorker(s, clients(), poll=0.05).start()
        try:
            mid = actions.reply(s, ids["whatsapp"], ids["agent"], "x")
            start = time.monotonic()
            while s.one("SELECT status FROM messages WHERE id = ?", [mid])[0] == "pending" and time.monotonic() - start < 15:
                time.sleep(0.02)
            calls = f["whatsapp"].calls("messages")
            span = calls[-1].at - calls[0].at if calls else 0
            print(f"3. Retry-After {seconds}: {len(calls)} tries over {span:.1f} s; after {time.monotonic() - start:.1f} s"
                  f" the message is {status(s, mid)}")
        finally:
            w.stop()
            s.close()
            f["whatsapp"].close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-hang", action="store_true", help="skip the 35 s WhatsApp hang")
    args = parser.parse_args()
    os.environ["MAXCHAT_SECRETS"] = "/nonexistent"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for step, fn in (("kill", kill_mid_send), ("hang", hanging_whatsapp), ("retry", retry_after)):
            if step == "hang" and args.skip_hang:
                continue
            (tmp / step).mkdir()
            fn(tmp / step)


if __name__ == "__main__":
    main()
