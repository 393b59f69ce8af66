"""The per-session facts the reports read (facts.py, migration 007): kept by
the writer as messages come in, equal to a plain reading of the definitions
however the messages are split between folds, and read per day in the team
timezone across a daylight-saving change."""
from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import pg_cluster
from conftest import customer_writes, wait_until
from maxchat_data import actions, facts, i18n, reports
from maxchat_data.reports import ReportFilter
from maxchat_data.pg_store import PgStore
from maxchat_data.store import utcnow
from test_reports import JKT, MON, WED, history  # F401 (the hand-worked history)

pytestmark = pytest.mark.both_backends
UTC = timezone.utc
TABLES = {"session_facts": "SELECT session_id, first_customer_at, customer_messages, agent_messages, first_response_at,"
                           " first_response_agent_id, waiting_since FROM session_facts ORDER BY session_id",
          "session_replies": "SELECT * FROM session_replies ORDER BY session_id, agent_id",
          "waits": "SELECT session_id, reply_id, waiting_since, reply_at FROM waits ORDER BY session_id, reply_id"}


def snapshot(store) -> dict:
    return {name: store.all(sql) for name, sql in TABLES.items()}


def test_the_writer_folds_new_messages_by_itself(store, team, monkeypatch):
    monkeypatch.setattr(facts, "FOLD_EVERY_S", 0)  # after every commit, so the version count below is exact
    facts.keep(store)
    chat = customer_writes(store, "6281", "Halo").chat_id
    version = store.version
    actions.reply(store, chat, team["budi"], "Siap kak")
    # No report asked: the writer folds by itself.
    assert wait_until(lambda: store.one("SELECT agent_messages FROM session_facts") == (1,), timeout=5)
    (customer_at,) = store.one("SELECT sent_at FROM messages WHERE direction = 'in'")
    (reply_at,) = store.one("SELECT sent_at FROM messages WHERE direction = 'out'")
    assert store.one("SELECT first_customer_at, customer_messages, first_response_at, first_response_agent_id,"
                     " waiting_since FROM session_facts") == (customer_at, 1, reply_at, team["budi"], None)
    assert store.all("SELECT waiting_since, reply_at FROM waits") == [(customer_at, reply_at)]
    # The fold is upkeep: only the reply moved the version pollers watch.
    assert store.version == version + 1


def reference(sessions: list[int], rows: list[tuple]) -> dict:
    """The definitions read plainly, message by message in time order (a
    customer message before a reply sent at the same instant): what the facts
    must say."""
    out = {"session_facts": [], "session_replies": [], "waits": []}
    by_session: dict[int, list] = {sid: [] for sid in sessions}
    for row in sorted(rows, key=lambda r: (r[5], r[2] == "out" and r[3] is not None and r[4] != "template", r[0])):
        by_session[row[1]].append(row)
    for sid, msgs in sorted(by_session.items()):
        customer = [m for m in msgs if m[2] == "in"]
        replies = [m for m in msgs if m[2] == "out" and m[3] is not None and m[4] != "template"]
        pending = None
        for mid, _, direction, agent, kind, sent_at in msgs:
            if direction == "in":
                pending = sent_at if pending is None else min(pending, sent_at)
            elif direction == "out" and agent is not None and kind != "template" and pending is not None:
                out["waits"].append((sid, mid, pending, sent_at))
                pending = None
        first = min(replies, key=lambda m: (m[5], m[0])) if replies else None
        out["session_facts"].append((sid, min((m[5] for m in customer), default=None), len(customer), len(replies),
                                     first[5] if first else None, first[3] if first else None, pending))
        per_agent: dict[int, int] = {}
        for m in replies:
            per_agent[m[3]] = per_agent.get(m[3], 0) + 1
        out["session_replies"] += [(sid, a, n) for a, n in per_agent.items()]
    return {k: sorted(v, key=lambda r: tuple((x is None, x) for x in r)) for k, v in out.items()}


def test_folding_in_any_steps_gives_the_definitions(store, team):
    rnd = random.Random(7)
    start = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    agents = [team["budi"], team["sari"]]
    rows, sessions = [], []

    def write_chunk(w, new_session, chunk):
        if new_session == 1:
            w.execute("INSERT INTO contacts (id, name, created_at) VALUES (1, 'A', ?)", [start])
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                      " created_at) VALUES (1, 1, 'telegram', 'u1', 'A', 'a', 'Open', ?)", [start])
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at) VALUES (?, 1, 'User initiate', ?)",
                  [new_session, start])
        for mid, sid, direction, agent, kind, sent_at in chunk:
            w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
                      " status, sent_at, created_at) VALUES (?, 1, ?, 'telegram', ?, ?, ?, 'x', 'sent', ?, ?)",
                      [mid, sid, direction, agent, kind, sent_at, sent_at])

    mid = 100
    for step in range(12):
        sessions.append(step + 1)  # one more session each step, with or without messages
        chunk = []
        for _ in range(rnd.randint(0, 25)):
            mid += 1
            sid = rnd.randint(max(1, step - 3), step + 1)
            direction, agent, kind = rnd.choice([
                ("in", None, "text"), ("in", None, "image"), ("out", rnd.choice(agents), "text"),
                ("out", None, "text"),  # BOT
                ("out", rnd.choice(agents), "template"), ("activity", rnd.choice(agents), "activity")])
            # Mostly later and later, sometimes a provider time from before what is already stored.
            sent_at = start + timedelta(minutes=mid - rnd.choice([0, 0, 0, 30]), seconds=rnd.randint(0, 59))
            chunk.append((mid, sid, direction, agent, kind, sent_at))
        rows += chunk
        store.write(write_chunk, step + 1, chunk)
        if step % 3 != 2:  # sometimes two chunks in one fold
            store.write(facts.fold)
    store.write(facts.fold)
    folded = snapshot(store)
    assert folded == reference(sessions, rows)
    assert len(folded["session_facts"]) == 12

    # From scratch in one pass (what the migration's backfill does): the same.
    def forget(w):
        for table in (*TABLES, "facts_pending"):
            w.execute(f"DELETE FROM {table}")
        w.execute("UPDATE facts_state SET sessions_through = -1, folded_through = -1")
    store.write(forget)
    store.write(facts.fold)
    assert snapshot(store) == folded


def test_a_customer_message_stamped_before_a_reply_is_answered_by_it(store, team):
    # The customer's phone stamped 'Tolong' 30 s before the agent's first reply;
    # it reached us after that reply was folded. In time order the reply answers
    # it: one wait, from the first message, and the next reply answers nothing.
    chat = customer_writes(store, "6281", "Halo", sent_at=utcnow() - timedelta(minutes=10)).chat_id
    actions.reply(store, chat, team["budi"], "Halo kak")
    store.write(facts.fold)
    (first_at,) = store.one("SELECT sent_at FROM messages WHERE direction = 'in'")
    (first_reply,) = store.one("SELECT sent_at FROM messages WHERE direction = 'out'")
    customer_writes(store, "6281", "Tolong", sent_at=first_reply - timedelta(seconds=30))
    store.write(facts.fold)  # folded late: the session is folded again from its messages
    assert store.one("SELECT customer_messages, waiting_since FROM session_facts") == (2, None)
    actions.reply(store, chat, team["budi"], "Baik")
    store.write(facts.fold)
    assert store.all("SELECT waiting_since, reply_at FROM waits") == [(first_at, first_reply)]
    assert store.one("SELECT agent_messages FROM session_facts") == (2,)


def test_days_and_hours_follow_daylight_saving_time(store, team):
    berlin = ZoneInfo("Europe/Berlin")
    # Summer time starts Sunday 30 March 2025 at 02:00 local (01:00 UTC).
    starts = [datetime(2025, 3, 29, 22, 30, tzinfo=UTC),   # Sat 23:30 CET
              datetime(2025, 3, 29, 23, 30, tzinfo=UTC),   # Sun 00:30 CET
              datetime(2025, 3, 30, 0, 59, tzinfo=UTC),    # Sun 01:59 CET
              datetime(2025, 3, 30, 1, 0, tzinfo=UTC),     # Sun 03:00 CEST
              datetime(2025, 3, 30, 21, 59, tzinfo=UTC),   # Sun 23:59 CEST
              datetime(2025, 3, 30, 22, 0, tzinfo=UTC)]    # Mon 00:00 CEST

    def write(w):
        w.execute("INSERT INTO contacts (id, name, created_at) VALUES (1, 'A', ?)", [starts[0]])
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " created_at) VALUES (1, 1, 'telegram', 'u1', 'A', 'a', 'Open', ?)", [starts[0]])
        for i, t in enumerate(starts, 1):
            w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at) VALUES (?, 1, 'User initiate', ?)",
                      [i, t])
    store.write(write)
    r = reports.build(store, ReportFilter(date(2025, 3, 29), date(2025, 3, 31)), berlin)
    expected_days: dict[date, int] = {}
    expected_hours: dict[tuple[str, int], int] = {}
    for t in starts:
        local = t.astimezone(berlin)
        expected_days[local.date()] = expected_days.get(local.date(), 0) + 1
        key = (i18n.weekday(local.weekday()), local.hour)  # the heatmap names weekdays so
        expected_hours[key] = expected_hours.get(key, 0) + 1
    assert r.by_day()["Sessions"].to_dict() == expected_days == {
        date(2025, 3, 29): 1, date(2025, 3, 30): 4, date(2025, 3, 31): 1}
    heat = r.heatmap().set_index(["Weekday", "Hour"])["Sessions"]
    assert {k: v for k, v in heat.items() if v} == expected_hours
    # The last day ends at local midnight, in summer time: 22:00 UTC.
    assert list(reports.build(store, ReportFilter(date(2025, 3, 30), date(2025, 3, 30)), berlin)
                .facts["session_id"]) == [2, 3, 4, 5]


def test_filters_narrow_the_waits_to_their_sessions(store, history):
    # The hand-worked history of test_reports: waits s1 300 and 1200, s2 600, s3 1800, s5 32400.
    def waits(**narrow):
        m = reports.build(store, ReportFilter(MON, WED, **narrow), JKT).metrics().loc["Customer waiting time"]
        return m["Median (s)"], m["Count"]
    assert waits() == (1200.0, 5)
    assert waits(channels=("whatsapp",)) == ((600 + 1200) / 2, 4)     # s1, s2, s5
    assert waits(label_ids=(history["vip"],)) == (600.0, 3)           # s1, s2
    assert waits(agent_ids=(history["sari"],)) == (None, 0)           # Sari sent no first reply
    assert waits(agent_ids=(history["budi"],)) == (1200.0, 5)
    by_day = reports.build(store, ReportFilter(MON, WED, channels=("whatsapp",)), JKT).metrics_by_day()
    assert by_day["Waits"].to_dict() == {MON: 2, date(2025, 3, 11): 1, WED: 1}


def test_the_listed_sessions_are_the_first_rows_of_the_download(store, history, monkeypatch):
    monkeypatch.setattr(reports, "SHOWN", 2)
    r = reports.build(store, ReportFilter(MON, WED), JKT)
    listed, everything = r.sessions(first=True), r.sessions()
    assert list(everything["session_id"]) == [11, 13, 14, 15, 12]
    pd.testing.assert_frame_equal(listed, everything.head(2))


def test_business_hours_across_a_daylight_saving_weekend(store, team):
    berlin = ZoneInfo("Europe/Berlin")
    reports.set_business_hours(store, {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                              team["admin"])
    # Fri 28 March 2025 16:00 CET -> Mon 31 March 10:00 CEST (summer time began on Sunday):
    # one business hour on Friday, one on Monday.
    asked = datetime(2025, 3, 28, 16, 0, tzinfo=berlin)
    answered = datetime(2025, 3, 31, 10, 0, tzinfo=berlin)

    def write(w):
        w.execute("INSERT INTO contacts (id, name, created_at) VALUES (1, 'A', ?)", [asked])
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " created_at) VALUES (1, 1, 'telegram', 'u1', 'A', 'a', 'Open', ?)", [asked])
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at) VALUES (1, 1, 'User initiate', ?)",
                  [asked])
        for mid, direction, agent, when in ((1, "in", None, asked), (2, "out", team["budi"], answered)):
            w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
                      " status, sent_at, created_at) VALUES (?, 1, 1, 'telegram', ?, ?, 'text', 'x', 'sent', ?, ?)",
                      [mid, direction, agent, when, when])
    store.write(write)
    r = reports.build(store, ReportFilter(date(2025, 3, 28), date(2025, 3, 28)), berlin)
    assert r.facts["first_response_bh_s"].tolist() == [7200.0]
    assert r.waits["waiting_bh_s"].tolist() == [7200.0]
    assert r.facts["first_response_s"].tolist() == [65 * 3600.0]  # 66 h on the clock, one of them skipped


# ---- several replicas on one PostgreSQL database --------------------------------------------
def _replicas(tmp_path, n=2):
    url = pg_cluster.fresh_database()
    return url, [PgStore(url, tmp_path / f"media{i}") for i in range(n)]


def _close(url, stores):
    for s in stores:
        s.close()
    pg_cluster.drop_database(url)


def _chat(w):
    start = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    w.execute("INSERT INTO contacts (id, name, created_at) VALUES (1, 'A', ?)", [start])
    w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
              " created_at) VALUES (1, 1, 'telegram', 'u1', 'A', 'a', 'Open', ?)", [start])


def _session(w, started_at):
    sid = w.ids.next("sessions")
    w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at) VALUES (?, 1, 'User initiate', ?)",
              [sid, started_at])
    return sid


def _message(w, sid, direction, agent, kind, sent_at):
    mid = w.ids.next("messages")
    w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
              " status, sent_at, created_at) VALUES (?, 1, ?, 'telegram', ?, ?, ?, 'x', 'sent', ?, ?)",
              [mid, sid, direction, agent, kind, sent_at, sent_at])
    return mid


def _everything(store) -> dict:
    sessions = [sid for (sid,) in store.all("SELECT id FROM sessions ORDER BY id")]
    rows = store.all("SELECT id, session_id, direction, sender_agent_id, kind, sent_at FROM messages")
    return reference(sessions, rows)


needs_pg = pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL 15 is not installed")


@needs_pg
def test_a_message_committed_after_a_fold_passed_its_id_is_folded_later(tmp_path):
    # Replica A takes message id n and holds its transaction open; replica B
    # writes id n+1 and folds past n. A then commits: the next fold takes it.
    url, (a, b) = _replicas(tmp_path)
    try:
        t0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
        a.write(_chat)
        sid = a.write(_session, t0)
        written, release = threading.Event(), threading.Event()

        def slow(w):
            mid = _message(w, sid, "in", None, "text", t0 + timedelta(minutes=1))
            written.set()
            release.wait(10)
            return mid

        late = a.submit(slow)
        assert written.wait(10)
        reply = b.write(_message, sid, "out", 7, "text", t0 + timedelta(minutes=5))
        b.write(facts.fold)
        assert b.one("SELECT folded_through FROM facts_state") == (reply,)
        assert b.one("SELECT customer_messages, agent_messages FROM session_facts") == (0, 1)
        release.set()
        assert late.result(10) < reply
        facts.catch_up(b)  # a report's catch-up: every committed message
        assert snapshot(b) == _everything(b)
        assert b.one("SELECT customer_messages, agent_messages FROM session_facts") == (1, 1)
        assert b.all("SELECT * FROM facts_pending") == []
    finally:
        release.set()
        _close(url, [a, b])


@needs_pg
def test_two_replicas_writing_and_folding_at_once_equal_a_fold_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setattr(facts, "FOLD_EVERY_S", 0)  # each writer folds after every commit: folds overlap
    url, stores = _replicas(tmp_path)
    try:
        for s in stores:
            facts.keep(s)
        t0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
        stores[0].write(_chat)
        first = stores[0].write(_session, t0)
        errors = []

        def replica(store, seed):
            rnd = random.Random(seed)
            sessions = [first]
            try:
                for step in range(40):
                    if rnd.random() < 0.2:
                        sessions.append(store.write(_session, t0 + timedelta(minutes=step)))
                    futures = [store.submit(_message, rnd.choice(sessions), *rnd.choice([
                        ("in", None, "text"), ("in", None, "text"), ("out", rnd.choice([7, 8]), "text"),
                        ("out", None, "text"), ("out", 7, "template")]),
                        t0 + timedelta(minutes=step - rnd.choice([0, 0, 0, 20]), seconds=rnd.randint(0, 59)))
                        for _ in range(rnd.randint(1, 6))]
                    for f in futures:
                        f.result(30)
                    if rnd.random() < 0.3:
                        store.write(facts.fold)
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=replica, args=(s, i)) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        facts.catch_up(stores[1])
        folded = snapshot(stores[1])
        assert folded == _everything(stores[1])
        assert stores[0].one("SELECT count(*) FROM messages")[0] > 100

        def forget(w):
            for table in (*TABLES, "facts_pending"):
                w.execute(f"DELETE FROM {table}")
            w.execute("UPDATE facts_state SET sessions_through = -1, folded_through = -1")
        stores[0].write(forget)
        stores[0].write(facts.fold)
        assert snapshot(stores[0]) == folded
    finally:
        _close(url, stores)
