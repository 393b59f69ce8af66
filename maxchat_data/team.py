"""The team (SPEC §11, W1-W3): who is at their desk, who gets the next chat,
and which chats an agent may see.

Availability is what an agent chose (`Online` / `Away` / `Offline`, in the
database; logging in chooses `Online`) *and* whether a browser of theirs
still polls (presence, also in the database so that every replica sees it,
written at most every quarter timeout per agent: see Presence). An agent
whose browsers all stopped polling for MAXCHAT_PRESENCE_TIMEOUT counts as
`Offline`, whatever they chose.

Auto-assignment runs on the writer thread, inside the transaction that
changes the queue (a new or reopened chat: the ingest batch; an agent going
Online: their own write; capacity freed or chats returned: the team worker's
pass). A manual assignment and an automatic one on the same chat settle as
one outcome with one event each (A5): the automatic one only takes a chat
that is still Open and unassigned when its UPDATE runs (on PostgreSQL that
UPDATE waits for another replica's lock on the row, then looks again), and
passes of several replicas take turns (Writer.serialize)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from . import config, i18n
from .common import BOT, acting, record
from .errors import NotAllowed, ValidationError
from .i18n import N_, _, later
from .roles import can_act
from .store import Store, Writer, utcnow

AVAILABILITY = (N_("Online"), N_("Away"), N_("Offline"))  # stored as is; shown with _()
METHODS = {"off": N_("Off"), "round_robin": N_("Round robin"), "least_busy": N_("Least busy")}  # shown with _()
TOPIC = "team"
SETTINGS_KEY = "team"
CAPACITY_LIMIT = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# The queue: chats waiting for an agent. Archived and blocked chats wait for nobody.
WAITING = "{c}status = 'Open' AND {c}assignee_id IS NULL AND NOT {c}archived AND NOT {c}blocked"
# Since when the customer of chat ``c`` waits, for the Monitor and the queue's
# order: from the oldest of their messages no agent reply has answered (the
# facts' ``waiting_since``: a template or a BOT message answers nothing); until
# the facts fold the chat's newest messages (within a second), their last one.
WAITING_SINCE = ("LEFT JOIN session_facts f ON f.session_id = c.session_id",
                 "coalesce(f.waiting_since, c.last_inbound_at)")


# ---- settings ------------------------------------------------------------------
@dataclass(frozen=True)
class TeamSettings:
    auto_assign: str = "off"        # off | round_robin | least_busy
    capacity: int = 10              # open chats per agent that auto-assignment fills up to
    offline_returns: bool = False   # an agent going Offline hands their open chats back to the queue
    agents_see_own: bool = False    # agents see only My Chat and Unassigned (W3)

    @property
    def auto(self) -> bool:
        return self.auto_assign != "off"


def _parse(raw: str | None) -> TeamSettings:
    if not raw:
        return TeamSettings()
    known = {k: v for k, v in json.loads(raw).items() if k in TeamSettings.__dataclass_fields__}
    return TeamSettings(**known)


def settings(store: Store) -> TeamSettings:
    """The team settings, read again only after a commit that changed them."""
    version = store.topic_version(TOPIC)
    cached = store.memory.get("team_settings")
    if cached and cached[0] == version:
        return cached[1]
    found = store.one("SELECT value FROM settings WHERE key = ?", [SETTINGS_KEY])
    value = _parse(found[0] if found else None)
    store.memory["team_settings"] = (version, value)
    return value


def _settings_w(w: Writer) -> TeamSettings:
    found = w.one("SELECT value FROM settings WHERE key = ?", [SETTINGS_KEY])
    return _parse(found[0] if found else None)


def save_settings(store: Store, actor_id: int, *, auto_assign: str, capacity: int, offline_returns: bool,
                  agents_see_own: bool) -> TeamSettings:
    """Admins only. Turning auto-assignment on hands waiting chats out at once."""
    if auto_assign not in METHODS:
        raise ValidationError(_("Auto-assignment is one of: {methods}.")
                              .format(methods=", ".join(_(name) for name in METHODS.values())))
    try:
        capacity = int(capacity)
    except (TypeError, ValueError):
        raise ValidationError(_("Capacity is a whole number of open chats.")) from None
    if not 1 <= capacity <= CAPACITY_LIMIT:
        raise ValidationError(_("Capacity is between 1 and {limit} open chats per agent.")
                              .format(limit=i18n.number(CAPACITY_LIMIT)))
    value = TeamSettings(auto_assign, capacity, bool(offline_returns), bool(agents_see_own))
    return store.write(_save_settings, actor_id, value)


def _save_settings(w: Writer, actor_id, value: TeamSettings):
    acting(w, actor_id, "admin", N_("Only an admin can change the team settings."))
    w.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
              [SETTINGS_KEY, json.dumps(asdict(value))])
    record(w, None, actor_id, "team_settings", json.dumps(asdict(value)), utcnow())
    w.touch(TOPIC)
    assign_waiting(w, utcnow(), value)
    return value


# ---- presence --------------------------------------------------------------------
def presence_timeout() -> float:
    return max(config.number("MAXCHAT_PRESENCE_TIMEOUT", "120", "seconds"), 1.0)


class Presence:
    """Who is at their desk: an agent is present while a tab of theirs polled
    within ``timeout``. The beats are kept in the database (``agents.seen_at``)
    so that every replica sees a tab polling any of them; this process writes
    an agent's beat at most every quarter ``timeout`` (at once when it comes
    back), so an agent whose tabs stopped turns Offline between 3/4 and all
    of ``timeout`` after their last poll. ``clock`` is wall-clock seconds
    (replicas' clocks agree to well under a timeout)."""

    def __init__(self, timeout: float, clock=time.time):
        self.timeout = timeout
        self.clock = clock
        self._written: dict[int, float] = {}  # agent -> when this process last wrote their beat
        self._looked: set[int] = set()        # present at the last drain(), or beat here since
        self._came: set[int] = set()          # came back here since the last drain()
        self._lock = threading.Lock()

    def _at(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, timezone.utc)

    def beat(self, store: Store, agent_id: int) -> bool:
        """A tab of the agent is polling. True when this process saw them absent."""
        now = self.clock()
        with self._lock:
            last = self._written.get(agent_id)
            was = last is not None and now - last <= self.timeout
            if was and now - last < self.timeout / 4:
                return False  # written lately: nothing to do
            self._written[agent_id] = now
            self._looked.add(agent_id)
            if not was:
                self._came.add(agent_id)
        try:
            store.write(_beat, agent_id, self._at(now))
        except NotAllowed:  # not someone who takes chats: this process never saw them
            with self._lock:
                self._written.pop(agent_id, None)
                self._looked.discard(agent_id)
                self._came.discard(agent_id)
            raise
        return not was

    def leave(self, w: Writer, agent_id: int) -> None:
        """Logout: every tab of the agent is gone at once."""
        with self._lock:
            self._written.pop(agent_id, None)
        w.execute("UPDATE agents SET seen_at = NULL WHERE id = ?", [agent_id])

    def since(self) -> datetime:
        """A beat after this counts."""
        return self._at(self.clock() - self.timeout)

    def present(self, db, agent_id: int) -> bool:
        return bool(db.all("SELECT 1 FROM agents WHERE id = ? AND seen_at >= ?", [agent_id, self.since()]))

    def present_ids(self, db) -> set[int]:
        """``db``: the store or a writer."""
        return {i for (i,) in db.all("SELECT id FROM agents WHERE seen_at >= ?", [self.since()])}

    def drain(self, store: Store) -> tuple[set[int], set[int], set[int]]:
        """(came back, went silent, present) since the last call, as this
        process saw it: what the team worker acts on, however long it slept
        between looks."""
        here = self.present_ids(store)
        with self._lock:
            gone = self._looked - here
            came = (self._came | (here - self._looked)) - gone
            self._looked, self._came = set(here), set()
            for agent_id in gone:
                self._written.pop(agent_id, None)
        return came, gone, here


def _beat(w: Writer, agent_id, at):
    acting(w, agent_id)  # presence is for active agents who take chats
    # Never backwards: another replica may have written a later beat.
    w.execute("UPDATE agents SET seen_at = greatest(coalesce(seen_at, ?), ?) WHERE id = ?", [at, at, agent_id])


def presence(store: Store) -> Presence:
    found = store.memory.get("presence")
    if found is None:
        found = store.memory.setdefault("presence", Presence(presence_timeout()))
    return found


def _presence_w(w: Writer) -> Presence:
    found = w.memory.get("presence")
    if found is None:
        found = w.memory.setdefault("presence", Presence(presence_timeout()))
    return found


def heartbeat(store: Store, agent_id: int, browser: str) -> None:
    """A tab (``browser``) of the agent polled; any one tab polling keeps
    them present. Coming back after an absence is noticed by the team
    worker, which then hands out waiting chats."""
    presence(store).beat(store, agent_id)


def effective(chosen: str | None, active: bool, present: bool) -> str:
    """W1: what counts. A closed laptop is Offline whatever was chosen."""
    if not active or not present or chosen not in AVAILABILITY:
        return "Offline"
    return chosen


def availability(store: Store) -> dict[int, str]:
    """Every agent's availability as it counts now (id -> Online/Away/Offline)."""
    return {i: effective(chosen, active, bool(here))
            for i, chosen, active, here in store.all("SELECT id, availability, active, coalesce(seen_at >= ?, FALSE)"
                                                     " FROM agents", [presence(store).since()])}


def with_availability(store: Store, agents: list[dict]) -> list[dict]:
    """The agents, each with the availability that counts now (the assign dropdown)."""
    now_state = availability(store)
    return [{**a, "availability": now_state.get(a["id"], "Offline")} for a in agents]


def chosen_availability(store: Store, agent_id: int) -> str:
    found = store.one("SELECT availability FROM agents WHERE id = ?", [agent_id])
    return found[0] if found and found[0] in AVAILABILITY else "Offline"


def set_availability(store: Store, agent_id: int, value: str) -> bool:
    """The agent's own choice. Going Online hands them waiting chats at once;
    going Offline (when the team says so) hands their open chats back."""
    if value not in AVAILABILITY:
        raise ValidationError(_("Availability is one of: {values}.")
                              .format(values=", ".join(_(value) for value in AVAILABILITY)))
    return store.write(_set_availability, agent_id, value, "")


def logged_in(store: Store, agent_id: int) -> bool:
    """Logging in is coming to work: `Online`, until the person chooses
    otherwise in the sidebar. Analysts take no chats: nothing changes."""
    return store.write(_logged_in, agent_id)


def _logged_in(w: Writer, agent_id):
    if not can_act(acting(w, agent_id, "read_chats")["role"]):
        return False
    return _set_availability(w, agent_id, "Online", "logged in")


def logged_out(store: Store, agent_id: int) -> None:
    """Logging out is Offline: for the choice and for every tab."""
    store.write(_logged_out, agent_id)


def _logged_out(w: Writer, agent_id):
    agent = acting(w, agent_id, "read_chats", deactivated_too=True)  # logging out always works
    _presence_w(w).leave(w, agent_id)
    if not can_act(agent["role"]):
        return False  # an analyst has no availability
    return _set_availability(w, agent_id, "Offline", "logged out")


def _set_availability(w: Writer, agent_id, value, why: str = ""):
    """``why``: "logged in" / "logged out" when it was not the agent's choice."""
    agent = acting(w, agent_id, deactivated_too=value == "Offline")  # analysts take no chats
    (old,) = w.one("SELECT availability FROM agents WHERE id = ?", [agent_id])
    if old == value:
        return False
    now = utcnow()
    w.execute("UPDATE agents SET availability = ? WHERE id = ?", [value, agent_id])
    record(w, None, agent_id, "availability", f"{agent['display_name']}: {old} -> {value}" + (f" ({why})" if why else ""),
           now)
    w.touch(TOPIC)
    if value == "Offline":
        name = agent["display_name"]
        _return_chats(w, agent_id, now, later._("{name} went Offline (logged out): chat back to the queue", name=name) if why
                      else later._("{name} went Offline: chat back to the queue", name=name))
    assign_waiting(w, now)
    return True


def _return_chats(w: Writer, agent_id: int, now: datetime, line: str, s: TeamSettings | None = None) -> int:
    """When the team says so, an agent going Offline hands their open chats
    back to the queue (oldest waiting first, like any other); ``line`` says
    why in each chat (``i18n.later``)."""
    s = s or _settings_w(w)
    if not s.offline_returns:
        return 0
    # Only the chats this very statement returned get an event: another
    # replica may return or take some of them at the same moment.
    chats = w.all("UPDATE chats SET assignee_id = NULL, status = 'Open', last_agent_id = ?"
                  " WHERE assignee_id = ? AND status = 'Answered' RETURNING id", [agent_id, agent_id])
    w.chats_changed(chat_id for (chat_id,) in chats)
    for (chat_id,) in sorted(chats):
        record(w, chat_id, None, "assign", f"{agent_id} -> None (went offline)", now, line)
    return len(chats)


def _timed_out(w: Writer, agent_id: int):
    """The team worker saw every tab of the agent stop polling."""
    if _presence_w(w).present(w, agent_id):
        return 0  # back meanwhile
    name = w.agents().get(agent_id, {}).get("display_name", f"agent {agent_id}")
    return _return_chats(w, agent_id, utcnow(),
                         later._("{name} stopped responding (Offline): chat back to the queue", name=name))


# ---- auto-assignment ---------------------------------------------------------------
class Assigner:
    """One decision pass on the writer: the agents who can take chats now
    (Online, present, active, acting, under capacity) and their loads, kept up
    to date as chats are handed out in this pass."""

    def __init__(self, w: Writer, s: TeamSettings):
        self.s = s
        roster = w.all("SELECT id, role, last_assigned_at FROM agents WHERE active AND availability = 'Online'"
                       " AND seen_at >= ?", [_presence_w(w).since()])
        self.last = {i: at or _EPOCH for i, role, at in roster if can_act(role)}
        self.load = dict.fromkeys(self.last, 0)
        if self.last:
            # Open chats = assigned and not resolved; C3 makes that status Answered.
            self.load.update(w.all("SELECT assignee_id, count(*) FROM chats WHERE status = 'Answered'"
                                   " AND assignee_id = ANY(?::INTEGER[]) GROUP BY assignee_id", [sorted(self.last)]))

    def room(self) -> int:
        """How many more chats this pass can hand out."""
        return sum(max(0, self.s.capacity - n) for n in self.load.values())

    def pick(self, previous: int | None = None) -> int | None:
        """The agent for the next chat, or None when nobody can take it. A
        returning customer's previous agent first, if Online and under capacity."""
        if previous in self.load and self.load[previous] < self.s.capacity:
            return previous
        free = [a for a, n in self.load.items() if n < self.s.capacity]
        if not free:
            return None
        if self.s.auto_assign == "least_busy":
            return min(free, key=lambda a: (self.load[a], self.last[a], a))
        return min(free, key=lambda a: (self.last[a], a))  # round robin: whose turn came longest ago

    def took(self, agent_id: int, at: datetime) -> None:
        self.load[agent_id] += 1
        self.last[agent_id] = at


def assign_waiting(w: Writer, now: datetime, s: TeamSettings | None = None, limit: int | None = None) -> int:
    """Hand waiting chats, oldest waiting first, to whoever can take them.
    Returns how many were assigned. Cheap when auto-assignment is off or
    nobody is Online: no chat is read."""
    s = s or _settings_w(w)
    if not s.auto:
        return 0
    # Replicas take turns: each pass counts the loads the last one left, so
    # two passes at once never fill an agent past capacity (A5).
    w.serialize("auto-assignment")
    team = Assigner(w, s)
    room = team.room()
    if room == 0:
        return 0
    # Longest waiting first, as the Monitor counts it.
    join, since = WAITING_SINCE
    waiting = w.all(
        f"SELECT c.id, c.last_agent_id FROM chats c {join} WHERE {WAITING.format(c='c.')}"
        f" ORDER BY {since} NULLS LAST, c.id LIMIT ?", [min(room, limit or room)])
    given: list[tuple[int, int, datetime]] = []
    for i, (chat_id, previous) in enumerate(waiting):
        agent_id = team.pick(previous)
        if agent_id is None:
            break
        at = now + timedelta(microseconds=i)  # keeps the turn order within one pass
        team.took(agent_id, at)
        given.append((chat_id, agent_id, at))
    return _give(w, given, now) if given else 0


def _give(w: Writer, given: list[tuple[int, int, datetime]], now: datetime) -> int:
    # The WAITING guard again, and only what it let through gets an event:
    # a person at another replica may have taken a chat meanwhile (A5).
    taken = dict(w.all(
        "UPDATE chats SET assignee_id = b.agent, status = 'Answered'"
        " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::INTEGER[]) AS agent) b"
        " WHERE chats.id = b.id AND chats.status = 'Open' AND chats.assignee_id IS NULL"
        " RETURNING chats.id, chats.assignee_id",
        [[c for c, _, _ in given], [a for _, a, _ in given]], keeps_chat_states=True))
    w.chats_changed(taken)
    w.forget_chat_states(taken)  # only these: a customer's next message finds the others kept
    given = [g for g in given if g[0] in taken]
    if not given:
        return 0
    chat_ids = [c for c, _, _ in given]
    agent_ids = [a for _, a, _ in given]
    latest: dict[int, datetime] = {}
    for _chat, a, at in given:
        latest[a] = at
    w.execute("UPDATE agents SET last_assigned_at = b.at"
              " FROM (SELECT unnest(?::INTEGER[]) AS id, unnest(?::TIMESTAMPTZ[]) AS at) b"
              " WHERE agents.id = b.id", [list(latest), list(latest.values())])
    names = {a: w.agents()[a]["display_name"] for a in latest}
    event_ids = list(w.ids.take("events", len(given)))
    line_ids = list(w.ids.take("messages", len(given)))
    w.execute("INSERT INTO events SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), NULL, 'assign',"
              " unnest(?::VARCHAR[]), ?",
              [event_ids, chat_ids, [f"None -> {a} (auto)" for a in agent_ids], now])
    w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, status, sent_at,"
              " created_at) SELECT b.id, c.id, c.session_id, c.channel, 'activity', 'activity', b.body, 'received', ?, ?"
              " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::BIGINT[]) AS chat, unnest(?::VARCHAR[]) AS body) b"
              " JOIN chats c ON c.id = b.chat",
              [now, now, line_ids, chat_ids, [later._("{who} assigned the chat to {agent} (auto-assignment)", who=BOT,
                                                     agent=names[a]) for a in agent_ids]])
    return len(given)


def assign_waiting_now(store: Store) -> int:
    """One pass, from outside the writer (the team worker, tests)."""
    return store.write(lambda w: assign_waiting(w, utcnow()))


def tick(store: Store) -> dict:
    """One look by the team worker: tabs that stopped polling (their agent
    goes Offline; their chats back to the queue when the team says so), and
    waiting chats for whoever can take them: after someone came Online, or
    when anything was committed (a chat resolved, returned, reassigned).
    Idle it reads who is present (one small query) and the store's version."""
    mem = store.memory
    s = settings(store)
    came, gone, here = presence(store).drain(store)
    done = {"gone": sorted(gone), "returned": 0, "assigned": 0}
    if s.offline_returns:
        for agent_id in gone:
            done["returned"] += store.write(_timed_out, agent_id)
    if not s.auto or not here:
        return done
    version = store.version
    if came or gone or done["returned"] or version != mem.get("team_seen_version"):
        if store.one(f"SELECT count(*) FROM (SELECT 1 FROM chats WHERE {WAITING.format(c='')} LIMIT 1) AS waiting")[0]:
            done["assigned"] = assign_waiting_now(store)
        mem["team_seen_version"] = store.version  # our own commit is no news
    return done


# ---- what an agent may see (W3) ------------------------------------------------------
OWN_ONLY = N_("Agents see only their own chats and unassigned ones (a team setting).")  # raised with _()
ASSIGNED_ELSEWHERE = N_("This chat is assigned to another agent: agents see only their own chats and unassigned ones"
                        " (a team setting).")


def may_write_in(w: Writer, agent: dict, chat: dict) -> None:
    """W3 in every send (a reply, a file, a template, a new chat): with the
    setting on, an agent writes only in their own or an unassigned chat,
    whichever page or number led there."""
    if agent["role"] == "agent" and chat["assignee_id"] not in (None, agent["id"]) and _settings_w(w).agents_see_own:
        raise NotAllowed(_(ASSIGNED_ELSEWHERE))


def sees_only_own(store: Store, agent_id: int | None) -> bool:
    """Agents (not supervisors, admins or analysts) see only their own and
    unassigned chats when the team says so."""
    if agent_id is None or not settings(store).agents_see_own:
        return False
    found = store.one("SELECT role FROM agents WHERE id = ?", [agent_id])
    return found is not None and found[0] == "agent"


def team_overview(store: Store) -> list[dict]:
    """The Agents page: each agent's availability and open chats."""
    now_state = availability(store)
    loads = dict(store.all("SELECT assignee_id, count(*) FROM chats WHERE status = 'Answered'"
                           " AND assignee_id IS NOT NULL GROUP BY assignee_id"))
    rows = store.dicts("SELECT id, username, display_name, role, active, availability AS chosen, last_assigned_at"
                       " FROM agents ORDER BY display_name")
    for r in rows:
        r["availability"] = now_state.get(r["id"], "Offline")
        r["open_chats"] = loads.get(r["id"], 0)
    return rows

