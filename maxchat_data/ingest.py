"""Receiving customer messages: one path for webhooks, long polling, the
customer simulator, the demo and the benchmarks.

Every queued inbound message is merged by the writer into one batch and
written with a handful of set-based statements (a statement costs about as
much for 300 rows as for one). The provider message id is the idempotency
key: the same delivery twice stores one message."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .common import CHANNELS, preview, search_key
from .errors import ValidationError
from .media import Attachment
from .store import Store, Writer, batched, utcnow

KINDS = ("text", "image", "video", "document", "unsupported")
UNSUPPORTED = "Unsupported message: open it in the customer's app."


@dataclass
class Inbound:
    channel: str
    channel_user_id: str
    provider_message_id: str
    contact_name: str = ""
    kind: str = "text"
    body: str | None = None
    caption: str | None = None
    attachment: Attachment | None = None
    sent_at: datetime | None = None      # provider timestamp; now when missing
    phone: str | None = None

    def check(self) -> None:
        if self.channel not in CHANNELS:
            raise ValidationError(f"Unknown channel {self.channel!r}.")
        if not self.channel_user_id or not self.provider_message_id:
            raise ValidationError("An inbound message needs a sender id and a message id.")
        if self.kind not in KINDS:
            raise ValidationError(f"Unknown message kind {self.kind!r}.")
        if self.kind == "unsupported" and not self.body:
            self.body = UNSUPPORTED


@dataclass(frozen=True)
class Received:
    message_id: int
    chat_id: int
    duplicate: bool = False


def receive(store: Store, message: Inbound) -> Received:
    """Store one inbound message; returns after it is committed."""
    message.check()
    return store.write(_receive_batch, message)


def receive_async(store: Store, message: Inbound):
    """The same, as a future: a webhook with many messages queues them all
    and waits once, so they share one commit."""
    message.check()
    return store.submit(_receive_batch, message)


@dataclass
class _ChatState:
    id: int
    contact_id: int
    status: str
    archived: bool
    blocked: bool
    session_id: int | None
    new: bool = False
    reopened: bool = False
    unarchived: bool = False
    messages: list = field(default_factory=list)
    row: tuple | None = None  # a new chat's (channel, user id, name, search key): inserted with its final state


@batched
def _receive_batch(w: Writer, items: list[Inbound], careful: bool) -> list[Received]:
    now = utcnow()
    results: list[Received | None] = [None] * len(items)
    first_of: dict[tuple[str, str], int] = {}
    todo: list[int] = []
    for i, m in enumerate(items):
        key = (m.channel, m.provider_message_id)
        if key in first_of:
            continue  # resolved after the first copy is stored
        first_of[key] = i
        if careful:
            found = w.one("SELECT id, chat_id FROM messages WHERE channel = ? AND provider_message_id = ?", list(key))
            if found:
                results[i] = Received(found[0], found[1], True)
                continue
        todo.append(i)

    chats = _chats_for(w, [items[i] for i in todo], now)
    rows = {k: [] for k in ("id", "chat", "session", "channel", "kind", "body", "caption", "att", "pmid", "notify", "sent_at")}
    for i in todo:
        m = items[i]
        chat = chats[(m.channel, m.channel_user_id)]
        message_id = w.ids.next("messages")
        att_id = None
        if m.attachment is not None:
            a = m.attachment
            att_id = w.ids.next("attachments")
            w.execute("INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      [att_id, a.sha256, a.filename, a.mime, a.kind, a.size, a.path, now])
        sent_at = m.sent_at or now
        chat.messages.append((sent_at, m))
        for k, v in zip(rows, (message_id, chat.id, chat.session_id, m.channel, m.kind, m.body, m.caption,
                               att_id, m.provider_message_id, not chat.blocked, sent_at)):
            rows[k].append(v)
        results[i] = Received(message_id, chat.id)
    if todo:
        # A duplicate provider id raises here; the writer then retries the
        # batch with careful=True, which looks every id up first.
        w.execute(
            "INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, caption, attachment_id,"
            " provider_message_id, status, notify, sent_at, created_at)"
            " SELECT unnest(?), unnest(?), unnest(?), unnest(?), 'in', unnest(?), unnest(?), unnest(?), unnest(?),"
            " unnest(?), 'received', unnest(?), unnest(?), ?",
            list(rows.values()) + [now])
        _update_chats(w, [c for c in chats.values() if c.messages], now)
    for i, m in enumerate(items):
        if results[i] is None:
            first = results[first_of[(m.channel, m.provider_message_id)]]
            results[i] = Received(first.message_id, first.chat_id, True)
    return results


def _chats_for(w: Writer, messages: list[Inbound], now: datetime) -> dict[tuple[str, str], _ChatState]:
    """Find or create the chat of every sender (C1), opening a session where
    the chat is new or Resolved (C2, C4)."""
    chats: dict[tuple[str, str], _ChatState] = {}
    keys = w.chat_keys()
    known = {keys[(m.channel, m.channel_user_id)] for m in messages if (m.channel, m.channel_user_id) in keys}
    if known:
        for cid, channel, uid, contact_id, status, archived, blocked, session_id in w.all(
                "SELECT id, channel, channel_user_id, contact_id, status, archived, blocked, session_id FROM chats"
                " WHERE id IN (SELECT unnest(?))", [sorted(known)]):
            chats[(channel, uid)] = _ChatState(cid, contact_id, status, archived, blocked, session_id)

    new_contacts = {k: [] for k in ("id", "name", "phone")}
    for m in messages:
        key = (m.channel, m.channel_user_id)
        if key in chats:
            continue
        name = (m.contact_name or "").strip() or m.phone or m.channel_user_id
        contact_id, chat_id = w.ids.next("contacts"), w.ids.next("chats")
        for k, v in zip(new_contacts, (contact_id, name, m.phone)):
            new_contacts[k].append(v)
        # The chats row itself is written by _update_chats, in its final state.
        chats[key] = _ChatState(chat_id, contact_id, "Open", False, False, None, new=True,
                                row=(m.channel, m.channel_user_id, name, search_key(name)))
        w.add_chat_key(key, chat_id)
    if new_contacts["id"]:
        w.execute("INSERT INTO contacts (id, name, phone, created_at) SELECT unnest(?), unnest(?), unnest(?), ?",
                  list(new_contacts.values()) + [now])

    sessions = {k: [] for k in ("id", "chat")}
    for chat in chats.values():
        if chat.blocked:
            continue  # P6: stored, but no reopening or un-archiving
        if chat.new or chat.status == "Resolved" or chat.session_id is None:
            chat.reopened = not chat.new
            chat.session_id = w.ids.next("sessions")
            chat.status = "Open"
            sessions["id"].append(chat.session_id)
            sessions["chat"].append(chat.id)
        if chat.archived:
            chat.archived, chat.unarchived = False, True
    if sessions["id"]:
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at)"
                  " SELECT unnest(?), unnest(?), 'User initiate', ?", list(sessions.values()) + [now])
    return chats


def _update_chats(w: Writer, chats: list[_ChatState], now: datetime) -> None:
    cols = {k: [] for k in ("id", "last_at", "preview", "unread")}
    changed = {k: [] for k in ("id", "status", "reopened", "archived", "session")}
    fresh = {k: [] for k in ("id", "contact", "channel", "uid", "name", "search", "last_at", "preview", "unread", "session")}
    events = {k: [] for k in ("id", "chat", "action", "details")}
    lines = {k: [] for k in ("id", "chat", "body")}
    for chat in chats:
        chat.messages.sort(key=lambda pair: pair[0])
        last_at, last = chat.messages[-1]
        text = last.body if last.kind in ("text", "unsupported") else (last.caption or f"[{last.kind}]")
        if chat.row is not None:
            # New chat: one INSERT with its final state instead of INSERT + UPDATE.
            for k, v in zip(fresh, (chat.id, chat.contact_id, *chat.row, last_at, preview(text), len(chat.messages),
                                    chat.session_id)):
                fresh[k].append(v)
        else:
            for k, v in zip(cols, (chat.id, last_at, preview(text), 0 if chat.blocked else len(chat.messages))):
                cols[k].append(v)
            if chat.reopened or chat.unarchived:
                for k, v in zip(changed, (chat.id, chat.status, chat.reopened, chat.archived, chat.session_id)):
                    changed[k].append(v)
        for happened, action, line in ((chat.new, "chat_created", "New chat from the customer"),
                                       (chat.reopened, "reopened", "Customer wrote again: new session, chat Open"),
                                       (chat.unarchived, "unarchived", "Customer wrote: chat moved out of Archived")):
            if happened:
                events["id"].append(w.ids.next("events"))
                events["chat"].append(chat.id)
                events["action"].append(action)
                events["details"].append(line)
                if action != "chat_created":
                    lines["id"].append(w.ids.next("messages"))
                    lines["chat"].append(chat.id)
                    lines["body"].append(line)
    if fresh["id"]:
        w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
                  " last_message_at, last_preview, last_direction, last_inbound_at, unread, session_id, created_at)"
                  " SELECT unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), 'Open',"
                  " unnest(?), unnest(?), 'in', unnest(?), unnest(?), unnest(?), ?",
                  [fresh[k] for k in ("id", "contact", "channel", "uid", "name", "search", "last_at", "preview",
                                      "last_at", "unread", "session")] + [now])
    # Blocked chats keep their status; the window is timed only by messages a
    # reply could answer, so they update last_inbound_at like any other.
    # Two statements, because an UPDATE costs per column it sets: every chat
    # gets the five list columns, only reopened / un-archived ones the rest.
    if cols["id"]:
        w.execute(
            "UPDATE chats SET"
            " last_message_at = greatest(coalesce(chats.last_message_at, b.last_at), b.last_at),"
            " last_preview = CASE WHEN chats.last_message_at IS NULL OR b.last_at >= chats.last_message_at"
            "   THEN b.preview ELSE chats.last_preview END,"
            " last_direction = 'in',"
            " last_inbound_at = greatest(coalesce(chats.last_inbound_at, b.last_at), b.last_at),"
            " unread = chats.unread + b.unread"
            " FROM (SELECT unnest(?) AS id, unnest(?) AS last_at, unnest(?) AS preview, unnest(?) AS unread) b"
            " WHERE chats.id = b.id",
            list(cols.values()))
    if changed["id"]:
        w.execute(
            "UPDATE chats SET status = b.status, assignee_id = CASE WHEN b.reopened THEN NULL ELSE chats.assignee_id END,"
            " archived = b.archived, session_id = b.session"
            " FROM (SELECT unnest(?) AS id, unnest(?) AS status, unnest(?) AS reopened, unnest(?) AS archived,"
            "       unnest(?) AS session) b WHERE chats.id = b.id",
            list(changed.values()))
    if events["id"]:
        w.execute("INSERT INTO events SELECT unnest(?), unnest(?), NULL, unnest(?), unnest(?), ?",
                  list(events.values()) + [now])
    if lines["id"]:
        w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, status, sent_at, created_at)"
                  " SELECT b.id, c.id, c.session_id, c.channel, 'activity', 'activity', b.body, 'received', ?, ?"
                  " FROM (SELECT unnest(?) AS id, unnest(?) AS chat, unnest(?) AS body) b JOIN chats c ON c.id = b.chat",
                  [now, now] + list(lines.values()))


# ---- delivery statuses (ticks) ---------------------------------------------
_TICK_ORDER = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True)
class DeliveryStatus:
    channel: str
    provider_message_id: str
    status: str               # sent | delivered | read | failed
    error: str | None = None


def record_status_async(store: Store, update: DeliveryStatus):
    """Move an outbound message's ticks forward (never back: a late 'sent'
    after 'read' changes nothing); 'failed' always wins. The future's result
    is True if a message matched."""
    if update.status not in ("sent", "delivered", "read", "failed"):
        raise ValidationError(f"Unknown delivery status {update.status!r}.")
    return store.submit(_status_batch, update)


@batched
def _status_batch(w: Writer, updates: list[DeliveryStatus], careful: bool) -> list[bool]:
    out = []
    for u in updates:
        found = w.one("SELECT id, status FROM messages WHERE channel = ? AND provider_message_id = ? AND direction = 'out'",
                      [u.channel, u.provider_message_id])
        if found is None:
            out.append(False)
            continue
        message_id, current = found
        if u.status == "failed":
            w.execute("UPDATE messages SET status = 'failed', error = ? WHERE id = ?", [u.error or "Not delivered", message_id])
        elif current != "failed" and _TICK_ORDER[u.status] > _TICK_ORDER.get(current, 0):
            w.execute("UPDATE messages SET status = ? WHERE id = ?", [u.status, message_id])
        out.append(True)
    return out
