"""Chat page benchmark at 100k chats / 2M messages.

1. Server time of one full Chat page run (AppTest, the same script the
   server runs), p50/p90 over N runs, with a chat open:
   - cold: the page's per-session caches dropped before every run, so the
     finder, the chat, the thread, notes, labels and agents are all read;
   - warm: a rerun while the store's version has not moved (what most
     polling ticks and clicks cost).
2. Memory (RSS) of the real server (``streamlit run app.py``) with 20 open
   browser sessions on the Chat page (20 Playwright pages sharing one login).

    python bench/bench_page.py [--db /tmp/chatbench/100k.duckdb] [--runs 20] [--sessions 20]

The data set is generated once (``python -m maxchat_data demo --chats 100000
--messages-per-chat 20 --days 90``, ~20 s) and reused. Prints figures; asserts nothing."""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from common import cpu_seconds, pct, timed_page_run
PAGE = str(ROOT / "app_pages" / "chat.py")
TARGET_MS = 150


def ensure_db(path: Path, chats: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating {chats} chats into {path} …", flush=True)
    subprocess.run([sys.executable, "-m", "maxchat_data", "--db", str(path), "demo", "--chats", str(chats),
                    "--messages-per-chat", "20", "--days", "90"], cwd=ROOT, check=True,
                   env={**os.environ, "MAXCHAT_DEMO": "0"})


def bench_page_runs(db: Path, runs: int) -> None:
    # A demo data set (demo logins): opened in demo mode, as ./run.sh would.
    os.environ.update(MAXCHAT_DB=str(db), MAXCHAT_MEDIA_DIR=str(db.parent / "media"), MAXCHAT_DEMO="1")
    from streamlit.testing.v1 import AppTest

    from server import runtime
    store = runtime.store()
    try:
        (chats,) = store.one("SELECT count(*) FROM chats")
        (messages,) = store.one("SELECT count(*) FROM messages")
        agent = store.dicts("SELECT a.id, a.username, a.display_name, a.role, a.notify FROM agents a"
                            " JOIN chats c ON c.assignee_id = a.id WHERE a.active GROUP BY ALL"
                            " ORDER BY count(*) DESC LIMIT 1")[0]
        chat_id = store.one("SELECT id FROM chats WHERE NOT archived ORDER BY last_message_at DESC LIMIT 1")[0]
        print(f"data: {chats:,} chats, {messages:,} messages; agent {agent['username']}; open chat {chat_id}")
        at = AppTest.from_file(PAGE, default_timeout=60)
        at.session_state["agent"] = agent
        at.query_params["tab"] = "All"
        at.query_params["chat"] = str(chat_id)
        at.run()
        assert not at.exception, at.exception
        for label, drop in (("cold (every read)", True), ("warm (version unchanged)", False)):
            times = [timed_page_run(at, cold=drop) for _ in range(runs)]
            print(f"full Chat page run, {label}: p50 {statistics.median(times):.0f} ms, "
                  f"p90 {pct(times, 90):.0f} ms, min {min(times):.0f} ms over {runs} runs "
                  f"(target p50 ≤ {TARGET_MS} ms: {'met' if statistics.median(times) <= TARGET_MS else 'NOT met'})")
        # What the finder itself costs, for comparison with the page total.
        from maxchat_data.inbox import InboxQuery, find_chats, get_chat, thread
        for name, fn in (("find_chats(All)", lambda: find_chats(store, agent["id"], InboxQuery(tab="All"))),
                         ("find_chats(search 'rina')", lambda: find_chats(store, agent["id"],
                                                                          InboxQuery(tab="All", search="rina"))),
                         ("get_chat", lambda: get_chat(store, chat_id)), ("thread", lambda: thread(store, chat_id, 60))):
            ts = []
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                ts.append((time.perf_counter() - t) * 1000)
            print(f"  {name}: p50 {statistics.median(ts):.1f} ms")
    finally:
        runtime.close()


def rss_mb(pid: int) -> float:
    total = 0
    for p in [pid] + _children(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


def server_pid(port: int) -> int:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            return int(proc.name)
    raise RuntimeError("server process not found")


def bench_sessions(db: Path, sessions: int, extra_env: dict | None = None) -> None:
    from playwright.sync_api import sync_playwright

    from live_server import live_server
    from maxchat_data import accounts, system
    from maxchat_data.store import Store
    tmp = Path(tempfile.mkdtemp(prefix="chatbench-"))
    try:
        shutil.copy(db, tmp / "server.duckdb")  # the server gets its own copy (one process per file)
        s = Store(tmp / "server.duckdb", tmp / "media")
        try:
            if not accounts.authenticate(s, "benchagent", "bench-pass-1"):
                system.create_account(s, "benchagent", "Bench Agent", "bench-pass-1", "supervisor")
        finally:
            s.close()
        env = {"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", **(extra_env or {})}
        with live_server(tmp, env=env, demo=True, timeout=120) as base, sync_playwright() as p:
            pid = server_pid(int(base.rsplit(":", 1)[1]))
            idle = rss_mb(pid)
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            time.sleep(5)
            idle_cpu = (cpu_seconds(pid) - c0) / (time.perf_counter() - t0) * 100
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless=new", "--no-sandbox", "--disable-gpu"])
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            first = ctx.new_page()
            first.goto(base)
            first.get_by_label("Username").fill("benchagent")
            first.get_by_role("textbox", name="Password").fill("bench-pass-1")
            first.get_by_role("button", name="Log in").click()
            first.get_by_role("heading", name="Chat").wait_for(timeout=60000)
            one = rss_mb(pid)
            pages = [first]
            started = time.perf_counter()
            for _ in range(sessions - 1):  # same cookie, each page its own websocket session
                pg = ctx.new_page()
                pg.goto(base + "/?tab=All")
                pages.append(pg)
            for pg in pages:
                pg.get_by_role("heading", name="Chat").wait_for(timeout=60000)
            loaded = time.perf_counter() - started
            time.sleep(5)  # settle: every page is polling now
            cpu0, t0 = cpu_seconds(pid), time.perf_counter()
            samples = []
            for _ in range(10):  # steady state: 20 pages polling every 2.5 s
                time.sleep(1)
                samples.append(rss_mb(pid))
            cpu = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0) * 100
            full = statistics.median(samples)
            print(f"[{' '.join(f'{k}={v}' for k, v in (extra_env or {}).items()) or 'default config'}] "
                  f"server RSS: idle {idle:.0f} MB, 1 session {one:.0f} MB, {len(pages)} sessions {full:.0f} MB "
                  f"(median of 10 samples, max {max(samples):.0f} MB; "
                  f"≈{(full - idle) / len(pages):.1f} MB per session over idle); "
                  f"server CPU: idle {idle_cpu:.0f}%, while {len(pages)} pages poll {cpu:.0f}% of one core; "
                  f"{len(pages) - 1} pages opened in {loaded:.1f} s (browser on the same machine)")
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/chatbench/100k.duckdb")
    ap.add_argument("--chats", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--skip-sessions", action="store_true")
    args = ap.parse_args()
    db = Path(args.db)
    ensure_db(db, args.chats)
    bench_page_runs(db, args.runs)
    if not args.skip_sessions:
        bench_sessions(db, args.sessions)
        # Streamlit runs gc.collect(2) after every script run, fragment ticks
        # included (runner.postScriptGC): most of a tick's CPU. Compare without it.
        bench_sessions(db, args.sessions, {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
