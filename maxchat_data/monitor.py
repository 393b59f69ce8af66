"""The live queue monitor (SPEC D1): what supervisors watch now. Reads the
``chats`` table (which carries status, assignee and the last inbound time)
and, for the today-vs-last-week line, the sessions of two days."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from . import team
from .common import CHANNELS
from .i18n import _
from .store import Store, utcnow
from .window import WINDOW

QUEUE = "NOT archived AND NOT blocked AND status <> 'Resolved'"


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
    spans = {span for span in WINDOW.values() if span is not None}
    assert len(spans) == 1, "one window length for every windowed channel"
    span = spans.pop()
    windowed = [c for c, v in WINDOW.items() if v is not None]
    cur = store.cursor()
    try:
        counts = cur.execute(
            f"SELECT status, channel, assignee_id, count(*) FROM chats WHERE {QUEUE} GROUP BY status, channel, assignee_id").fetchall()
        # A customer waits in the queue from the session's first message when no
        # agent has answered it yet, else from their last message.
        waiting = cur.execute(
            "SELECT c.id AS chat_id, c.contact_name, c.channel,"
            " CASE WHEN s.first_response_at IS NULL THEN least(s.started_at, c.last_inbound_at)"
            " ELSE c.last_inbound_at END AS waiting_since"
            f" FROM chats c LEFT JOIN sessions s ON s.id = c.session_id WHERE {QUEUE} AND c.status = 'Open'"
            " AND c.assignee_id IS NULL AND c.last_direction = 'in' ORDER BY waiting_since NULLS LAST, c.id LIMIT ?",
            [top]).fetchall()
        closing = cur.execute(
            "SELECT id AS chat_id, contact_name, channel, assignee_id, last_inbound_at,"
            " last_inbound_at + ? AS closes_at FROM chats"
            f" WHERE {QUEUE} AND last_direction = 'in' AND channel = ANY(?::VARCHAR[])"
            " AND last_inbound_at > ? AND last_inbound_at <= ? ORDER BY last_inbound_at, id LIMIT 100",
            [span, windowed, now - span, now - span + timedelta(hours=1)]).fetchall()
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
