"""Reports and Monitor on the benchmarks' data set (bench/common.py: 1M
chats over 90 days by default), and the same report figures on SQLite
(stdlib sqlite3, the same tables - sessions, chats and the per-session facts
- indexed) in the same run, the same number of runs each (p50 of both), per
query and in all as a ratio, for the last 7 days, the last 30 days and the
whole history. Then the whole Reports page as the server runs it (AppTest of
app_pages/reports.py: every read, every table and chart), for the same
ranges: wall time and the process's CPU time (all its threads: a figure a
loaded machine changes less), with the load average.

    python bench/bench_reports.py [--chats 1000000] [--messages-per-chat 20] [--runs 5]

The SQLite copy is made once beside the data set. SQLite runs on one thread
(it has no parallel query), its queries one after the other; DuckDB on its
default threads, two queries at a time as the page runs them (its "all
reads" is their wall time, SQLite's their sum).
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import big_database, summary, timed

from maxchat_data import config, facts, monitor, reports
from maxchat_data.reports import ReportFilter
from maxchat_data.store import Store, utcnow

def sqlite_copy(duck: Path, s: Store) -> Path:
    """What the report reads, as it is, into SQLite with the indexes its
    queries need: sessions and chats (labels as rows: SQLite has no lists),
    and the per-session facts. Times as Unix seconds (no timestamp type)."""
    path = duck.with_name(duck.stem + "-facts.sqlite")
    if path.exists():
        return path
    started = time.perf_counter()
    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript("""
        CREATE TABLE chats (id INTEGER PRIMARY KEY, channel TEXT, contact_name TEXT);
        CREATE TABLE chat_labels (chat_id INTEGER, label_id INTEGER);
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, chat_id INTEGER, initiated_by TEXT, started_at REAL,
                               resolved_at REAL, resolved_by INTEGER);
        CREATE TABLE session_facts (session_id INTEGER PRIMARY KEY, chat_id INTEGER, channel TEXT, started_at REAL,
                                    first_customer_at REAL, customer_messages INTEGER, agent_messages INTEGER,
                                    first_response_at REAL, first_response_agent_id INTEGER, waiting_since REAL);
        CREATE TABLE session_replies (session_id INTEGER, agent_id INTEGER, replies INTEGER);
        CREATE TABLE waits (session_id INTEGER, reply_id INTEGER, waiting_since REAL, reply_at REAL);""")
    facts.catch_up(s)
    cur = s.cursor()
    for table, sql in (
            ("chats", "SELECT id, channel, contact_name FROM chats"),
            ("chat_labels", "SELECT id, unnest(label_ids) FROM chats"),
            ("sessions", "SELECT id, chat_id, initiated_by, epoch(started_at), epoch(resolved_at), resolved_by"
                         " FROM sessions"),
            ("session_facts", "SELECT session_id, chat_id, channel, epoch(started_at), epoch(first_customer_at),"
                              " customer_messages, agent_messages, epoch(first_response_at), first_response_agent_id,"
                              " epoch(waiting_since) FROM session_facts"),
            ("session_replies", "SELECT * FROM session_replies"),
            ("waits", "SELECT session_id, reply_id, epoch(waiting_since), epoch(reply_at) FROM waits")):
        rel = cur.execute(sql)
        marks = ", ".join("?" * len(rel.description))
        while rows := rel.fetchmany(200_000):
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    cur.close()
    db.executescript("""
        CREATE INDEX session_facts_started ON session_facts (started_at);
        CREATE INDEX chat_labels_chat ON chat_labels (chat_id);
        CREATE INDEX session_replies_session ON session_replies (session_id);
        CREATE INDEX waits_session ON waits (session_id);
        ANALYZE;""")
    db.commit()
    db.close()
    tmp.rename(path)
    print(f"SQLite copy in {time.perf_counter() - started:.0f} s")
    return path


def _lite_quantiles(col: str, source: str, key: str | None = None) -> str:
    """Median, p90 (interpolated linearly, as quantile_cont), average and count
    of ``col`` (per ``key``) in SQLite, which has no quantile function: rank
    the values, keep the two around each position, interpolate."""
    k, part = (f"{key}, ", f"PARTITION BY {key}") if key else ("", "")

    def q(p: float) -> str:
        pos, at = f"({p} * (n - 1))", f"CAST({p} * (n - 1) AS INTEGER)"
        lo = f"max(CASE WHEN i = {at} THEN v END)"
        hi = f"coalesce(max(CASE WHEN i = {at} + 1 THEN v END), {lo})"
        return f"{lo} + ({hi} - {lo}) * ({pos} - {at})"
    return (f"SELECT {k}{q(0.5)} AS median, {q(0.9)} AS p90, mean, n FROM ("
            f" SELECT {k}v, row_number() OVER ({part} ORDER BY v) - 1 AS i, count(*) OVER ({part}) AS n,"
            f" avg(v) OVER ({part}) AS mean FROM (SELECT {k}{col} AS v FROM {source} WHERE {col} IS NOT NULL))"
            f" WHERE i IN (CAST(0.5 * (n - 1) AS INTEGER), CAST(0.5 * (n - 1) AS INTEGER) + 1,"
            f" CAST(0.9 * (n - 1) AS INTEGER), CAST(0.9 * (n - 1) AS INTEGER) + 1) GROUP BY {k}n, mean")


_LITE_COUNTS = ("count(*), sum(ui), sum(NOT ui), sum(cm), sum(am), count(resolved_at),"
                " sum(first_response_at IS NULL)")
# The report's queries in SQLite: the same scope read once into a temporary
# table, then the same aggregations (GROUPING SETS as UNION ALL). Days by
# the team's UTC offset at the range's start (SQLite knows no time zones).
SQLITE = {
    "scope": """
        CREATE TEMP TABLE scope AS
        SELECT f.session_id, f.chat_id, f.channel, s.initiated_by = 'User initiate' AS ui, f.started_at,
               s.resolved_at, s.resolved_by, date(f.started_at + :off, 'unixepoch') AS day,
               CAST(strftime('%w', f.started_at + :off, 'unixepoch') AS INTEGER) AS dow,
               CAST(strftime('%H', f.started_at + :off, 'unixepoch') AS INTEGER) AS hour,
               f.first_response_at, f.first_response_agent_id AS agent_id, f.customer_messages AS cm,
               f.agent_messages AS am,
               CASE WHEN s.initiated_by = 'User initiate' THEN f.first_response_at - f.first_customer_at END AS frt,
               s.resolved_at - f.started_at AS res
        FROM session_facts f JOIN sessions s ON s.id = f.session_id
        WHERE f.started_at >= :lo AND f.started_at < :hi""",
    "volumes": f"""
        SELECT 'day', day, NULL, {_LITE_COUNTS} FROM scope GROUP BY day
        UNION ALL SELECT 'channel', channel, NULL, {_LITE_COUNTS} FROM scope GROUP BY channel
        UNION ALL SELECT 'hour', dow, hour, {_LITE_COUNTS} FROM scope GROUP BY dow, hour""",
    "times": f"""
        SELECT 'all', NULL, * FROM ({_lite_quantiles('frt', 'scope')})
        UNION ALL SELECT 'resolution', NULL, * FROM ({_lite_quantiles('res', 'scope')})
        UNION ALL SELECT 'day', * FROM ({_lite_quantiles('frt', 'scope', 'day')})
        UNION ALL SELECT 'agent', * FROM ({_lite_quantiles('frt', 'scope', 'agent_id')})
        UNION ALL SELECT 'handled', agent_id, count(*), NULL, NULL, NULL FROM scope GROUP BY agent_id
        UNION ALL SELECT 'resolver', resolved_by, count(*), NULL, NULL, NULL FROM scope GROUP BY resolved_by""",
    "waits": f"""
        WITH wait_rows AS (SELECT sc.day, w.reply_at - w.waiting_since AS waiting_s
                           FROM waits w JOIN scope sc ON sc.session_id = w.session_id)
        SELECT 'all', NULL, * FROM ({_lite_quantiles('waiting_s', 'wait_rows')})
        UNION ALL SELECT 'day', * FROM ({_lite_quantiles('waiting_s', 'wait_rows', 'day')})""",
    "labels": f"""
        SELECT l.label_id, {_LITE_COUNTS} FROM scope LEFT JOIN chat_labels l ON l.chat_id = scope.chat_id
        GROUP BY l.label_id""",
    "replies": """
        SELECT r.agent_id, sum(r.replies) FROM session_replies r JOIN scope USING (session_id) GROUP BY r.agent_id""",
    "first 200 sessions": """
        SELECT sc.*, c.contact_name FROM (SELECT * FROM scope ORDER BY started_at, session_id LIMIT 200) sc
        JOIN chats c ON c.id = sc.chat_id ORDER BY sc.started_at, sc.session_id""",
}


def sqlite_report(lite: sqlite3.Connection, params: dict) -> dict[str, float]:
    """ms per query, in order, on one connection (its temporary table)."""
    out = {}
    for name, sql in SQLITE.items():
        started = time.perf_counter()
        lite.execute(sql, params).fetchall()
        out[name] = (time.perf_counter() - started) * 1000
    lite.execute("DROP TABLE scope")
    return out


def commit(store: Store) -> None:
    """An empty commit: figures kept from before (reports.build) are not
    used, every read happens, as on the first run after a new message."""
    store.write(lambda w: None)


WALL = "wall"


def duck_report(store: Store, f: ReportFilter, tz) -> dict[str, float]:
    """ms per query, and (WALL) of them all: they run two at a time."""
    commit(store)
    started = time.perf_counter()
    r = reports.build(store, f, tz)
    r.by_day()  # runs every aggregation
    wall = (time.perf_counter() - started) * 1000
    times = dict(r.timings)
    times["first 200 sessions"] = times.pop("first")
    return {**times, WALL: wall}


def reads(run: dict[str, float]) -> float:
    """All of a run's reads: their wall time where they overlap, else their sum."""
    return run[WALL] if WALL in run else sum(run.values())


def per_query(label: str, runs: list[dict[str, float]]) -> None:
    """p50 ms of each query (the engines' queries differ: each makes the
    figures its own way) and of all of them."""
    print(f"    {label}: " + ", ".join(f"{name} {p50([r[name] for r in runs]):.1f}" for name in runs[0] if name != WALL)
          + f"; all reads {p50([reads(r) for r in runs]):.1f} ms")


def page(store: Store, f: ReportFilter, tz) -> None:
    """What the Reports page computes (the full sessions export is made only
    when its download is clicked)."""
    commit(store)
    r = reports.build(store, f, tz)
    r.totals(), r.metrics(), r.by_day(), r.metrics_by_day(), r.heatmap(), r.by_channel(), r.by_label()
    r.by_agent(), r.sessions(first=True)


def p50(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def page_runs(store: Store, ranges: dict, today, runs: int) -> None:
    """The whole Reports page, run as the server runs it (AppTest), per
    range: after a commit (every read happens), then rerun with none since
    (the figures kept for that commit: drawing only)."""
    from streamlit.testing.v1 import AppTest
    admin = store.dicts("SELECT id, username, display_name, role, notify, language FROM agents"
                        " WHERE role = 'admin' AND active ORDER BY id LIMIT 1")[0]
    at = AppTest.from_file(str(ROOT / "app_pages" / "reports.py"), default_timeout=300)
    at.session_state["agent"] = admin
    at.run()
    assert not at.exception, at.exception
    for label, back in ranges.items():
        target = 1000 if "whole" in label else 500
        at.date_input(key="rep_range").set_value((today - timedelta(days=back), today))
        ms, cpu, rerun = [], [], []
        for _ in range(runs):
            commit(store)
            started, cpu_started = time.perf_counter(), time.process_time()
            at.run()
            ms.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            assert not at.exception, at.exception
            started = time.perf_counter()
            at.run()
            rerun.append((time.perf_counter() - started) * 1000)
        print("  " + summary(f"whole Reports page (AppTest), {label}", ms, target=target)
              + f"  spread {min(ms):.0f}-{max(ms):.0f} ms, CPU p50 {p50(cpu):.0f} ms; rerun with no commit p50"
              f" {p50(rerun):.0f} ms  (load {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--messages-per-chat", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = big_database(args.chats, args.messages_per_chat)
    # One process owns the file: the page (server.runtime) and the figures share one store.
    os.environ.update(MAXCHAT_DB=str(path), MAXCHAT_MEDIA_DIR=str(path.parent / "media"), MAXCHAT_DEMO="1")
    from server import runtime
    started = time.perf_counter()
    store = runtime.store()  # migrations (the facts backfill) run here on an older file
    print(f"opened (and migrated) in {time.perf_counter() - started:.1f} s")
    facts.catch_up(store)
    lite_path = sqlite_copy(path, store)
    tz = config.team_timezone()
    lite = sqlite3.connect(lite_path)
    n = store.one("SELECT (SELECT count(*) FROM chats), (SELECT count(*) FROM sessions), (SELECT count(*) FROM messages),"
                  " (SELECT count(*) FROM waits), (SELECT min(started_at) FROM sessions)")
    today = utcnow().astimezone(tz).date()
    days = (today - n[4].astimezone(tz).date()).days
    print(f"\n{n[0]:,} chats, {n[1]:,} sessions, {n[2]:,} messages, {n[3]:,} waits; timezone {tz.key};"
          f" {args.runs} runs each; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    ranges = {"last 7 days": 6, "last 30 days": 29, f"whole history ({days + 1} days)": days}
    for label, back in ranges.items():
        f = ReportFilter(today - timedelta(days=back), today)
        lo, hi = f.bounds(tz)
        params = {"lo": lo.timestamp(), "hi": hi.timestamp(),
                  "off": reports.utc_offsets(tz, lo, hi)[0][1] / 1e6}
        print(f"{label}: {reports.build(store, f, tz).totals()['Sessions']:,} sessions")
        duck = [duck_report(store, f, tz) for _ in range(args.runs)]
        lite_runs = [sqlite_report(lite, params) for _ in range(args.runs)]
        per_query("DuckDB", duck)
        per_query("SQLite", lite_runs)
        d_total, s_total = p50([reads(r) for r in duck]), p50([reads(r) for r in lite_runs])
        print(f"    all reads: DuckDB {s_total / d_total:.1f}x faster")
        print("  " + summary("DuckDB: report reads + tables (no page)", timed(lambda: page(store, f, tz), args.runs)))
        print()
    page_runs(store, ranges, today, args.runs)
    print()
    print(summary("Monitor refresh", timed(lambda: monitor.snapshot(store, tz), 20), target=100))
    runtime.close()


if __name__ == "__main__":
    main()
