"""The live queue monitor (SPEC D1): what supervisors watch now. Reads the
``chats`` table (which carries status, assignee and the last inbound time),
the facts for how long customers wait (``team.WAITING_SINCE``) and, for the
today-vs-last-week line, the sessions of two days."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import facts, team
from .common import CHANNELS
from .i18n import _
from .store import Store, utcnow
from .window import WINDOW

QUEUE = "NOT archived AND NOT blocked AND status <> 'Resolved'"
CLOSING_WITHIN = timedelta(hours=1)  # reply windows closing this soon are listed


@dataclass
class Snapshot:
    at: datetime
    by_status: dict[str, int]           # open chats now: Open (BOT) and Answered
    by_channel: dict[str, int]
    by_agent: list[dict]                # every active agent who acts: availability, open load
    unassigned: int
    longest_wait: dict | None           # {chat_id, contact_name, channel, waiting_since}
    waiting: list[dict]                 # the unassigned queue, longest waiting first (top N)
    closing: list[dict]                 # windows closing within the hour, customer unanswered, soonest first
    today: int                          # sessions started today so far (team time)
    last_week_same_time: int            # same weekday last week, up to the same clock time
    last_week_whole_day: int


def snapshot(store: Store, tz: ZoneInfo, now: datetime | None = None, top: int = 10) -> Snapshot:
    now = now or utcnow()
    local_midnight = datetime.combine(now.astimezone(tz).date(), time(0), tz)
    week = timedelta(days=7)
    # Each channel's own window: closing within the hour means a last inbound
    # message between (window + 1 h) and the window ago, on that channel.
    spans = {c: span for c, span in WINDOW.items() if span is not None}
    closes_at = "CASE channel" + " WHEN ? THEN last_inbound_at + ?" * len(spans) + " END"
    closing_on = " OR ".join(["channel = ? AND last_inbound_at > ? AND last_inbound_at <= ?"] * len(spans))
    closing_args = [x for c, span in spans.items() for x in (c, span)] + [
        x for c, span in spans.items() for x in (c, now - span, now - span + CLOSING_WITHIN)]
    facts.catch_up(store)  # every message committed counts in the waits
    join, since = team.WAITING_SINCE
    cur = store.cursor()
    try:
        counts = cur.execute(
            f"SELECT status, channel, assignee_id, count(*) FROM chats WHERE {QUEUE} GROUP BY status, channel, assignee_id").fetchall()
        waiting = cur.execute(
            f"SELECT c.id AS chat_id, c.contact_name, c.channel, {since} AS waiting_since"
            f" FROM chats c {join} WHERE {QUEUE} AND c.status = 'Open'"
            f" AND c.assignee_id IS NULL AND c.last_direction = 'in' ORDER BY {since} NULLS LAST, c.id LIMIT ?",
            [top]).fetchall()
        closing = cur.execute(
            f"SELECT id AS chat_id, contact_name, channel, assignee_id, last_inbound_at, {closes_at} AS closes_at"
            f" FROM chats WHERE {QUEUE} AND last_direction = 'in' AND ({closing_on})"
            " ORDER BY closes_at, id LIMIT 100", closing_args).fetchall() if spans else []
        today, same_time, whole_day = cur.execute(
            "SELECT count(*) FILTER (WHERE started_at >= $t0), count(*) FILTER (WHERE started_at >= $w0 AND"
            " started_at < $wnow), count(*) FILTER (WHERE started_at >= $w0 AND started_at < $w1) FROM sessions"
            " WHERE started_at >= $w0 AND started_at < $now OR started_at >= $t0",
            {"t0": local_midnight, "w0": local_midnight - week, "wnow": now - week,
             "w1": local_midnight - week + timedelta(days=1), "now": now}).fetchone()
        agents = cur.execute("SELECT id, display_name, role FROM agents WHERE active ORDER BY display_name").fetchall()
    finally:
        cur.close()
    by_status = {"Open": 0, "Answered": 0}
    by_channel = {c: 0 for c in CHANNELS}
    load: dict[int, int] = {}
    for status, channel, assignee, n in counts:
        by_status[status] += n
        by_channel[channel] += n
        if assignee is not None:
            load[assignee] = load.get(assignee, 0) + n
    names = {i: n for i, n, _ in agents}
    now_state = team.availability(store)  # as it counts now: chosen, and a browser of theirs polling (W1)
    by_agent = [{"agent_id": i, "agent": n, "availability": now_state.get(i, "Offline"), "open_chats": load.get(i, 0)}
                for i, n, role in agents if role != "analyst"]
    by_agent += [{"agent_id": i, "agent": _("agent {id} (deactivated)").format(id=i), "availability": "Offline", "open_chats": n}
                 for i, n in load.items() if i not in names]
    waiting_rows = [dict(zip(("chat_id", "contact_name", "channel", "waiting_since"), r)) for r in waiting]
    closing_rows = [dict(zip(("chat_id", "contact_name", "channel", "assignee_id", "last_inbound_at", "closes_at"), r))
                    for r in closing]
    for row in closing_rows:
        row["assignee"] = names.get(row["assignee_id"], "BOT") if row["assignee_id"] else "BOT"
    return Snapshot(now, by_status, by_channel, by_agent, by_status["Open"],
                    waiting_rows[0] if waiting_rows else None, waiting_rows, closing_rows,
                    today, same_time, whole_day)
