"""Small pieces every action shares: reading a row on the writer, recording
an event with its activity line (C6), keeping a chat's status consistent."""
from __future__ import annotations

import unicodedata
from datetime import datetime

from .errors import NotAllowed, NotFound
from .roles import ANALYST_REFUSAL, can_act
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


def message_preview(kind: str, body: str | None, caption: str | None) -> str:
    """A message as the chat list and a notification show it: its text, else
    a file's caption, else its kind ("[image]")."""
    return preview(body if kind in ("text", "template", "unsupported") else caption or f"[{kind}]")


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


def chat_row(w: Writer, chat_id: int) -> dict:
    chat = row(w, "SELECT * FROM chats WHERE id = ?", [chat_id])
    if chat is None:
        raise NotFound(f"Chat {chat_id} does not exist.")
    return chat


def agent_row(w: Writer, agent_id: int, *, must_be_active: bool = True, acting: bool = True) -> dict:
    """An agent who may act on chats (or, with ``acting=False``, any agent:
    for their own preferences). Analysts read chats and act on none (U4)."""
    agent = w.agents().get(agent_id)
    if agent is None:
        raise NotFound(f"Agent {agent_id} does not exist.")
    if must_be_active and not agent["active"]:
        raise NotAllowed(f"{agent['display_name']} is deactivated.")
    if acting and not can_act(agent["role"]):
        raise NotAllowed(f"{agent['display_name']} is an analyst. {ANALYST_REFUSAL}")
    return agent


def check_actor(w: Writer, actor_id: int | None) -> None:
    """The one check of who acts, first thing in every chat action: the BOT
    (None) or an active agent whose role acts on chats."""
    if actor_id is not None:
        agent_row(w, actor_id)


def actor_name(w: Writer, actor_id: int | None) -> str:
    if actor_id is None:
        return BOT
    found = w.agents().get(actor_id)
    return found["display_name"] if found else f"agent {actor_id}"


def record(w: Writer, chat_id: int | None, actor_id: int | None, action: str, details: str,
           now: datetime, line: str | None = None, chat: dict | None = None) -> None:
    """One event (who, what, when); with ``line`` also the activity line the
    thread shows in place (C6). Pass the chat row when at hand: it saves a read."""
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

