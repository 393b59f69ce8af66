"""Password guessing against the real server, through the real login form.

Each attacker is a Streamlit websocket session (what a browser opens,
without the browser): it renders the login form, then submits it again and
again with the form's own widget ids, exactly as the browser would, and
reads the answer the form shows. An answer "Wrong username or password."
means the guess reached a password check; "Too many failed attempts" and
"busy" mean it did not.

Scenarios, each on a fresh server (tests/live_server.py):
  (a) one username, one session, straight from loopback (no proxy);
  (b) a different username on every guess, one session, from loopback;
  (c) 20 parallel sessions on one username, arriving through a trusted
      proxy (MAXCHAT_TRUSTED_PROXIES=127.0.0.1) as 203.0.113.66; meanwhile
      the real admin logs in as 198.51.100.7, and the server's RSS is
      sampled every 50 ms.

    python bench/bench_login_attack.py [--seconds 60]

Prints figures; asserts nothing."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from live_server import live_server
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

ADMIN_PASSWORD = "admin-pass-1"


class FormSession:
    """One Streamlit session showing the login form (with ``cookie``, a
    logged-in session: see bench_console_attack.py)."""

    def __init__(self, base: str, forwarded_for: str | None = None, cookie: str | None = None):
        self.base, self.forwarded_for, self.cookie = base, forwarded_for, cookie
        self.ids: dict[str, str] = {}
        self.page_hash = ""

    async def __aenter__(self):
        headers = {"Origin": self.base}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.ws = await connect(self.base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                additional_headers=headers, max_size=None, open_timeout=30)
        await self._run(None)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def _run(self, widgets: list[WidgetState] | None) -> list[str]:
        """One script run; returns the texts of the alerts it showed."""
        state = ClientState(page_script_hash=self.page_hash)
        if widgets:
            state.widget_states.CopyFrom(WidgetStates(widgets=widgets))
        await self.ws.send(BackMsg(rerun_script=state).SerializeToString())
        shown: list[str] = []
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self.ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "script_finished":
                return shown
            self.seen(msg, kind, shown)

    def seen(self, msg: ForwardMsg, kind: str, shown: list[str]) -> None:
        """Note the widgets' ids and what the run shows."""
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "text_input":
                self.ids[element.text_input.label] = element.text_input.id
            elif which == "button" and element.button.is_form_submitter:
                self.ids["submit"] = element.button.id
            elif which == "alert":
                shown.append(element.alert.body)

    async def log_in(self, username: str, password: str) -> str:
        alerts = await self._run([WidgetState(id=self.ids["Username"], string_value=username),
                                  WidgetState(id=self.ids["Password"], string_value=password),
                                  WidgetState(id=self.ids["submit"], trigger_value=True)])
        for text in alerts:
            if text.startswith(("Wrong username", "Too many", "The server is busy", "This account")):
                return text
        return "logged in" if any("Logging in" in a for a in alerts) else f"? {alerts}"


def kind_of(answer: str) -> str:
    return {"Wron": "checked", "Too ": "locked", "The ": "busy", "logg": "logged in"}.get(answer[:4], answer)


async def attack(base: str, seconds: float, sessions: int, username, forwarded_for=None) -> dict:
    counts: dict[str, int] = {}
    end = time.monotonic() + seconds

    async def one(n: int):
        async with FormSession(base, forwarded_for) as s:
            i = 0
            while time.monotonic() < end:
                answer = await s.log_in(username(n, i), f"guess-{n}-{i}")
                counts[kind_of(answer)] = counts.get(kind_of(answer), 0) + 1
                i += 1

    await asyncio.gather(*(one(n) for n in range(sessions)))
    return counts


def server_pid(port: str) -> int:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
            return int(pid)
    raise RuntimeError("server process not found")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def per_minute(counts: dict, seconds: float) -> str:
    checked = counts.get("checked", 0)
    return (f"{checked} guesses reached a password check in {seconds:.0f} s = {checked * 60 / seconds:.1f}/min "
            f"(all answers: {counts})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    secs = args.seconds

    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp), env={"MAXCHAT_TRUSTED_PROXIES": ""}) as base:
        counts = asyncio.run(attack(base, secs, 1, lambda n, i: "admin"))
        print(f"(a) one username, loopback:          {per_minute(counts, secs)}", flush=True)

    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp), env={"MAXCHAT_TRUSTED_PROXIES": ""}) as base:
        counts = asyncio.run(attack(base, secs, 1, lambda n, i: f"user{i}"))
        print(f"(b) spread over usernames, loopback: {per_minute(counts, secs)}", flush=True)

    with tempfile.TemporaryDirectory() as tmp, \
            live_server(Path(tmp), env={"MAXCHAT_TRUSTED_PROXIES": "127.0.0.1"}) as base:
        pid = server_pid(base.rsplit(":", 1)[1])
        before = rss_mb(pid)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_mb(pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        async def scenario():
            burst = asyncio.create_task(attack(base, secs, 20, lambda n, i: "admin", "203.0.113.66"))
            await asyncio.sleep(min(20, secs / 3))
            started = time.monotonic()
            async with FormSession(base, "198.51.100.7") as owner:
                answer = await owner.log_in("admin", ADMIN_PASSWORD)
            owner_s = time.monotonic() - started
            async with FormSession(base, "203.0.113.66") as same:
                from_attacker = await same.log_in("admin", ADMIN_PASSWORD)
            return await burst, answer, owner_s, from_attacker

        counts, answer, owner_s, from_attacker = asyncio.run(scenario())
        done.set()
        sampler.join()
        print(f"(c) 20 parallel sessions, one user:  {per_minute(counts, secs)}")
        print(f"    server RSS {before:.0f} MB before, peak {peak[0]:.0f} MB during the burst")
        print(f"    real admin from another address during the attack: {answer!r} ({owner_s:.2f} s)")
        print(f"    real admin from the attacker's address: {from_attacker!r}")


if __name__ == "__main__":
    main()
