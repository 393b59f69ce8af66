"""Every Reports table checked against the same figures worked out here in
pandas from the raw tables (sessions, chats and the per-session facts the
fold made), on a random history of a few hundred sessions: resolved when
written, resolved and reopened through the real actions afterwards,
business and user initiated, labelled or not, some outside the range.

Reports read ``session_facts`` alone (no join to ``sessions``): the
session's start kind and resolution are kept there (``facts._SESSION_ROWS``,
``facts.set_resolution``). The reference reads them from ``sessions``, so a
copy gone stale shows here."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from maxchat_data import actions, facts, labels, reports
from maxchat_data.common import CHANNEL_LABELS, CHANNELS
from maxchat_data.reports import COUNT_NAMES, ReportFilter

from conftest import made_once, make_team

pytestmark = pytest.mark.both_backends
JKT = ZoneInfo("Asia/Jakarta")
FIRST, LAST = date(2025, 3, 3), date(2025, 3, 12)


def random_history(store, agents: list[int], label_ids: list[int], seed: int = 7) -> None:
    rng = random.Random(seed)
    chats_left_open = []

    def write(w):
        mid = iter(range(10_000, 100_000))
        sid = iter(range(1, 10_000))
        for cid in range(1, 61):
            channel, mine = rng.choice(CHANNELS), rng.sample(label_ids, rng.choice([0, 0, 1, 2]))
            w.execute("INSERT INTO contacts (id, name, created_at) VALUES (?, ?, ?)", [cid, f"c{cid}", datetime(2025, 1, 1)])
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                      " label_ids, created_at) VALUES (?, ?, ?, ?, ?, ?, 'Open', ?, ?)",
                      [cid, cid, channel, f"u{cid}", f"c{cid}", f"c{cid}", mine, datetime(2025, 1, 1, tzinfo=JKT)])
            # Sessions from a day before the range to a day after it, one after another.
            at = datetime.combine(FIRST - timedelta(days=1), datetime.min.time(), JKT) + timedelta(
                minutes=rng.randrange(0, 60 * 24 * 3))
            n = rng.choice([1, 2, 3, 4])
            for k in range(n):
                s = next(sid)
                user = rng.random() < 0.8
                start = at
                w.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL, NULL)",
                          [s, cid, "User initiate" if user else "Business initiate", start])
                w.execute("UPDATE chats SET session_id = ? WHERE id = ?", [s, cid])
                events = [("in", None, "text")] if user else [("out", rng.choice(agents), "template")]
                events += [rng.choice([("in", None, "text"), ("in", None, "text"), ("out", "agent", "text"),
                                       ("out", None, "text"), ("out", "agent", "template")])
                           for _ in range(rng.randrange(0, 6))]
                for direction, who, kind in events:
                    sender = rng.choice(agents) if who == "agent" else who
                    w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id,"
                              " kind, body, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x', ?, ?, ?)",
                              [next(mid), cid, s, channel, direction, sender, kind,
                               "received" if direction == "in" else "sent", at, at])
                    at += timedelta(seconds=rng.randrange(5, 3 * 3600))
                if k < n - 1:  # an earlier session ended, resolved (or not), before the next began
                    if rng.random() < 0.7:
                        w.execute("UPDATE sessions SET resolved_at = ?, resolved_by = ? WHERE id = ?",
                                  [at, rng.choice(agents), s])
                    at += timedelta(minutes=rng.randrange(10, 60 * 24 * 4))
            chats_left_open.append(cid)
        w.forget_caches()

    store.write(write)
    facts.catch_up(store)
    # The current sessions, after the fold made their rows: resolved, some reopened by an assignment.
    for cid in chats_left_open:
        if rng.random() < 0.6:
            actions.resolve(store, cid, rng.choice(agents))
            if rng.random() < 0.3:
                actions.assign(store, cid, rng.choice(agents), agents[0])


def frame(store, sql: str) -> pd.DataFrame:
    cur = store.cursor()
    try:
        rel = cur.execute(sql)
        return pd.DataFrame(rel.fetchall(), columns=[d[0] for d in rel.description])
    finally:
        cur.close()


def stats(values: pd.Series) -> dict:
    v = values.dropna().astype(float).to_numpy()
    if not len(v):
        return {"median": None, "p90": None, "average": None, "count": 0}
    q = np.percentile(v, [50, 90])  # linear between the two nearest, as percentile_cont
    return {"median": round(q[0], 6), "p90": round(q[1], 6), "average": v.mean(), "count": len(v)}


def reference(store, f: ReportFilter, label_names: dict[int, str], agent_names: dict[int, str]) -> dict:
    """Every table of the page, from the raw tables, in pandas."""
    lo, hi = f.bounds(JKT)
    s = frame(store, "SELECT s.id AS session_id, s.chat_id, s.initiated_by, s.started_at, s.resolved_at, s.resolved_by,"
                     " c.channel, c.label_ids, sf.first_customer_at, sf.first_response_at,"
                     " sf.first_response_agent_id AS agent_id, sf.customer_messages, sf.agent_messages"
                     " FROM sessions s JOIN chats c ON c.id = s.chat_id JOIN session_facts sf ON sf.session_id = s.id")
    for col in ("started_at", "resolved_at", "first_customer_at", "first_response_at"):
        s[col] = pd.to_datetime(s[col], utc=True)
    s = s[(s.started_at >= lo) & (s.started_at < hi)]
    if f.channels:
        s = s[s.channel.isin(f.channels)]
    if f.label_ids:
        s = s[s.label_ids.map(lambda ids: bool(set(ids) & set(f.label_ids)))]
    if f.agent_ids:
        s = s[s.agent_id.isin(f.agent_ids)]
    local = s.started_at.dt.tz_convert(JKT)
    s = s.assign(day=local.dt.date, weekday=local.dt.weekday, hour=local.dt.hour,
                 user=s.initiated_by == "User initiate",
                 frt=np.where(s.initiated_by == "User initiate",
                              (s.first_response_at - s.first_customer_at).dt.total_seconds(), np.nan),
                 res=(s.resolved_at - s.started_at).dt.total_seconds())

    def counts(g: pd.DataFrame) -> dict:
        return {"Sessions": len(g), "User initiate": int(g.user.sum()), "Business initiate": int((~g.user).sum()),
                "Customer messages": int(g.customer_messages.sum()), "Agent messages": int(g.agent_messages.sum()),
                "Resolved sessions": int(g.resolved_at.notna().sum()),
                "Sessions with no agent reply": int(g.first_response_at.isna().sum())}

    def table(groups: dict, index: list, name: str) -> pd.DataFrame:
        out = pd.DataFrame([{name: k, **counts(g)} for k, g in groups.items()], columns=[name, *COUNT_NAMES])
        return out.set_index(name).reindex(index, fill_value=0).astype("int64")

    days = [f.start + timedelta(days=i) for i in range((f.end - f.start).days + 1)]
    by_label = {}
    for label_id, name in label_names.items():
        by_label[name] = s[s.label_ids.map(lambda ids: label_id in ids)]
    by_label["(no label)"] = s[s.label_ids.map(len) == 0]
    waits = frame(store, "SELECT w.session_id, w.waiting_since, w.reply_at FROM waits w")
    waits = waits[waits.session_id.isin(s.session_id)].merge(s[["session_id", "day"]], on="session_id")
    waits["wait"] = (pd.to_datetime(waits.reply_at, utc=True) - pd.to_datetime(waits.waiting_since, utc=True)
                     ).dt.total_seconds()
    replies = frame(store, "SELECT session_id, agent_id, replies FROM session_replies")
    replies = replies[replies.session_id.isin(s.session_id)].groupby("agent_id").replies.sum()
    handled, resolved = s.groupby("agent_id"), s.groupby("resolved_by").size()
    agents = sorted(set(handled.groups) | set(replies.index) | set(resolved.index))
    heat = {(d, h): int(s[(s.weekday == d) & (s.hour == h)].user.sum()) for d in range(7) for h in range(24)}
    return {
        "by_day": table(dict(list(s.groupby("day"))), days, "Day"),
        "by_channel": table({CHANNEL_LABELS[c]: g for c, g in s.groupby("channel")},
                            [CHANNEL_LABELS[c] for c in CHANNELS], "Channel"),
        "by_label": table(by_label, sorted(label_names.values()) + ["(no label)"], "Label"),
        "heatmap": heat,
        "metrics": {"First response time": stats(s.frt), "Customer waiting time": stats(waits.wait),
                    "Resolution time": stats(s.res)},
        "metrics_by_day": {d: (stats(s[s.day == d].frt)["median"], stats(s[s.day == d].frt)["count"],
                               stats(waits[waits.day == d].wait)["median"], stats(waits[waits.day == d].wait)["count"])
                           for d in days},
        "by_agent": {agent_names[a]: (len(handled.get_group(a)) if a in handled.groups else 0,
                                      int(replies.get(a, 0)),
                                      stats(handled.get_group(a).frt if a in handled.groups else pd.Series([])),
                                      int(resolved.get(a, 0))) for a in agents},
        "sessions": len(s),
    }


def same(a, b) -> bool:
    return (a is None or pd.isna(a)) and (b is None or pd.isna(b)) or a == pytest.approx(b, rel=1e-12)


def make_history(store, team: dict) -> dict:
    agents = [team["admin"], team["budi"], team["sari"]]
    names = ("VIP", "Grosir", "Komplain")
    label_ids = [labels.create_label(store, n, "Purple", team["admin"]) for n in names]
    random_history(store, agents, label_ids)
    return {"agents": agents, "labels": dict(zip(label_ids, names))}


@pytest.fixture(scope="module")
def history_made(tmp_path_factory, team_made) -> tuple[Path, dict]:
    """The history made once on DuckDB (~1,500 writes): a test asking for
    ``history`` gets a copy of the file."""
    return made_once(tmp_path_factory, team_made[0], "history", lambda made: make_history(made, team_made[1]))


@pytest.fixture
def store_template(request, migrated_duckdb) -> Path:
    return request.getfixturevalue("history_made")[0] if "history" in request.fixturenames else migrated_duckdb


@pytest.fixture
def history(store, backend, request):
    if backend == "duckdb":
        return dict(request.getfixturevalue("history_made")[1])  # ``store`` is already a copy of it
    return make_history(store, make_team(store))


@pytest.mark.parametrize("narrow", [{}, {"channels": ("whatsapp", "telegram")}, {"label_ids": "first two"},
                                    {"agent_ids": "last two"}])
def test_every_table_equals_the_figures_worked_out_from_the_raw_tables(store, history, narrow):
    if narrow.get("label_ids"):
        narrow = {"label_ids": tuple(history["labels"])[:2]}
    if narrow.get("agent_ids"):
        narrow = {"agent_ids": tuple(history["agents"][1:])}
    f = ReportFilter(FIRST, LAST, **narrow)
    r = reports.build(store, f, JKT)
    agent_names = {i: n for i, n in store.all("SELECT id, display_name FROM agents")}
    want = reference(store, f, history["labels"], agent_names)
    assert want["sessions"] > (100 if not narrow else 10)  # a history worth checking
    for name in ("by_day", "by_channel", "by_label"):
        pd.testing.assert_frame_equal(getattr(r, name)(), want[name], check_names=False, check_index_type=False)
    assert {(row.Weekday, row.Hour): row.Sessions for row in r.heatmap().itertuples()} == {
        (["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][d], h): n
        for (d, h), n in want["heatmap"].items()}
    m = r.metrics()
    for metric, s in want["metrics"].items():
        got = m.loc[metric]
        assert all(same(got[col], s[key]) for col, key in (("Median (s)", "median"), ("p90 (s)", "p90"),
                                                           ("Average (s)", "average"), ("Count", "count"))), metric
    for day, row in r.metrics_by_day().iterrows():
        got = (row["First response median (s)"], row["First responses"], row["Waiting median (s)"], row["Waits"])
        assert all(same(a, b) for a, b in zip(got, want["metrics_by_day"][day])), day
    by_agent = r.by_agent()
    assert sorted(by_agent.index) == sorted(want["by_agent"])
    for agent, (handled, replies, frt, resolutions) in want["by_agent"].items():
        row = by_agent.loc[agent]
        assert (row["Sessions handled"], row["Replies sent"], row["Resolutions"]) == (handled, replies, resolutions)
        assert same(row["First response median (s)"], frt["median"]) and same(row["First response p90 (s)"], frt["p90"])
        assert row["First responses"] == frt["count"]
    sessions = r.sessions()
    assert len(sessions) == want["sessions"] == sum(r.totals()[k] for k in ("User initiate", "Business initiate"))
    pd.testing.assert_frame_equal(r.sessions(first=True), sessions.head(reports.SHOWN))


def test_a_resolution_and_a_reopening_reach_the_facts_reports_read(store, team):
    """Reports read a session's resolution from ``session_facts``: resolving
    and reopening (an assignment of a resolved chat) change it there too."""
    from conftest import customer_writes
    chat = customer_writes(store, "6281", "Halo").chat_id
    facts.catch_up(store)
    sid = store.one("SELECT session_id FROM chats WHERE id = ?", [chat])[0]

    def both():
        return (store.one("SELECT resolved_at, resolved_by FROM sessions WHERE id = ?", [sid]),
                store.one("SELECT resolved_at, resolved_by, user_initiated FROM session_facts WHERE session_id = ?",
                          [sid]))

    session, kept = both()
    assert session == (None, None) and kept == (None, None, True)
    actions.resolve(store, chat, team["sari"])
    session, kept = both()
    assert session[1] == team["sari"] and kept[:2] == session
    today = datetime.now(JKT).date()
    assert reports.build(store, ReportFilter(today, today), JKT).totals()["Resolved sessions"] == 1
    actions.assign(store, chat, team["budi"], team["sari"])  # reopens the session
    session, kept = both()
    assert session == (None, None) and kept[:2] == (None, None)
    assert reports.build(store, ReportFilter(today, today), JKT).totals()["Resolved sessions"] == 0



def test_the_migration_gives_each_session_its_start_kind_and_resolution(backend, tmp_path, monkeypatch):
    """A database made before the facts kept them (migration 016): its
    sessions' start kind and resolution are copied in, and Reports count them."""
    import pg_cluster
    from test_channels_alike import _database

    from maxchat_data import open_store

    if backend == "postgresql" and not pg_cluster.available():
        pytest.skip("PostgreSQL 15 is not installed")
    start = datetime(2025, 3, 10, 9, 0, tzinfo=JKT)

    def older_rows(w):
        w.execute("INSERT INTO contacts (id, name, created_at) VALUES (1, 'c', ?)", [start])
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " created_at) VALUES (1, 1, 'telegram', 'u1', 'c', 'c', 'Resolved', ?)", [start])
        for sid, by, resolved, resolver in ((1, "User initiate", start + timedelta(hours=1), 7),
                                            (2, "Business initiate", None, None)):
            w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at, resolved_at, resolved_by)"
                      " VALUES (?, 1, ?, ?, ?, ?)", [sid, by, start + timedelta(minutes=sid), resolved, resolver])
            w.execute("INSERT INTO session_facts (session_id, chat_id, channel, started_at) VALUES (?, 1, 'telegram', ?)",
                      [sid, start + timedelta(minutes=sid)])
        w.execute("UPDATE facts_state SET sessions_through = 2")

    where, drop = _database(backend, tmp_path, monkeypatch, 16, older_rows)
    try:
        s = open_store(where, tmp_path / "media")  # migration 016 runs now
        try:
            assert s.all("SELECT session_id, user_initiated, resolved_at, resolved_by FROM session_facts"
                         " ORDER BY session_id") == [(1, True, start + timedelta(hours=1), 7), (2, False, None, None)]
            t = reports.build(s, ReportFilter(date(2025, 3, 10), date(2025, 3, 10)), JKT).totals()
            assert (t["User initiate"], t["Business initiate"], t["Resolved sessions"]) == (1, 1, 1)
        finally:
            s.close()
    finally:
        drop()


def test_a_rerun_reads_nothing_until_the_next_commit(store, team, monkeypatch):
    """The page's figures are kept per commit count: a rerun with no commit
    since runs no query, and the first run after a commit shows it."""
    from conftest import customer_writes
    customer_writes(store, "6281", "Halo")
    today = datetime.now(JKT).date()
    f = ReportFilter(today - timedelta(days=6), today)
    queries = []
    real = reports.Report._run
    monkeypatch.setattr(reports.Report, "_run", lambda self, cur, sql: queries.append(sql) or real(self, cur, sql))
    first = reports.build(store, f, JKT).totals()
    assert first["Customer messages"] == 1 and queries
    queries.clear()
    assert reports.build(store, f, JKT).totals() == first and reports.build(store, f, JKT).by_label() is not None
    assert queries == []
    customer_writes(store, "6282", "Permisi", name="Dewi")  # a commit: a new session
    again = reports.build(store, f, JKT).totals()
    assert queries and again["Sessions"] == first["Sessions"] + 1 and again["Customer messages"] == 2
    other = ReportFilter(today, today)  # another range is figured apart
    assert reports.build(store, other, JKT).totals()["Sessions"] == 2
