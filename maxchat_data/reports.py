"""Reports for supervisors and analysts (SPEC D2, D3): every figure computed
live from the whole history, in the team's timezone.

How the numbers are made, once, for the page, the exports and the tests:
- The date range (and the channel and label filters) select *sessions* by
  their start, in the team's timezone (MAXCHAT_TIMEZONE). Everything on the
  page is about those sessions; a session counts on the day it started.
- Three per-row tables come out of the database in one read: one row per
  session (``facts``), one row per (session, agent) with that agent's
  replies (``replies``) and one row per customer wait (``waits``). Every
  series, total, median and export is derived from these frames in Python,
  so a total is the sum of its own series by construction.
- An *agent reply* is a message sent by a human agent: outbound, with an
  agent as sender, not a template. BOT messages (no sender), templates
  (automatic) and activity lines never count.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from . import settings
from .common import CHANNEL_LABELS, CHANNELS
from .errors import NotAllowed, ValidationError
from .roles import can
from .store import Store

HUMAN_REPLY = "m.direction = 'out' AND m.sender_agent_id IS NOT NULL AND m.kind <> 'template'"
# Provider times of inbound messages may be a little earlier than the session
# row's start (server time): read messages from this much before the range.
SLACK = timedelta(days=2)
BUSINESS_HOURS = "business_hours"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DEFINITIONS = {
    "First response time": "For each user-initiated session: the first reply sent by a human agent minus the "
                           "session's first customer message. BOT messages, templates and activity lines never "
                           "count. A chat reopened after Resolved is a new session, timed from its own first "
                           "message. Sessions without an agent reply have none.",
    "Customer waiting time": "For each agent reply that answers customer messages: the reply minus the oldest "
                             "customer message of the session still unanswered before it (a burst of customer "
                             "messages waits from its first one).",
    "Resolution time": "For each resolved session: resolved minus the session's start.",
    "Percentiles": "Median and p90 are the 50th and 90th percentiles, interpolated linearly between the two "
                   "nearest values; count is how many values they are taken over. The average is shown beside "
                   "them, never alone.",
    "Business hours": "With business hours set, first response and waiting time are also counted in business "
                      "hours only: the part of the wait that falls inside the weekly schedule, in the team "
                      "timezone.",
    "Scope": "The range selects sessions by their start, in the team timezone; every figure is about those "
             "sessions, and a session and its messages count on the day it started. The agent filter keeps the "
             "sessions whose first reply the chosen agents sent. Labels are the contact's labels now; a session "
             "with two labels counts under both in the label table (which therefore has no total).",
}


@dataclass(frozen=True)
class ReportFilter:
    start: date
    end: date                       # inclusive
    channels: tuple[str, ...] = ()
    label_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()

    def check(self) -> None:
        if self.end < self.start:
            raise ValidationError("The range ends before it starts.")
        if (self.end - self.start).days > 3700:
            raise ValidationError("Choose a range of at most ten years.")
        if set(self.channels) - set(CHANNELS):
            raise ValidationError(f"Unknown channel in {self.channels}.")

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The range as UTC instants: local midnight of the first day to
        local midnight after the last."""
        lo = datetime.combine(self.start, time(0), tz)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tz)
        return lo.astimezone(ZoneInfo("UTC")), hi.astimezone(ZoneInfo("UTC"))


# ---- business hours -------------------------------------------------------------------------
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _minutes(hhmm: str) -> int:
    if not isinstance(hhmm, str) or not _HHMM.match(hhmm):
        raise ValidationError(f"{hhmm!r} is not a time like 09:00.")
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def check_schedule(schedule: dict) -> dict:
    """A weekly schedule {"mon": [["09:00", "17:00"], ...], ...} in the team
    timezone: known days, HH:MM times, each interval start < end, no overlaps."""
    if not isinstance(schedule, dict) or set(schedule) - set(WEEKDAYS):
        raise ValidationError(f"Business hours are given per weekday: {', '.join(WEEKDAYS)}.")
    clean = {}
    for day in WEEKDAYS:
        spans = sorted((_minutes(a), _minutes(b)) for a, b in schedule.get(day) or [])
        for (a, b), nxt in zip(spans, spans[1:] + [None]):
            if a >= b:
                raise ValidationError(f"{day}: an interval must end after it starts.")
            if nxt and nxt[0] < b:
                raise ValidationError(f"{day}: intervals overlap.")
        clean[day] = [[f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"] for a, b in spans]
    if not any(clean.values()):
        raise ValidationError("Business hours need at least one interval; turn them off instead.")
    return clean


def business_hours(store: Store) -> dict | None:
    raw = settings.get(store, BUSINESS_HOURS)
    return json.loads(raw) if raw else None


def set_business_hours(store: Store, schedule: dict | None, actor_role: str) -> None:
    """Set (or with None turn off) the team's business hours: admins only."""
    if not can(actor_role, "admin"):
        raise NotAllowed("Only an admin can set business hours.")
    settings.put(store, BUSINESS_HOURS, json.dumps(check_schedule(schedule)) if schedule is not None else "")


class BusinessClock:
    """Seconds of business time between instants, vectorised: the schedule's
    windows as UTC epoch seconds with the business seconds before each."""

    def __init__(self, schedule: dict, tz: ZoneInfo, lo: datetime, hi: datetime):
        starts, ends = [], []
        day = lo.astimezone(tz).date() - timedelta(days=1)
        last = hi.astimezone(tz).date() + timedelta(days=1)
        while day <= last:
            for a, b in schedule.get(WEEKDAYS[day.weekday()]) or []:
                for hhmm, out in ((a, starts), (b, ends)):
                    m = _minutes(hhmm)
                    out.append((datetime.combine(day, time(0), tz) + timedelta(minutes=m)).timestamp())
            day += timedelta(days=1)
        self.starts, self.ends = np.array(starts), np.array(ends)
        lengths = self.ends - self.starts
        self.before = np.concatenate([[0.0], np.cumsum(lengths)[:-1]]) if len(lengths) else np.array([])
        self.lengths = lengths

    def _clock(self, t: np.ndarray) -> np.ndarray:
        if not len(self.starts):
            return np.zeros_like(t)
        i = np.searchsorted(self.starts, t, side="right") - 1
        j = np.clip(i, 0, None)
        inside = np.clip(t - self.starts[j], 0, self.lengths[j])
        return np.where(i < 0, 0.0, self.before[j] + inside)

    def seconds(self, a: pd.Series, b: pd.Series) -> pd.Series:
        """Business seconds between each a and b (NaN where either is missing)."""
        ta = _epoch(a)
        tb = _epoch(b)
        out = self._clock(np.nan_to_num(tb)) - self._clock(np.nan_to_num(ta))
        return pd.Series(np.where(np.isnan(ta) | np.isnan(tb), np.nan, out), index=a.index)


def _epoch(s: pd.Series) -> np.ndarray:
    s = pd.to_datetime(s, utc=True)
    return np.where(s.isna(), np.nan, (s - pd.Timestamp(0, tz="UTC")).dt.total_seconds())


# ---- the data --------------------------------------------------------------------------------
def _scope_sql(f: ReportFilter) -> tuple[str, dict]:
    where = ["s.started_at >= $lo", "s.started_at < $hi"]
    params: dict = {}
    if f.channels:
        where.append("list_contains($channels, c.channel)")
        params["channels"] = list(f.channels)
    if f.label_ids:
        where.append("list_has_any(c.label_ids, $labels)")
        params["labels"] = [int(x) for x in f.label_ids]
    return (
        "SELECT s.id AS session_id, s.chat_id, c.contact_id, c.contact_name, c.channel, c.label_ids,"
        " s.initiated_by, s.started_at, s.resolved_at, s.resolved_by"
        " FROM sessions s JOIN chats c ON c.id = s.chat_id WHERE " + " AND ".join(where), params)


def load(store: Store, f: ReportFilter, tz: ZoneInfo) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(facts, replies, waits) for the filter, read on one cursor."""
    f.check()
    lo, hi = f.bounds(tz)
    scope, params = _scope_sql(f)
    params.update(lo=lo, hi=hi)
    msgs = ("SELECT m.session_id, m.id, m.sent_at, m.direction, m.sender_agent_id, m.kind FROM messages m"
            " WHERE m.sent_at >= $lo_slack AND m.session_id IN (SELECT session_id FROM scope)")
    facts_sql = (
        f"WITH scope AS ({scope}), m AS ({msgs}) "
        "SELECT scope.*, a.first_customer_at, a.first_reply_at, a.agent_id, a.customer_messages"
        " FROM scope LEFT JOIN (SELECT m.session_id,"
        " min(m.sent_at) FILTER (WHERE m.direction = 'in') AS first_customer_at,"
        f" min(m.sent_at) FILTER (WHERE {HUMAN_REPLY}) AS first_reply_at,"
        f" arg_min(m.sender_agent_id, (m.sent_at, m.id)) FILTER (WHERE {HUMAN_REPLY}) AS agent_id,"
        " count(*) FILTER (WHERE m.direction = 'in') AS customer_messages"
        " FROM m GROUP BY m.session_id) a USING (session_id)")
    replies_sql = (
        f"WITH scope AS ({scope}), m AS ({msgs}) SELECT m.session_id, m.sender_agent_id AS agent_id,"
        f" count(*) AS replies FROM m WHERE {HUMAN_REPLY} GROUP BY ALL")
    waits_sql = (
        f"WITH scope AS ({scope}), m AS ({msgs}),"
        f" r AS (SELECT m.session_id, m.id AS reply_id, m.sent_at AS reply_at FROM m WHERE {HUMAN_REPLY}),"
        " i AS (SELECT m.session_id, m.sent_at FROM m WHERE m.direction = 'in')"
        # each customer message meets the first agent reply at or after it; the
        # oldest of the messages one reply answers is where the wait began
        " SELECT i.session_id, r.reply_at, min(i.sent_at) AS waiting_since"
        " FROM i ASOF JOIN r ON i.session_id = r.session_id AND r.reply_at >= i.sent_at"
        " GROUP BY i.session_id, r.reply_id, r.reply_at")
    params["lo_slack"] = lo - SLACK
    cur = store.cursor()
    try:
        frames = []
        for sql in (facts_sql, replies_sql, waits_sql):
            frames.append(cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df())
    finally:
        cur.close()
    facts, replies, waits = frames
    if f.agent_ids:
        facts = facts[facts["agent_id"].isin(list(f.agent_ids))]
        keep = set(facts["session_id"])
        replies = replies[replies["session_id"].isin(keep)]
        waits = waits[waits["session_id"].isin(keep)]
    return facts.reset_index(drop=True), replies.reset_index(drop=True), waits.reset_index(drop=True)


def _seconds(a: pd.Series, b: pd.Series) -> pd.Series:
    return (pd.to_datetime(b, utc=True) - pd.to_datetime(a, utc=True)).dt.total_seconds()


def summary(values: pd.Series) -> dict:
    """Median, p90, average and count of the non-missing values (seconds)."""
    v = values.dropna()
    if v.empty:
        return {"median": None, "p90": None, "average": None, "count": 0}
    return {"median": float(v.quantile(0.5)), "p90": float(v.quantile(0.9)), "average": float(v.mean()),
            "count": int(v.size)}


@dataclass
class Report:
    filter: ReportFilter
    tz: ZoneInfo
    facts: pd.DataFrame       # one row per session
    replies: pd.DataFrame     # one row per (session, agent): that agent's replies
    waits: pd.DataFrame       # one row per customer wait
    agents: dict[int, str] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    schedule: dict | None = None

    def __post_init__(self):
        f, tz = self.facts, self.tz
        started = pd.to_datetime(f["started_at"], utc=True).dt.tz_convert(tz)
        f["day"] = started.dt.date
        f["hour"] = started.dt.hour
        f["weekday"] = started.dt.weekday
        f["user_initiated"] = f["initiated_by"] == "User initiate"
        f["business_initiated"] = ~f["user_initiated"]
        f["resolved"] = f["resolved_at"].notna()
        f["no_agent_reply"] = f["first_reply_at"].isna()
        f["first_response_s"] = _seconds(f["first_customer_at"], f["first_reply_at"]).where(f["user_initiated"])
        f["resolution_s"] = _seconds(f["started_at"], f["resolved_at"])
        f["customer_messages"] = f["customer_messages"].fillna(0).astype("int64")
        per_session = self.replies.groupby("session_id")["replies"].sum()
        f["agent_messages"] = f["session_id"].map(per_session).fillna(0).astype("int64")
        w = self.waits
        w["waiting_s"] = _seconds(w["waiting_since"], w["reply_at"])
        w["day"] = w["session_id"].map(dict(zip(f["session_id"], f["day"])))
        if self.schedule:
            lo, hi = self.filter.bounds(tz)
            latest = max([hi, *[pd.Timestamp(x).to_pydatetime() for x in (f["first_reply_at"].max(),
                                                                            w["reply_at"].max()) if pd.notna(x)]])
            clock = BusinessClock(self.schedule, tz, lo - SLACK, latest)
            f["first_response_bh_s"] = clock.seconds(f["first_customer_at"], f["first_reply_at"]).where(
                f["user_initiated"])
            w["waiting_bh_s"] = clock.seconds(w["waiting_since"], w["reply_at"])

    # ---- series (every total below is the sum of one of these) ----
    def days(self) -> list[date]:
        n = (self.filter.end - self.filter.start).days + 1
        return [self.filter.start + timedelta(days=i) for i in range(n)]

    def _counts(self, by: str, index) -> pd.DataFrame:
        f = self.facts
        g = f.groupby(by)
        out = pd.DataFrame({
            "Sessions": g.size(),
            "User initiate": g["user_initiated"].sum(),
            "Business initiate": g["business_initiated"].sum(),
            "Customer messages": g["customer_messages"].sum(),
            "Agent messages": g["agent_messages"].sum(),
            "Resolved sessions": g["resolved"].sum(),
            "Sessions with no agent reply": g["no_agent_reply"].sum(),
        })
        return out.reindex(index, fill_value=0).fillna(0).astype("int64")

    def by_day(self) -> pd.DataFrame:
        out = self._counts("day", self.days())
        out.index.name = "Day"
        return out

    def totals(self) -> dict[str, int]:
        """The cards: each is the sum of its column in ``by_day``."""
        return {k: int(v) for k, v in self.by_day().sum().items()}

    def by_channel(self) -> pd.DataFrame:
        out = self._counts("channel", list(CHANNELS))
        out.index = [CHANNEL_LABELS[c] for c in out.index]
        out.index.name = "Channel"
        return out

    def by_label(self) -> pd.DataFrame:
        """A session counts under each of its contact's labels (no total)."""
        f = self.facts.copy()
        f["label"] = f["label_ids"].apply(lambda ids: [self.labels.get(int(i), f"label {i}") for i in ids]
                                          if ids is not None and len(ids) else ["(no label)"])
        f = f.explode("label")
        names = sorted(set(self.labels.values())) + ["(no label)"]
        saved, self.facts = self.facts, f
        try:
            out = self._counts("label", names)
        finally:
            self.facts = saved
        out.index.name = "Label"
        return out

    def heatmap(self) -> pd.DataFrame:
        """Incoming (user-initiated) sessions by weekday and hour, team time."""
        f = self.facts[self.facts["user_initiated"]]
        grid = f.groupby(["weekday", "hour"]).size().reindex(
            pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"]), fill_value=0)
        out = grid.reset_index(name="Sessions")
        out.insert(0, "Weekday", [WEEKDAY_NAMES[d] for d in out["weekday"]])
        return out.drop(columns="weekday").rename(columns={"hour": "Hour"})

    def metrics(self) -> pd.DataFrame:
        rows = [("First response time", self.facts["first_response_s"]),
                ("Customer waiting time", self.waits["waiting_s"]),
                ("Resolution time", self.facts["resolution_s"])]
        if self.schedule:
            rows.insert(1, ("First response time (business hours)", self.facts["first_response_bh_s"]))
            rows.insert(3, ("Customer waiting time (business hours)", self.waits["waiting_bh_s"]))
        out = pd.DataFrame([{"Metric": name, **summary(v)} for name, v in rows])
        return out.rename(columns={"median": "Median (s)", "p90": "p90 (s)", "average": "Average (s)",
                                   "count": "Count"}).set_index("Metric")

    def metrics_by_day(self) -> pd.DataFrame:
        """Median and count of first response and waiting time per day."""
        rows = []
        waits = self.waits.groupby("day")["waiting_s"]
        frt = self.facts.groupby("day")["first_response_s"]
        for day in self.days():
            a = summary(frt.get_group(day)) if day in frt.groups else summary(pd.Series(dtype=float))
            b = summary(waits.get_group(day)) if day in waits.groups else summary(pd.Series(dtype=float))
            rows.append({"Day": day, "First response median (s)": a["median"], "First responses": a["count"],
                         "Waiting median (s)": b["median"], "Waits": b["count"]})
        return pd.DataFrame(rows).set_index("Day")

    def by_agent(self) -> pd.DataFrame:
        """Per agent: sessions handled (they sent its first reply, so each
        session counts once), replies sent, first response, resolutions."""
        f = self.facts
        ids = sorted(set(f["agent_id"].dropna().astype(int)) | set(self.replies["agent_id"].astype(int))
                     | set(f["resolved_by"].dropna().astype(int)))
        rows = []
        for agent_id in ids:
            mine = f[f["agent_id"] == agent_id]
            s = summary(mine["first_response_s"])
            rows.append({"Agent": self.agents.get(agent_id, f"agent {agent_id}"),
                         "Sessions handled": int(len(mine)),
                         "Replies sent": int(self.replies.loc[self.replies["agent_id"] == agent_id, "replies"].sum()),
                         "First response median (s)": s["median"], "First response p90 (s)": s["p90"],
                         "First responses": s["count"],
                         "Resolutions": int((f["resolved_by"] == agent_id).sum())})
        cols = ["Agent", "Sessions handled", "Replies sent", "First response median (s)", "First response p90 (s)",
                "First responses", "Resolutions"]
        return pd.DataFrame(rows, columns=cols).set_index("Agent")

    def sessions(self) -> pd.DataFrame:
        """The one-row-per-session export."""
        f = self.facts.sort_values("started_at")
        return pd.DataFrame({
            "session_id": f["session_id"].astype("int64"), "chat_id": f["chat_id"].astype("int64"),
            "contact": f["contact_name"], "channel": f["channel"].map(CHANNEL_LABELS),
            "labels": f["label_ids"].apply(lambda ids: ", ".join(self.labels.get(int(i), str(i)) for i in ids)
                                           if ids is not None else ""),
            "agent": f["agent_id"].map(lambda i: self.agents.get(int(i), f"agent {i}") if pd.notna(i) else ""),
            "initiated_by": f["initiated_by"], "started_at": f["started_at"],
            "first_customer_message_at": f["first_customer_at"], "first_response_at": f["first_reply_at"],
            "first_response_s": f["first_response_s"], "resolved_at": f["resolved_at"],
            "resolution_s": f["resolution_s"], "customer_messages": f["customer_messages"],
            "agent_messages": f["agent_messages"]}).reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table the page shows, by file name: what the downloads write."""
        return {"metrics": self.metrics(), "by_day": self.by_day(), "metrics_by_day": self.metrics_by_day(),
                "by_channel": self.by_channel(), "by_label": self.by_label(), "by_agent": self.by_agent(),
                "heatmap": self.heatmap(), "sessions": self.sessions()}


def build(store: Store, f: ReportFilter, tz: ZoneInfo | None = None) -> Report:
    from .config import team_timezone
    tz = tz or team_timezone()
    facts, replies, waits = load(store, f, tz)
    agents = {i: n for i, n in store.all("SELECT id, display_name FROM agents")}
    labels = {i: n for i, n in store.all("SELECT id, name FROM labels")}
    return Report(f, tz, facts, replies, waits, agents, labels, business_hours(store))


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv().encode() if df.index.name else df.to_csv(index=False).encode()


def parquet_bytes(df: pd.DataFrame) -> bytes:
    import io
    out = io.BytesIO()
    (df.reset_index() if df.index.name else df).to_parquet(out, index=False)
    return out.getvalue()
