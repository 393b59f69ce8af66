"""Small pieces every action shares: reading a row on the writer, recording
an event with its activity line (C6), keeping a chat's status consistent."""
from __future__ import annotations

import json
import unicodedata
from datetime import datetime

from .errors import NotFound
from .i18n import _
from . import roles
from .store import Writer

CHANNELS = ("whatsapp", "messenger", "telegram")
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "messenger": "Facebook Messenger", "telegram": "Telegram"}
STATUSES = ("Open", "Answered", "Resolved")
TABS = ("My Chat", "All", "Unassigned", "Archived")
BOT = "BOT"


def search_key(text: str) -> str:
    """Lower-case, accents stripped: 'Désirée' is found by 'desiree'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


NAME_LIMIT = 100  # characters of a contact's name


def preview(text: str | None, limit: int = 80) -> str:
    """One line of at most ``limit`` characters: white space collapsed, the
    rest cut with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def details_of(raw) -> dict:
    """A message's ``details`` (stored as JSON) as a dict; {} when absent or unreadable."""
    if isinstance(raw, dict):
        return raw
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def duration(seconds) -> str:
    """0:12, 3:05, 1:02:03."""
    try:
        seconds = max(0, int(seconds))
    except (TypeError, ValueError):
        return ""
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def map_link(details) -> str | None:
    """OpenStreetMap at a shared location, built only from the stored
    coordinates checked again as numbers on the globe (never from text the
    customer wrote); None when there are none."""
    d = details_of(details)
    try:
        lat, lon = float(d["lat"]), float(d["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
        return None
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


def message_preview(kind: str, body: str | None, caption: str | None, details=None) -> str:
    """A message as the chat list and a notification show it: its text, else
    a file's caption, else what it is ("🎤 Voice note (0:12)", "[image]")."""
    if kind in ("text", "template", "unsupported"):
        return preview(body)
    if caption:
        return preview(caption)
    d = details_of(details)
    if kind == "audio":
        length = duration(d["duration"]) if d.get("duration") is not None else ""
        what = "🎤 Voice note" if d.get("voice") else "🎵 Audio"
        return f"{what} ({length})" if length else what
    if kind == "sticker":
        return preview(f"Sticker {d.get('emoji') or ''}")
    if kind == "location":
        return preview(f"📍 Location{': ' + d['name'] if d.get('name') else ''}")
    if kind == "contact":
        people = d.get("contacts") or []
        first = people[0].get("name") if people and isinstance(people[0], dict) else None
        more = f" (+{len(people) - 1})" if len(people) > 1 else ""
        return preview(f"👤 Contact{': ' + first if first else ''}{more}")
    return f"[{kind}]"


def contact_name(name: str | None) -> str:
    """A name a channel sent (a profile can hold anything): one line of at
    most NAME_LIMIT characters."""
    return preview(name, NAME_LIMIT)


def row(w: Writer, sql: str, params: list) -> dict | None:
    rel = w.execute(sql, params)
    values = rel.fetchone()
    if values is None:
        return None
    return dict(zip([d[0] for d in rel.description], values))


def message_by_provider_id(w: Writer, channel: str, provider_message_id: str, columns: str = "id",
                           where: str = "TRUE") -> tuple | None:
    """``columns`` of the message the channel calls ``provider_message_id``,
    if it is stored (and matches ``where``). The id is looked up alone in a
    materialized CTE and the rest filtered after: DuckDB uses the index on it
    (migration 017) only when it is the scan's one filter (measured at 2M
    messages: 1 ms instead of a 5 ms scan of every message)."""
    return w.one(BY_PROVIDER_ID.format(columns=columns, where=where), [provider_message_id, channel])


BY_PROVIDER_ID = ("WITH m AS MATERIALIZED (SELECT * FROM messages WHERE provider_message_id = ?)"
                  " SELECT {columns} FROM m WHERE channel = ? AND {where}")


def chat_row(w: Writer, chat_id: int) -> dict:
    """The chat as this transaction acts on it: locked on PostgreSQL, so an
    action at another replica waits and then sees this one's outcome (A5)."""
    chat = row(w, "SELECT * FROM chats WHERE id = ?" + w.engine.lock(), [chat_id])
    if chat is None:
        raise NotFound(_("Chat {id} does not exist.").format(id=chat_id))
    return chat


def agent_row(w: Writer, agent_id: int) -> dict:
    """An agent a chat can be given to: active, in a role that acts on chats."""
    agent = w.agents().get(agent_id)
    if agent is None:
        raise NotFound(_("Agent {id} does not exist.").format(id=agent_id))
    return roles.check(agent, agent_id, "act")


def acting(w: Writer, actor_id: int, what: str = "act", refusal: str | None = None, *,
           deactivated_too: bool = False) -> dict:
    """The person an action is done for, looked up first thing inside its
    write (SPEC U4, see roles): a known, active account whose role may do
    ``what``; else NotAllowed, and the write changes nothing."""
    return roles.check(w.agents().get(actor_id), actor_id, what, refusal, deactivated_too=deactivated_too)


def person(store, actor_id: int, what: str, refusal: str | None = None) -> dict:
    """``acting`` for a call that writes nothing to the database (it reaches
    a provider, or is checked before a slow step and again in its write)."""
    found = store.dicts("SELECT id, username, display_name, role, active FROM agents WHERE id = ?", [actor_id])
    return roles.check(found[0] if found else None, actor_id, what, refusal)


def actor_name(w: Writer, actor_id: int | None) -> str:
    if actor_id is None:
        return BOT
    found = w.agents().get(actor_id)
    return found["display_name"] if found else f"agent {actor_id}"


def record(w: Writer, chat_id: int | None, actor_id: int | None, action: str, details: str,
           now: datetime, line: str | None = None, chat: dict | None = None) -> None:
    """One event (who, what, when); with ``line`` also the activity line the
    thread shows in place (C6), a sentence from ``i18n.later`` (each reader
    sees it in their language). Pass the chat row when at hand: it saves a read."""
    w.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
              [w.ids.next("events"), chat_id, actor_id, action, details, now])
    if line and chat_id is not None:
        if chat is None:
            chat = chat_row(w, chat_id)
        w.execute(
            "INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body,"
            " status, sent_at, created_at) VALUES (?, ?, ?, ?, 'activity', ?, 'activity', ?, 'received', ?, ?)",
            [w.ids.next("messages"), chat_id, chat["session_id"], chat["channel"], actor_id, line, now, now])


def status_for(assignee_id: int | None, resolved: bool) -> str:
    """C3 in one place: the status follows from assignment and resolution."""
    if resolved:
        return "Resolved"
    return "Answered" if assignee_id is not None else "Open"

