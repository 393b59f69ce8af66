"""Hostile SQL console queries against the real server, while signed
WhatsApp webhooks keep arriving (issue 17).

Four analysts' sessions (Streamlit websocket sessions, what a browser opens,
logged in with a session cookie) each run hostile queries on the SQL
console page again and again: the issue's ``repeat('x', 1000000) FROM
range(1000)``, an aggregate that grows to 3 GB, a result of 18 GB of rows, a
join that would hold 800 MB, a sum that would run for minutes. Meanwhile signed webhooks are sent
as in bench/bench_webhooks.py, and the server's RSS is sampled every 20 ms.

Phases, on one server (tests/live_server.py): webhooks alone; the issue's
query alone, once; webhooks while the four sessions attack; then the
server's RSS once the attack is over.

    python bench/bench_console_attack.py [--seconds 20] [--conns 8]

Prints figures; asserts nothing. 127.0.0.1 only."""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_login_attack import FormSession, rss_mb, server_pid
from bench_webhooks import PNID, SECRET, run_phase
from live_server import live_server
from maxchat_data import accounts, login
from maxchat_data.store import Store
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ISSUE_QUERY = "SELECT repeat('x',1000000) FROM range(1000)"
HOSTILE = [
    ISSUE_QUERY,
    "SELECT length(string_agg(repeat('x', 1000), '')) FROM range(3000000)",
    "SELECT repeat('x', 9000) || i AS v FROM range(2000000) t(i)",
    "SELECT count(*) FROM range(100000000) a, range(100000000) b",
    "SELECT sum(hash(i)) FROM range(100000000000) t(i)",
]


class ConsoleSession(FormSession):
    """One analyst's browser session on the SQL console page."""

    def __init__(self, base: str, token: str):
        super().__init__(base, cookie=f"{login.COOKIE_NAME}={token}")
        self.sql_hash = ""

    async def __aenter__(self):
        await super().__aenter__()
        self.page_hash = self.sql_hash
        await self._run(None)
        return self

    def seen(self, msg: ForwardMsg, kind: str, shown: list[str]) -> None:
        if kind == "navigation":
            self.sql_hash = next((p.page_script_hash for p in msg.navigation.app_pages if p.url_pathname == "sql"),
                                 self.sql_hash)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "text_area":
                self.ids["query"] = element.text_area.id
            elif which == "button" and element.button.label == "Run":
                self.ids["run"] = element.button.id
            elif which == "markdown" and " rows in " in element.markdown.body:
                shown.append(element.markdown.body)
        super().seen(msg, kind, shown)

    async def run_query(self, sql: str) -> str:
        shown = await self._run([WidgetState(id=self.ids["query"], string_value=sql),
                                 WidgetState(id=self.ids["run"], trigger_value=True)])
        return " | ".join(shown)[:110] or "(nothing shown)"


def session_token(db: Path) -> str:
    """An analyst and a session cookie for her, made before the server starts."""
    with Store(db, db.parent / "media") as s:
        lina = accounts.create_agent(s, "lina", "Lina", "lina-pass-1", "analyst")
        return login.start_session(s, lina)


async def attack(base: str, token: str, seconds: float, sessions: int, answers: list) -> None:
    end = time.monotonic() + seconds

    async def one(n: int):
        async with ConsoleSession(base, token) as s:
            i = n
            while time.monotonic() < end:
                started = time.monotonic()
                answer = await s.run_query(HOSTILE[i % len(HOSTILE)])
                answers.append((HOSTILE[i % len(HOSTILE)], time.monotonic() - started, answer))
                i += 1

    await asyncio.gather(*(one(n) for n in range(sessions)))


def _attacker(base, token, seconds, sessions, q):
    answers: list = []
    asyncio.run(attack(base, token, seconds, sessions, answers))
    q.put(answers)


class Sampler:
    """The server's RSS every 20 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._done = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--conns", type=int, default=8, help="webhook keep-alive connections")
    ap.add_argument("--sessions", type=int, default=4, help="console sessions attacking at once")
    ap.add_argument("--only", type=int, help="run only this one of the hostile queries (0-4)")
    args = ap.parse_args()
    if args.only is not None:
        HOSTILE[:] = [HOSTILE[args.only]]
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    token = session_token(tmp / "server.duckdb")
    env = {"WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_PHONE_NUMBER_ID": PNID, "MAXCHAT_SECRETS": "/nonexistent",
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_SERVER_RUN_ON_SAVE": "false"}
    with live_server(tmp, env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        pid = server_pid(str(port))
        run_phase(port, "warm-up", 1, 2, 1, 2)
        print(f"server RSS at rest: {rss_mb(pid):.0f} MB", flush=True)
        run_phase(port, "webhooks alone", 1, args.seconds, 1, args.conns)

        async def once():
            async with ConsoleSession(base, token) as s:
                return await s.run_query(ISSUE_QUERY)
        before = rss_mb(pid)
        with Sampler(pid) as sampler:
            started = time.monotonic()
            answer = asyncio.run(once())
            took = time.monotonic() - started
        time.sleep(2)
        print(f"issue 17's query alone: {took:.1f} s, RSS {before:.0f} MB before, peak {sampler.peak:.0f} MB,"
              f" {rss_mb(pid):.0f} MB 2 s after; the page said: {answer}", flush=True)

        q = mp.get_context("fork").Queue()
        attacker = mp.get_context("fork").Process(
            target=_attacker, args=(base, token, args.seconds + 4, args.sessions, q))
        before = rss_mb(pid)
        with Sampler(pid) as sampler:
            attacker.start()
            time.sleep(2)
            run_phase(port, f"webhooks + {args.sessions} hostile sessions", 1, args.seconds, 1, args.conns)
            answers = q.get()
            attacker.join()
        print(f"server RSS during the attack: {before:.0f} MB before, peak {sampler.peak:.0f} MB", flush=True)
        time.sleep(3)
        print(f"server RSS 3 s after the attack: {rss_mb(pid):.0f} MB")
        print(f"{len(answers)} console answers; per query (count, slowest answer, what the page said last):")
        for sql in HOSTILE:
            mine = [a for a in answers if a[0] == sql]
            if mine:
                print(f"  {sql[:60]:<60} {len(mine):>3}  {max(a[1] for a in mine):5.1f} s  {mine[-1][2]}")


if __name__ == "__main__":
    main()
