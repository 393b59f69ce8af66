"""Reports for supervisors and analysts (SPEC D2, D3): every figure computed
live from the whole history, in the team's timezone.

How the numbers are made, once, for the page, the exports and the tests:
- The date range (and the channel and label filters) select *sessions* by
  their start, in the team's timezone (MAXCHAT_TIMEZONE). Everything on the
  page is about those sessions; a session counts on the day it started.
- Every table comes from SQL aggregations over the per-session facts the
  writer keeps (``facts.py``: start kind and resolution, first customer
  message, first agent reply and its sender, message counts, one row per
  wait), grouped by day, channel, label, agent; counts are made per local
  hour and channel and summed here. The cards are the sums of the by-day
  series, so a total is the sum of its own series by construction.
- Figures are kept per commit count (``build``): a rerun with no commit
  since reads nothing; the first after a commit reads everything again.
- An *agent reply* is a message sent by a human agent: outbound, with an
  agent as sender, not a template. BOT messages (no sender), templates
  (automatic) and activity lines never count (``facts.AGENT_REPLY``, the
  one definition the Monitor, auto-assignment and the SQL console share).
"""
from __future__ import annotations

import json
import re
import threading
import time as clock
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from . import facts, i18n, settings
from .common import CHANNEL_LABELS, CHANNELS, acting
from .engine import Engine
from .errors import ValidationError
from .i18n import N_, _
from .store import Store, Writer, utcnow

# Provider times of inbound messages may be a little earlier than the session
# row's start (server time), replies later than the range: the team's UTC
# offsets are worked out this much beyond it.
SLACK = timedelta(days=2)
BUSINESS_HOURS = "business_hours"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Names and definitions in English (message ids); the page shows them with _().
DEFINITIONS = {
    N_("First response time"): N_(
        "For each user-initiated session: the first reply sent by a human agent minus the session's first customer "
        "message. BOT messages, templates and activity lines never count. A chat reopened after Resolved is a new "
        "session, timed from its own first message. Sessions without an agent reply have none."),
    N_("Customer waiting time"): N_(
        "For each agent reply that answers customer messages: the reply minus the oldest customer message of the "
        "session still unanswered before it (a burst of customer messages waits from its first one)."),
    N_("Resolution time"): N_("For each resolved session: resolved minus the session's start."),
    N_("Percentiles"): N_(
        "Median and p90 are the 50th and 90th percentiles, interpolated linearly between the two nearest values; "
        "count is how many values they are taken over. The average is shown beside them, never alone."),
    N_("Business hours"): N_(
        "With business hours set, first response and waiting time are also counted in business hours only: the "
        "part of the wait that falls inside the weekly schedule, in the team timezone."),
    N_("Scope"): N_(
        "The range selects sessions by their start, in the team timezone; every figure is about those sessions, "
        "and a session and its messages count on the day it started. The agent filter keeps the sessions whose "
        "first reply the chosen agents sent. Labels are the contact's labels now; a session with two labels counts "
        "under both in the label table (which therefore has no total)."),
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


def set_business_hours(store: Store, schedule: dict | None, actor_id: int) -> None:
    """Set (or with None turn off) the team's business hours: admins only."""
    store.write(_set_business_hours, actor_id,
                json.dumps(check_schedule(schedule)) if schedule is not None else "")


def _set_business_hours(w: Writer, actor_id, value):
    acting(w, actor_id, "admin", "Only an admin can set business hours.")
    settings.write_value(w, BUSINESS_HOURS, value)


def business_clock(t: str, schedule: dict, steps: list[tuple[int, int]], engine: Engine) -> str:
    """SQL for the business seconds from a fixed Monday to instant ``t``, by
    arithmetic on the team-local wall time: whole weeks times the week's
    business time, plus the part of each window of the week already gone."""
    day_us, week_us = 86_400_000_000, 7 * 86_400_000_000
    spans = [(i * day_us + _minutes(a) * 60_000_000, (_minutes(b) - _minutes(a)) * 60_000_000)
             for i, day in enumerate(WEEKDAYS) for a, b in schedule.get(day) or []]
    # Local wall time in µs from Monday 29 December 1969 (the epoch was a Thursday).
    x = f"({_local_us(t, steps, engine)} + {3 * day_us})"
    into = f"({x} - floor({x} / {week_us})::BIGINT * {week_us})"
    done = " + ".join(f"least(greatest({into} - {start}, 0), {length})" for start, length in spans)
    return f"(floor({x} / {week_us})::BIGINT * {sum(l for _, l in spans)} + {done}) / 1e6"


# ---- the data --------------------------------------------------------------------------------
def _secs(a: str, b: str, engine: Engine) -> str:
    return f"({engine.epoch_us(b)} - {engine.epoch_us(a)})::DOUBLE PRECISION / 1e6"


# The seven volume columns of by day / by channel / by label, once.
COUNTS = ("count(*) AS \"Sessions\", count(*) FILTER (WHERE user_initiated) AS \"User initiate\","
          " count(*) FILTER (WHERE NOT user_initiated) AS \"Business initiate\","
          " coalesce(sum(customer_messages), 0) AS \"Customer messages\","
          " coalesce(sum(agent_messages), 0) AS \"Agent messages\","
          " count(resolved_at) AS \"Resolved sessions\","
          " count(*) FILTER (WHERE first_response_at IS NULL) AS \"Sessions with no agent reply\"")
COUNT_NAMES = (N_("Sessions"), N_("User initiate"), N_("Business initiate"), N_("Customer messages"),
               N_("Agent messages"), N_("Resolved sessions"), N_("Sessions with no agent reply"))
# One row per session of ``rows`` (a query over the scope) for the export.
EXPORT = ("SELECT {columns}, c.contact_name, c.label_ids FROM ({rows}) sc"
          " JOIN chats c ON c.id = sc.chat_id ORDER BY sc.started_at, sc.session_id")
# The scope's columns a reader sees (local_us is for grouping only).
SCOPE_COLUMNS = ("session_id", "chat_id", "channel", "initiated_by", "user_initiated", "started_at", "resolved_at",
                 "resolved_by", "day", "first_customer_at", "first_response_at", "agent_id", "customer_messages",
                 "agent_messages", "first_response_s", "resolution_s")
WAIT_COLUMNS = ("session_id", "day", "waiting_since", "reply_at", "waiting_s")
SHOWN = 200  # sessions the page lists (the download has them all)
# The page's reads that take longest, run first (20M messages, 30 days).
DEAREST = ("waits", "times", "labels", "first")
HOUR_US, DAY_US = 3_600_000_000, 86_400_000_000
EPOCH = date(1970, 1, 1)  # a Thursday


def _stats(col: str) -> str:
    """Median and p90 (linear, as pandas), average and count of a column."""
    return (f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {col}) AS {col}_q, avg({col}) AS {col}_avg,"
            f" count({col}) AS {col}_n")


def _summary(row: dict, col: str) -> dict:
    q, n = row[f"{col}_q"], int(row[f"{col}_n"] or 0)
    if not n:
        return {"median": None, "p90": None, "average": None, "count": 0}
    # To the microsecond, the times' own precision: the interpolation's last bits are noise.
    return {"median": round(q[0], 6), "p90": round(q[1], 6), "average": float(row[f"{col}_avg"]), "count": n}


def utc_offsets(tz: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[int, int]]:
    """The team timezone's UTC offset over [lo, hi] as (from epoch µs, offset
    µs) steps: one step unless a daylight-saving change falls inside."""
    def offset(t: datetime) -> int:
        return int(t.astimezone(tz).utcoffset().total_seconds()) * 1_000_000

    steps = [(0, offset(lo))]
    t = lo
    while t < hi:
        nxt = min(t + timedelta(days=1), hi)
        if offset(nxt) != steps[-1][1]:
            a, b = t, nxt  # the change is in (a, b]: narrow it to the second
            while (b - a) > timedelta(seconds=1):
                mid = a + (b - a) / 2
                a, b = (mid, b) if offset(mid) == steps[-1][1] else (a, mid)
            steps.append((int(b.timestamp()) * 1_000_000, offset(b)))
        t = nxt
    return steps


def _local_us(col: str, steps: list[tuple[int, int]], engine: Engine) -> str:
    """``col`` as team-local wall time in µs since 1970, by plain arithmetic:
    ICU's per-row conversion costs a quarter of a second per million rows."""
    us = engine.epoch_us(col)
    offset = str(steps[0][1]) if len(steps) == 1 else (
        "CASE " + " ".join(f"WHEN {us} >= {start} THEN {off}" for start, off in reversed(steps[1:]))
        + f" ELSE {steps[0][1]} END")
    return f"({us} + {offset})"


def _local(col: str, steps: list[tuple[int, int]], engine: Engine) -> str:
    """``col`` as team-local wall time (a TIMESTAMP)."""
    return engine.from_epoch_us(_local_us(col, steps, engine))


def _bucket(us: str, size_us: int) -> str:
    """The start of the ``size_us`` bucket holding the µs ``us`` (both
    integers: the same on both engines, and cheaper than a timestamp)."""
    return f"({us} - {us} % {size_us})"


def _local_date(bucket_us) -> date:
    """A day bucket (µs of team-local midnight) as its date."""
    return EPOCH + timedelta(days=int(bucket_us) // DAY_US)


def _scope_sql(f: ReportFilter, schedule: dict | None, steps: list[tuple[int, int]],
               engine: Engine, first: int | None = None) -> tuple[str, str]:
    """Two queries: ``scope``, one row per session in the range with its
    facts (``first``: only the first sessions by start, picked before
    anything is computed of the others), and ``wait_rows`` (reading
    ``scope``), one row per wait of those sessions; business-hours columns
    when a schedule is set. Both read one table each, filtered on its raw
    start column (stored in start order, so a short range reads only its
    part of the table)."""
    where = ["sf.started_at >= $lo", "sf.started_at < $hi"]
    if f.channels:
        where.append("sf.channel = ANY($channels::VARCHAR[])")
    if f.label_ids:
        where.append("sf.chat_id IN (SELECT id FROM chats WHERE label_ids && $labels::INTEGER[])")
    if f.agent_ids:
        where.append("sf.first_response_agent_id = ANY($agents::INTEGER[])")
    # (A column no query asks for costs nothing: both engines inline the scope.)
    scope = (
        "SELECT sf.session_id, sf.chat_id, sf.channel,"
        " CASE WHEN sf.user_initiated THEN 'User initiate' ELSE 'Business initiate' END AS initiated_by,"
        " sf.user_initiated, sf.started_at, sf.resolved_at, sf.resolved_by,"
        f" {_local_us('sf.started_at', steps, engine)} AS local_us,"
        f" CAST({_local('sf.started_at', steps, engine)} AS DATE) AS day,"
        " sf.first_customer_at, sf.first_response_at, sf.first_response_agent_id AS agent_id,"
        " sf.customer_messages, sf.agent_messages,"
        f" CASE WHEN sf.user_initiated THEN {_secs('sf.first_customer_at', 'sf.first_response_at', engine)}"
        " END AS first_response_s,"
        f" {_secs('sf.started_at', 'sf.resolved_at', engine)} AS resolution_s"
        " FROM session_facts sf WHERE " + " AND ".join(where)
        + (f" ORDER BY sf.started_at, sf.session_id LIMIT {int(first)}" if first else ""))
    # A wait counts on its session's day; read by the session's start, and
    # matched with the scope only when a filter narrows it.
    narrowed = " AND w.session_id IN (SELECT session_id FROM scope)" if f.channels or f.label_ids or f.agent_ids else ""
    waits = (f"SELECT w.session_id, CAST({_local('w.started_at', steps, engine)} AS DATE) AS day,"
             f" {_local_us('w.started_at', steps, engine)} AS local_us, w.waiting_since,"
             f" w.reply_at, {_secs('w.waiting_since', 'w.reply_at', engine)} AS waiting_s FROM waits w"
             f" WHERE w.started_at >= $lo AND w.started_at < $hi{narrowed}")
    if not schedule:
        return scope, waits
    clock = lambda t: business_clock(t, schedule, steps, engine)  # noqa: E731
    scope = (f"SELECT *, CASE WHEN user_initiated THEN {clock('first_response_at')} - {clock('first_customer_at')}"
             f" END AS first_response_bh_s FROM ({scope}) AS plain")
    waits = f"SELECT *, {clock('reply_at')} - {clock('waiting_since')} AS waiting_bh_s FROM ({waits}) AS plain"
    return scope, waits


class Report:
    """Every table of the page for one filter, from a few aggregations run
    together when the first table is asked for: each reads the sessions in
    scope (one scan of ``session_facts``, no join) and makes only the figures
    it is for, so no row is copied into a table of its own and no percentile
    is taken of a group nobody shows. Counts come per (team-local hour,
    channel) and are summed here into days, channels and the weekday-hour
    grid; labels per set of labels."""

    def __init__(self, store: Store, f: ReportFilter, tz: ZoneInfo, agents: dict[int, str] | None = None,
                 labels: dict[int, str] | None = None, schedule: dict | None = None):
        f.check()
        self.store, self.filter, self.tz = store, f, tz
        self.agents, self.labels, self.schedule = agents or {}, labels or {}, schedule
        lo, hi = f.bounds(tz)
        self.params: dict = {"lo": lo, "hi": hi}
        if f.channels:
            self.params["channels"] = list(f.channels)
        if f.label_ids:
            self.params["labels"] = [int(x) for x in f.label_ids]
        if f.agent_ids:
            self.params["agents"] = [int(x) for x in f.agent_ids]
        # Replies come after the range (days later): the offsets up to now.
        steps = utc_offsets(tz, lo - SLACK, max(hi, utcnow()) + SLACK)
        self._scope, self._wait_rows = _scope_sql(f, schedule, steps, store.engine)
        self._first_scope = _scope_sql(f, schedule, steps, store.engine, first=SHOWN)[0]
        self._columns = SCOPE_COLUMNS + (("first_response_bh_s",) if schedule else ())
        self._wait_columns = WAIT_COLUMNS + (("waiting_bh_s",) if schedule else ())
        self._cache: dict = {}
        self.timings: dict[str, float] = {}  # ms per query of the last load (the benchmark prints them)

    def _run(self, cur, sql: str):
        return cur.execute(sql, {k: v for k, v in self.params.items() if re.search(rf"\${k}\b", sql)})

    def _aggregates(self) -> dict:
        """Every aggregation the page shows, and the first sessions: two
        queries at a time, each on a cursor of its own (at 20M messages the
        30-day page 423-539 ms instead of 541-596, alternating runs)."""
        if "volumes" in self._cache:
            return self._cache
        bh_frt = f", {_stats('first_response_bh_s')}" if self.schedule else ""
        bh_wait = f", {_stats('waiting_bh_s')}" if self.schedule else ""
        with_scope = f"WITH scope AS ({self._scope}) "
        queries = {
            # every count, per team-local hour and channel (summed up below)
            "volumes": f"{with_scope}SELECT {_bucket('local_us', HOUR_US)} AS hour_us, channel, {COUNTS}"
                       " FROM scope GROUP BY 1, 2",
            # first response overall, per day, per first-reply agent; sessions per resolver
            "times": f"{with_scope}SELECT grouping(day_us) AS no_day, grouping(agent_id) AS no_agent,"
                     " grouping(resolved_by) AS no_resolver, day_us, agent_id, resolved_by, count(*) AS sessions,"
                     f" {_stats('first_response_s')} FROM (SELECT *, {_bucket('local_us', DAY_US)} AS day_us"
                     " FROM scope) AS days GROUP BY GROUPING SETS ((), (day_us), (agent_id), (resolved_by))",
            # what is shown overall only
            "overall": f"{with_scope}SELECT {_stats('resolution_s')}{bh_frt} FROM scope",
            "waits": f"{with_scope}, wait_rows AS ({self._wait_rows}) SELECT grouping(day_us) AS no_day, day_us,"
                     f" {_stats('waiting_s')}{bh_wait} FROM (SELECT *, {_bucket('local_us', DAY_US)} AS day_us"
                     " FROM wait_rows) AS days GROUP BY GROUPING SETS ((), (day_us))",
            # the sessions of labelled contacts per set of labels (the rest have none)
            "labels": f"{with_scope}SELECT label_ids, {COUNTS} FROM (SELECT c.label_ids, sc.* FROM scope sc"
                      " JOIN chats c ON c.id = sc.chat_id WHERE cardinality(c.label_ids) > 0) AS labelled"
                      " GROUP BY label_ids",
            "replies": f"{with_scope}SELECT r.agent_id, sum(r.replies) AS replies FROM session_replies r"
                       " JOIN scope USING (session_id) GROUP BY r.agent_id",
        }
        queries["first"] = f"WITH scope AS ({self._first_scope}) " + self._export("SELECT * FROM scope")
        # The dearest first: one query alone leaves a core idle while it
        # gathers or hands back its rows.
        order = sorted(queries, key=lambda name: DEAREST.index(name) if name in DEAREST else len(DEAREST))

        def read(name: str):
            cur = self.store.cursor()
            try:
                started = clock.perf_counter()
                rel = self._run(cur, queries[name])
                if name == "first":
                    out = _df(rel)
                else:
                    cols = [d[0] for d in rel.description]
                    out = [dict(zip(cols, r)) for r in rel.fetchall()]
                self.timings[name] = (clock.perf_counter() - started) * 1000
                return out
            finally:
                cur.close()

        with ThreadPoolExecutor(2) as pool:
            got = dict(zip(order, pool.map(read, order)))
        for r in got["times"] + got["waits"]:
            r["day"] = None if r["no_day"] else _local_date(r["day_us"])
        self._cache.update(got)  # all at once: another page run may share these figures (build)
        return self._cache

    def _frame(self, sql: str) -> pd.DataFrame:
        """Per-row reads (exports): the scope as a common table expression."""
        sql = f"WITH scope AS ({self._scope}), wait_rows AS ({self._wait_rows}) {sql}"
        cur = self.store.cursor()
        try:
            return _df(self._run(cur, sql))
        finally:
            cur.close()

    def _export(self, rows: str) -> str:
        return EXPORT.format(columns=", ".join(f"sc.{c}" for c in self._columns), rows=rows)

    def _once(self, key: str, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _volumes(self, by: str) -> list[dict]:
        """The counts summed per day, per channel or per (weekday, hour):
        made together, once."""
        if "rollups" not in self._cache:
            rollups: dict = {"day": {}, "channel": {}, "weekday_hour": {}}
            for r in self._aggregates()["volumes"]:
                hour_us, counts = r["hour_us"], [r[c] for c in COUNT_NAMES]
                days = hour_us // DAY_US
                for name, key in (("day", EPOCH + timedelta(days=days)), ("channel", r["channel"]),
                                  ("weekday_hour", ((days + EPOCH.weekday()) % 7, hour_us % DAY_US // HOUR_US))):
                    into = rollups[name].setdefault(key, [0] * len(COUNT_NAMES))
                    for i, n in enumerate(counts):
                        into[i] += n
            self._cache["rollups"] = {name: [{"key": k, **dict(zip(COUNT_NAMES, v))} for k, v in sums.items()]
                                      for name, sums in rollups.items()}
        return self._cache["rollups"][by]

    def _times(self) -> list[dict]:
        return self._aggregates()["times"]

    def _waits(self) -> list[dict]:
        return self._aggregates()["waits"]

    # ---- series (every total below is the sum of one of these) ----
    def days(self) -> list[date]:
        n = (self.filter.end - self.filter.start).days + 1
        return [self.filter.start + timedelta(days=i) for i in range(n)]

    @staticmethod
    def _counts(rows: list[dict], key: str, index) -> pd.DataFrame:
        out = pd.DataFrame([{key: r[key], **{c: r[c] for c in COUNT_NAMES}} for r in rows],
                           columns=[key, *COUNT_NAMES]).set_index(key)
        return out.reindex(index, fill_value=0).fillna(0).astype("int64")

    def by_day(self) -> pd.DataFrame:
        out = self._counts(self._volumes("day"), "key", self.days())
        out.index.name = N_("Day")
        return out

    def totals(self) -> dict[str, int]:
        """The cards: each is the sum of its column in ``by_day``."""
        return {k: int(v) for k, v in self.by_day().sum().items()}

    def by_channel(self) -> pd.DataFrame:
        out = self._counts(self._volumes("channel"), "key", list(CHANNELS))
        out.index = [CHANNEL_LABELS[c] for c in out.index]
        out.index.name = N_("Channel")
        return out

    def by_label(self) -> pd.DataFrame:
        """A session counts under each of its contact's labels (no total);
        the sessions of contacts with none are the rest of the total."""
        per_label: dict = {}
        rest = self.totals()
        for r in self._aggregates()["labels"]:
            for label_id in r["label_ids"]:
                into = per_label.setdefault(label_id, dict.fromkeys(COUNT_NAMES, 0))
                for c in COUNT_NAMES:
                    into[c] += r[c]
            rest = {c: rest[c] - r[c] for c in COUNT_NAMES}
        rows = [{"label": self.labels.get(i, _("label {id}").format(id=i)), **counts} for i, counts in per_label.items()]
        rows.append({"label": _("(no label)"), **rest})
        out = self._counts(rows, "label", sorted(set(self.labels.values())) + [_("(no label)")])
        out.index.name = N_("Label")
        return out

    def heatmap(self) -> pd.DataFrame:
        """Incoming (user-initiated) sessions by weekday and hour, team time
        (weekdays named in the reader's language)."""
        got = {r["key"]: r["User initiate"] for r in self._volumes("weekday_hour")}
        names = [i18n.weekday(d) for d in range(7)]
        return pd.DataFrame([{N_("Weekday"): names[d], N_("Hour"): h, N_("Sessions"): int(got.get((d, h), 0))}
                             for d in range(7) for h in range(24)])

    def metrics(self) -> pd.DataFrame:
        times = next(r for r in self._times() if r["no_day"] and r["no_agent"] and r["no_resolver"])
        (overall,) = self._aggregates()["overall"]
        waits = next(r for r in self._waits() if r["no_day"])
        rows = [(N_("First response time"), _summary(times, "first_response_s")),
                (N_("Customer waiting time"), _summary(waits, "waiting_s")),
                (N_("Resolution time"), _summary(overall, "resolution_s"))]
        if self.schedule:
            rows.insert(1, (N_("First response time (business hours)"), _summary(overall, "first_response_bh_s")))
            rows.insert(3, (N_("Customer waiting time (business hours)"), _summary(waits, "waiting_bh_s")))
        out = pd.DataFrame([{"Metric": name, **s} for name, s in rows])
        return out.rename(columns={"median": N_("Median (s)"), "p90": N_("p90 (s)"), "average": N_("Average (s)"),
                                   "count": N_("Count")}).set_index(N_("Metric"))

    def metrics_by_day(self) -> pd.DataFrame:
        """Median and count of first response and waiting time per day."""
        frt = {r["day"]: _summary(r, "first_response_s") for r in self._times() if not r["no_day"]}
        waits = {r["day"]: _summary(r, "waiting_s") for r in self._waits() if not r["no_day"]}
        empty = _summary({"x_q": None, "x_avg": None, "x_n": 0}, "x")
        rows = []
        for day in self.days():
            a, b = frt.get(day, empty), waits.get(day, empty)
            rows.append({"Day": day, N_("First response median (s)"): a["median"], N_("First responses"): a["count"],
                         N_("Waiting median (s)"): b["median"], N_("Waits"): b["count"]})
        return pd.DataFrame(rows).set_index("Day")

    def by_agent(self) -> pd.DataFrame:
        """Per agent: sessions handled (they sent its first reply, so each
        session counts once), replies sent, first response, resolutions."""
        times = self._times()
        handled = {r["agent_id"]: r for r in times if not r["no_agent"] and r["agent_id"] is not None}
        resolved = {r["resolved_by"]: r["sessions"] for r in times
                    if not r["no_resolver"] and r["resolved_by"] is not None}
        replies = {r["agent_id"]: int(r["replies"]) for r in self._aggregates()["replies"]}
        rows = []
        for agent_id in sorted(set(handled) | set(replies) | set(resolved)):
            mine = handled.get(agent_id)
            s = _summary(mine, "first_response_s") if mine else _summary({"x_q": None, "x_avg": None, "x_n": 0}, "x")
            rows.append({"Agent": self.agents.get(agent_id, _("agent {id}").format(id=agent_id)),
                         "Sessions handled": int(mine["sessions"]) if mine else 0,
                         "Replies sent": replies.get(agent_id, 0),
                         "First response median (s)": s["median"], "First response p90 (s)": s["p90"],
                         "First responses": s["count"], "Resolutions": int(resolved.get(agent_id, 0))})
        cols = [N_("Agent"), N_("Sessions handled"), N_("Replies sent"), N_("First response median (s)"),
                N_("First response p90 (s)"), N_("First responses"), N_("Resolutions")]
        return pd.DataFrame(rows, columns=cols).set_index("Agent")

    # ---- one row per session / per wait (exports, checks) ----
    @property
    def facts(self) -> pd.DataFrame:
        """One row per session in scope, by start."""
        return self._once("facts", lambda: self._frame(f"SELECT {', '.join(self._columns)} FROM scope"
                                                        " ORDER BY started_at, session_id"))

    @property
    def waits(self) -> pd.DataFrame:
        """One row per customer wait of the sessions in scope."""
        return self._once("wait_rows", lambda: self._frame(f"SELECT {', '.join(self._wait_columns)} FROM wait_rows"
                                                            " ORDER BY reply_at, session_id"))

    def sessions(self, first: bool = False) -> pd.DataFrame:
        """The one-row-per-session export, by start (``first``: the first
        SHOWN only, found by the aggregations' pass)."""
        f = self._aggregates()["first"] if first else self._frame(self._export("SELECT * FROM scope"))
        return pd.DataFrame({
            "session_id": f["session_id"].astype("int64"), "chat_id": f["chat_id"].astype("int64"),
            "contact": f["contact_name"], "channel": f["channel"].map(CHANNEL_LABELS),
            "labels": f["label_ids"].apply(lambda ids: ", ".join(self.labels.get(int(i), str(i)) for i in ids)
                                           if ids is not None else ""),
            "agent": f["agent_id"].map(lambda i: self.agents.get(int(i), _("agent {id}").format(id=int(i)))
                                       if pd.notna(i) else ""),
            "initiated_by": f["initiated_by"], "started_at": f["started_at"],
            "first_customer_message_at": f["first_customer_at"], "first_response_at": f["first_response_at"],
            "first_response_s": f["first_response_s"], "resolved_at": f["resolved_at"],
            "resolution_s": f["resolution_s"], "customer_messages": f["customer_messages"].astype("int64"),
            "agent_messages": f["agent_messages"].astype("int64")}).reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table the page shows, by file name: what the downloads write."""
        return {"metrics": self.metrics(), "by_day": self.by_day(), "metrics_by_day": self.metrics_by_day(),
                "by_channel": self.by_channel(), "by_label": self.by_label(), "by_agent": self.by_agent(),
                "heatmap": self.heatmap(), "sessions": self.sessions()}


def _df(rel) -> pd.DataFrame:
    """A result as a frame: DuckDB's straight into columns, else by rows."""
    if hasattr(rel, "df"):
        return rel.df()
    return pd.DataFrame(rel.fetchall(), columns=[d[0] for d in rel.description])


# Figures already made, per store: (commit count, filter, timezone) -> a
# Report's aggregations. A rerun of the page with no commit since (a click,
# a widget, another supervisor) reads nothing again; any commit changes the
# count, so nothing kept is ever shown after one.
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()
KEEP = 8  # per store: a few ranges and filters


def build(store: Store, f: ReportFilter, tz: ZoneInfo | None = None) -> Report:
    from .config import team_timezone
    tz = tz or team_timezone()
    f.check()
    version = store.version
    key = (version, f, tz.key)
    with _KEPT_LOCK:
        kept = _KEPT.setdefault(store, OrderedDict())
        figures = kept.get(key)
        if figures is not None:
            kept.move_to_end(key)
    if figures is None and facts.catch_up(store):
        version += 1  # the fold's own commit: the facts now hold every commit up to it
        key = (version, f, tz.key)
    agents = {i: n for i, n in store.all("SELECT id, display_name FROM agents")}
    labels = {i: n for i, n in store.all("SELECT id, name FROM labels")}
    report = Report(store, f, tz, agents, labels, business_hours(store))
    if figures is not None:
        report._cache = figures
    elif store.version == version:
        # No other commit meanwhile: the facts hold every commit up to
        # ``version``, so these figures (filled when first asked for) are its.
        with _KEPT_LOCK:
            kept[key] = report._cache
            while len(kept) > KEEP:
                kept.popitem(last=False)
    return report


def parquet_bytes(df: pd.DataFrame) -> bytes:
    import io
    out = io.BytesIO()
    (df.reset_index() if df.index.name else df).to_parquet(out, index=False)
    return out.getvalue()
