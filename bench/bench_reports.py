"""Reports, Monitor and the inbox finder at 1M chats / 20M messages, and the
same report SQL on SQLite (stdlib sqlite3, same data, indexed) in the same
run, printed as a ratio.

    python bench/bench_reports.py [--chats 1000000] [--days 365]

The data set is generated once (in chunks, to bound memory) and cached under
/tmp/maxchat-bench-reports; the SQLite copy beside it.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import summary, timed  # noqa: E402

from maxchat_data import accounts, config, demo, inbox, monitor, reports  # noqa: E402
from maxchat_data.inbox import InboxQuery  # noqa: E402
from maxchat_data.reports import ReportFilter  # noqa: E402
from maxchat_data.store import Store, utcnow  # noqa: E402

CACHE = Path("/tmp/maxchat-bench-reports")
CHUNK = 100_000


def database(chats: int, days: float) -> Path:
    path = CACHE / f"reports-{chats}.duckdb"
    done = CACHE / f"reports-{chats}.done"
    if done.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    with Store(path, CACHE / "media") as s:
        accounts.bootstrap_admin(s, "admin", "admin-pass-1")
        for i in range(0, chats, CHUNK):
            demo.generate(s, min(CHUNK, chats - i), messages_per_chat=20.0, seed=100 + i // CHUNK, spread_days=days)
            print(f"  {i + CHUNK:,} chats, {time.perf_counter() - started:.0f} s", flush=True)
        counts = s.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM messages)")
    print(f"generated {counts[0]:,} chats / {counts[1]:,} messages in {time.perf_counter() - started:.0f} s")
    done.touch()
    return path


def sqlite_copy(duck: Path) -> Path:
    """The tables the report reads, as they are, into SQLite with the indexes
    its queries need. Times as Unix seconds (SQLite has no timestamp type)."""
    path = duck.with_suffix(".sqlite")
    if path.exists():
        return path
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE chats (id INTEGER PRIMARY KEY, channel TEXT, contact_name TEXT);
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, chat_id INTEGER, initiated_by TEXT, started_at REAL,
                               resolved_at REAL, resolved_by INTEGER);
        CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id INTEGER, direction TEXT, sender_agent_id INTEGER,
                               kind TEXT, sent_at REAL);""")
    with Store(duck) as s:
        cur = s.cursor()
        for table, sql in (
                ("chats", "SELECT id, channel, contact_name FROM chats"),
                ("sessions", "SELECT id, chat_id, initiated_by, epoch(started_at), epoch(resolved_at), resolved_by FROM sessions"),
                ("messages", "SELECT id, session_id, direction, sender_agent_id, kind, epoch(sent_at) FROM messages")):
            rel = cur.execute(sql)
            marks = ", ".join("?" * len(rel.description))
            while rows := rel.fetchmany(200_000):
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        cur.close()
    db.executescript("""
        CREATE INDEX sessions_started ON sessions (started_at);
        CREATE INDEX messages_session ON messages (session_id, sent_at);
        ANALYZE;""")
    db.commit()
    db.close()
    print(f"SQLite copy in {time.perf_counter() - started:.0f} s")
    return path


HUMAN = "m.direction = 'out' AND m.sender_agent_id IS NOT NULL AND m.kind <> 'template'"
SQLITE = {
    "facts": f"""
        WITH scope AS (SELECT s.id AS session_id, s.chat_id, c.channel, s.initiated_by, s.started_at, s.resolved_at,
                              s.resolved_by FROM sessions s JOIN chats c ON c.id = s.chat_id
                       WHERE s.started_at >= :lo AND s.started_at < :hi)
        SELECT scope.*, a.first_in, a.first_reply, a.customer_messages,
               (SELECT m.sender_agent_id FROM messages m WHERE m.session_id = scope.session_id AND {HUMAN}
                ORDER BY m.sent_at, m.id LIMIT 1) AS agent_id
        FROM scope LEFT JOIN (SELECT m.session_id, min(CASE WHEN m.direction = 'in' THEN m.sent_at END) AS first_in,
                                     min(CASE WHEN {HUMAN} THEN m.sent_at END) AS first_reply,
                                     sum(m.direction = 'in') AS customer_messages
                              FROM messages m WHERE m.session_id IN (SELECT session_id FROM scope)
                              AND m.sent_at >= :lo_slack GROUP BY m.session_id) a USING (session_id)""",
    "replies": f"""
        SELECT m.session_id, m.sender_agent_id, count(*) FROM messages m
        WHERE m.session_id IN (SELECT id FROM sessions WHERE started_at >= :lo AND started_at < :hi)
          AND m.sent_at >= :lo_slack AND {HUMAN} GROUP BY 1, 2""",
    "waits": f"""
        WITH i AS (SELECT m.session_id, m.sent_at,
                          (SELECT min(r.sent_at) FROM messages r WHERE r.session_id = m.session_id
                           AND r.sent_at >= m.sent_at AND r.direction = 'out' AND r.sender_agent_id IS NOT NULL
                           AND r.kind <> 'template') AS reply_at
                   FROM messages m WHERE m.direction = 'in' AND m.sent_at >= :lo_slack
                   AND m.session_id IN (SELECT id FROM sessions WHERE started_at >= :lo AND started_at < :hi))
        SELECT session_id, reply_at, min(sent_at) FROM i WHERE reply_at IS NOT NULL GROUP BY 1, 2""",
}



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = database(args.chats, args.days)
    lite_path = sqlite_copy(path)
    tz = config.team_timezone()
    store = Store(path, CACHE / "media")
    lite = sqlite3.connect(lite_path)
    n = store.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM sessions), (SELECT count(*) FROM messages)")
    print(f"\n{n[0]:,} chats, {n[1]:,} sessions, {n[2]:,} messages; timezone {tz.key}; {args.runs} runs each\n")
    today = utcnow().astimezone(tz).date()
    ranges = {"last 7 days": 6, "last 30 days": 29, f"whole history ({int(args.days)} days)": int(args.days)}
    for label, back in ranges.items():
        f = ReportFilter(today - timedelta(days=back), today)
        lo, hi = f.bounds(tz)
        params = {"lo": lo.timestamp(), "hi": hi.timestamp(), "lo_slack": (lo - reports.SLACK).timestamp()}
        report = reports.build(store, f, tz)  # warm
        print(f"{label}: {report.totals()['Sessions']:,} sessions")
        duck_load = timed(lambda: reports.load(store, f, tz), args.runs)
        print("  " + summary("DuckDB: the three report reads", duck_load, target=500))
        full = timed(lambda: reports.build(store, f, tz).tables(), args.runs)
        print("  " + summary("DuckDB: whole Reports page (reads + tables)", full, target=500))
        ratio_lines = []
        lite_total = 0.0
        for name, sql in SQLITE.items():
            ms = timed(lambda: lite.execute(sql, params).fetchall(), 1 if "whole" in label else min(3, args.runs))
            lite_total += sorted(ms)[len(ms) // 2]
            ratio_lines.append(f"    SQLite {name:<8} {sorted(ms)[len(ms) // 2]:10.1f} ms")
        print("\n".join(ratio_lines))
        duck_p50 = sorted(duck_load)[len(duck_load) // 2]
        print(f"  SQLite the same three reads {lite_total:10.1f} ms; DuckDB is {lite_total / duck_p50:.1f}x faster\n")
    print(summary("Monitor refresh", timed(lambda: monitor.snapshot(store, tz), 20), target=100))
    agent = store.one("SELECT id FROM agents WHERE role = 'agent' AND active LIMIT 1")[0]
    for name, q in (("finder: All, page 1 + counts", InboxQuery(tab="All")),
                    ("finder: My Chat + Open + WhatsApp", InboxQuery(tab="My Chat", statuses=("Open",),
                                                                    channels=("whatsapp",))),
                    ("finder: search 'sari'", InboxQuery(tab="All", search="sari"))):
        inbox.find_chats(store, agent, q)
        print(summary(name, timed(lambda: inbox.find_chats(store, agent, q), 20), target=60))
    store.close()


if __name__ == "__main__":
    main()
