"""The Monitor (SPEC D1) on a real store: queues, loads, closing windows,
today against the same weekday last week."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import customer_writes
from maxchat_data import actions, monitor, system, team as roster
from maxchat_data.store import utcnow

pytestmark = pytest.mark.both_backends
JKT = ZoneInfo("Asia/Jakarta")


def test_queues_loads_and_the_longest_waiting_customer(store, team):
    system.create_account(store, "lina", "Lina", "lina-pass-1", "analyst")
    now = utcnow()
    old = customer_writes(store, "6281", "first", name="Old Customer", sent_at=now - timedelta(minutes=50)).chat_id
    customer_writes(store, "6282", "second", name="New Customer", sent_at=now - timedelta(minutes=5))
    tg = customer_writes(store, "77", "hi", channel="telegram", name="Tele").chat_id
    actions.assign(store, tg, team["budi"], team["admin"])
    done = customer_writes(store, "6284", "bye", name="Done").chat_id
    actions.resolve(store, done, team["sari"])
    snap = monitor.snapshot(store, JKT)
    assert snap.by_status == {"Open": 2, "Answered": 1}
    assert snap.by_channel == {"whatsapp": 2, "messenger": 0, "telegram": 1}
    assert snap.unassigned == 2
    assert snap.longest_wait["chat_id"] == old and snap.longest_wait["contact_name"] == "Old Customer"
    assert [w["contact_name"] for w in snap.waiting] == ["Old Customer", "New Customer"]
    loads = {a["agent"]: a["open_chats"] for a in snap.by_agent}
    assert loads == {"Admin": 0, "Budi Santoso": 1, "Sari Wulandari": 0}  # no analyst: they hold no chats
    assert {a["agent"]: a["availability"] for a in snap.by_agent} == {
        "Admin": "Offline", "Budi Santoso": "Offline", "Sari Wulandari": "Offline"}
    assert snap.today == 4 and snap.last_week_same_time == 0


def test_each_agents_availability_as_it_counts_now(store, team):
    roster.heartbeat(store, team["budi"], "budi-tab")  # Budi's browser polls and he chose Online
    roster.set_availability(store, team["budi"], "Online")
    roster.set_availability(store, team["sari"], "Away")  # Sari chose Away, but no browser of hers is open
    found = {a["agent"]: a["availability"] for a in monitor.snapshot(store, JKT).by_agent}
    assert found == {"Admin": "Offline", "Budi Santoso": "Online", "Sari Wulandari": "Offline"}


def test_windows_closing_within_the_hour_soonest_first(store, team):
    now = utcnow()
    a = customer_writes(store, "6281", "a", name="A", sent_at=now - timedelta(hours=23, minutes=50)).chat_id
    b = customer_writes(store, "6282", "b", name="B", sent_at=now - timedelta(hours=23, minutes=10)).chat_id
    customer_writes(store, "6283", "c", name="C", sent_at=now - timedelta(hours=20))            # closes later
    customer_writes(store, "6284", "d", name="D", sent_at=now - timedelta(hours=25))            # already closed
    customer_writes(store, "99", "t", channel="telegram", name="T", sent_at=now - timedelta(hours=23, minutes=30))
    answered = customer_writes(store, "6285", "e", name="E", sent_at=now - timedelta(hours=23, minutes=40)).chat_id
    actions.reply(store, answered, team["budi"], "done")  # answered: not listed
    closing = monitor.snapshot(store, JKT).closing
    assert [c["chat_id"] for c in closing] == [a, b]
    assert closing[0]["closes_at"] == closing[0]["last_inbound_at"] + timedelta(hours=24)


def test_today_against_the_same_weekday_last_week(store, team):
    now = datetime(2025, 3, 12, 6, 0, tzinfo=ZoneInfo("UTC"))  # 13:00 in Jakarta, a Wednesday

    def session(at):
        store.write(lambda w: w.execute("INSERT INTO sessions VALUES (?, 1, 'User initiate', ?, NULL, NULL)",
                                        [w.ids.next("sessions"), at]))
    for h in (1, 2):                     # today 01:00 and 02:00 Jakarta
        session(datetime(2025, 3, 12, h, tzinfo=JKT))
    session(datetime(2025, 3, 11, 23, tzinfo=JKT))   # yesterday: not today
    session(datetime(2025, 3, 5, 8, tzinfo=JKT))     # last Wednesday, before 13:00
    session(datetime(2025, 3, 5, 20, tzinfo=JKT))    # last Wednesday, after 13:00
    snap = monitor.snapshot(store, JKT, now=now)
    assert (snap.today, snap.last_week_same_time, snap.last_week_whole_day) == (2, 1, 2)


def test_the_queue_and_a_closing_window_read_from_the_tables(store, team):
    # Every query of the snapshot on both engines, over chats and sessions written directly.
    now = utcnow()

    def write(w):
        for i, (channel, status, inbound) in enumerate([("whatsapp", "Open", now - timedelta(hours=23, minutes=30)),
                                                       ("telegram", "Resolved", now - timedelta(hours=1))], 1):
            w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                      " last_direction, last_inbound_at, session_id, created_at)"
                      " VALUES (?, ?, ?, ?, 'C', 'c', ?, 'in', ?, ?, ?)", [i, i, channel, f"u{i}", status, inbound, i, now])
            w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at) VALUES (?, ?, 'User initiate', ?)",
                      [i, i, inbound])
    store.write(write)
    snap = monitor.snapshot(store, JKT, now=now)
    assert snap.by_status == {"Open": 1, "Answered": 0} and snap.unassigned == 1
    assert [w["chat_id"] for w in snap.waiting] == [1] and snap.waiting[0]["waiting_since"] == now - timedelta(hours=23, minutes=30)
    assert [c["chat_id"] for c in snap.closing] == [1] and snap.closing[0]["assignee"] == "BOT"
    assert snap.closing[0]["closes_at"] == now + timedelta(minutes=30)
