"""What a channel sends in, stored: one webhook's writes queued together
(``queue_parsed``), and the customer's messages and what they do to them
(reactions, edits, deletions). Delivery ticks are stored by ``ticks``, a
template's review verdict by ``template_submission``; the files and profile
names a webhook only points at are fetched later (``fetching``). One path
for webhooks, long polling, the customer simulator, the demo and the
benchmarks.

Every queued inbound message is merged by the writer into one batch and
written with a handful of set-based statements (a statement costs about as
much for 300 rows as for one). The provider message id is the idempotency
key: the same delivery twice stores one message."""
from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from . import team
from .common import CHANNELS, contact_name, message_by_provider_id, message_preview, search_key
from .errors import ValidationError
from .i18n import english, later
from .media import Attachment, insert_attachment
from .store import Columns, Store, Writer, batched, ids_in, utcnow
from .template_submission import TemplateUpdate, webhook_verdict
from .ticks import DeliveryStatus, Watermark, record_status_async, watermark

log = logging.getLogger(__name__)

KINDS = ("text", "image", "video", "document", "audio", "sticker", "location", "contact", "unsupported")
UNSUPPORTED = "The customer sent something this inbox cannot show: open it in the customer's app."


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
    details: dict | None = None          # location, contacts, audio duration, sticker emoji (see common.details_of)

    def check(self) -> None:
        if self.channel not in CHANNELS:
            raise ValidationError(f"Unknown channel {self.channel!r}.")
        if not self.channel_user_id or not self.provider_message_id:
            raise ValidationError("An inbound message needs a sender id and a message id.")
        if self.kind not in KINDS:
            raise ValidationError(f"Unknown message kind {self.kind!r}.")
        if self.kind == "unsupported" and not self.body:
            self.body = UNSUPPORTED
        for name in ("body", "caption", "contact_name", "phone"):
            setattr(self, name, _text(getattr(self, name)))


def _text(value) -> str | None:
    """Text a webhook gave in some other JSON shape is kept as what it was,
    as text (never refused: nothing acknowledged is lost)."""
    return value if value is None or isinstance(value, str) else str(value)


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


@dataclass(frozen=True)
class MediaRef:
    """An inbound file still at the provider, fetched after the webhook."""
    channel: str
    provider_message_id: str
    ref: str
    filename: str | None = None
    mime: str | None = None

    def __post_init__(self):
        # A webhook may put anything here: a name or type that is not text is none.
        for name in ("filename", "mime"):
            if not isinstance(getattr(self, name), str):
                object.__setattr__(self, name, None)
        object.__setattr__(self, "ref", _text(self.ref))


@dataclass(frozen=True)
class Change:
    """Something the customer did to a message already sent: a reaction
    (``emoji`` None takes it back), an edit (the new ``body`` / ``caption``)
    or a deletion. ``change_id`` is the provider's id of the change itself,
    so a repeated webhook changes nothing twice. ``sender`` is the customer
    who did it (the chat's channel user id): a change lands only in their
    own chat."""
    channel: str
    target: str                # provider message id of the message changed
    what: str                  # reaction | edited | deleted
    change_id: str
    at: datetime | None = None
    emoji: str | None = None
    body: str | None = None
    caption: str | None = None
    sender: str = field(kw_only=True)


@dataclass
class Parsed:
    messages: list[Inbound] = field(default_factory=list)
    media: list[MediaRef] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)
    watermarks: list[Watermark] = field(default_factory=list)
    templates: list[TemplateUpdate] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)  # (channel, user id) to look up
    changes: list[Change] = field(default_factory=list)

    def __len__(self) -> int:
        return (len(self.messages) + len(self.statuses) + len(self.watermarks)
                + len(self.templates) + len(self.changes))


@dataclass
class _ChatState:
    id: int
    contact_id: int | None  # a new chat's (an existing chat's is not read)
    status: str
    archived: bool
    blocked: bool
    session_id: int | None
    new: bool = False
    reopened: bool = False
    unarchived: bool = False
    messages: list = field(default_factory=list)  # (sent_at, Inbound) of this batch
    row: tuple | None = None  # a new chat's (channel, user id, name, search key, phone)

    def last(self) -> tuple[datetime, str]:
        """When the batch's latest message was sent, and its preview."""
        self.messages.sort(key=lambda pair: pair[0])
        last_at, m = self.messages[-1]
        return last_at, message_preview(m.kind, m.body, m.caption, m.details)


# What a message needs of its chat, no more: a chat's key and id are known
# before it is read, and on DuckDB each column read costs (its two strings
# were a third of the statement, 100k chats).
_CHAT_STATE = "SELECT id, status, archived, blocked, session_id FROM chats"


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
        known = w.recent_message(key)  # a repeat delivery: answered as stored, nothing changes
        if known:
            results[i] = Received(*known, True)
            continue
        todo.append(i)
    if careful:  # the fast attempt failed (on DuckDB: a repeat): look the rest up first, all at once
        found = _stored(w, [(items[i].channel, items[i].provider_message_id) for i in todo])
        for i in todo:
            if (hit := found.get((items[i].channel, items[i].provider_message_id))):
                results[i] = Received(*hit, True)
        todo = [i for i in todo if results[i] is None]

    chats = _chats_for(w, [items[i] for i in todo], now)
    ids = list(w.ids.take("messages", len(todo)))
    rows = Columns("id", "chat", "session", "channel", "kind", "body", "caption", "attachment", "pmid", "notify",
                   "sent_at", "details")
    attachments: dict[int, int] = {}
    for message_id, i in zip(ids, todo):
        m = items[i]
        chat = chats[(m.channel, m.channel_user_id)]
        if m.attachment is not None:
            attachments[message_id] = insert_attachment(w, m.attachment, now)
        rows.add(id=message_id, chat=chat.id, session=chat.session_id, channel=m.channel, kind=m.kind, body=m.body,
                 caption=m.caption, pmid=m.provider_message_id, sent_at=m.sent_at or now,
                 attachment=attachments.get(message_id),
                 details=json.dumps(m.details, ensure_ascii=False) if m.details else None,
                 notify=not chat.blocked)  # P6: a blocked contact's message is kept but raises no notification
        results[i] = Received(message_id, chat.id)
    stored: set[int] = set()
    if todo:
        # The provider message id is the idempotency key: one already stored
        # is skipped (PostgreSQL: also the same one at another replica at
        # once) and changes nothing below, or (DuckDB) raises and the writer
        # retries the batch with careful=True.
        stored = {i for (i,) in w.all(
            "INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, caption, attachment_id,"
            " provider_message_id, status, notify, sent_at, details, created_at)"
            " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), 'in',"
            " unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]),"
            " unnest(?::VARCHAR[]), 'received', unnest(?::BOOLEAN[]), unnest(?::TIMESTAMPTZ[]), unnest(?::VARCHAR[]), ?"
            f"{w.engine.skip_existing('channel, provider_message_id')} RETURNING id",
            rows.lists() + [now])}
    repeats = [(message_id, i) for message_id, i in zip(ids, todo) if message_id not in stored]
    for message_id, i in zip(ids, todo):
        if message_id in stored:
            w.remember_message((items[i].channel, items[i].provider_message_id), message_id, results[i].chat_id)
    found = _stored(w, [(items[i].channel, items[i].provider_message_id) for _, i in repeats])
    for _, i in repeats:
        results[i] = Received(*found[(items[i].channel, items[i].provider_message_id)], True)
    if repeats:
        gone = {id(items[i]) for _, i in repeats}
        for chat in chats.values():
            chat.messages = [(t, m) for t, m in chat.messages if id(m) not in gone]
        unused = [attachments[message_id] for message_id, _ in repeats if message_id in attachments]
        if unused:
            w.execute("DELETE FROM attachments WHERE id IN (SELECT unnest(?::BIGINT[]))", [unused])
    changed = [c for c in chats.values() if c.messages]
    if changed:
        w.keep_chat_states({c.id: (c.status, c.archived, c.blocked, c.session_id) for c in changed})
        _update_chats(w, changed, now)
        if any(c.new or c.reopened for c in changed):
            # In this same transaction: nobody sees the new chat unassigned
            # and grabs it while the auto-assignment is on its way (A5).
            team.assign_waiting(w, now)
    for i, m in enumerate(items):
        if results[i] is None:
            first = results[first_of[(m.channel, m.provider_message_id)]]
            results[i] = Received(first.message_id, first.chat_id, True)
    return results


def _stored(w: Writer, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(message id, chat id) of each (channel, provider message id) already
    stored: one statement for all (on DuckDB one scan, whatever their number)."""
    if not keys:
        return {}
    return {(c, p): (i, chat) for c, p, i, chat in w.all(
        "SELECT channel, provider_message_id, id, chat_id FROM messages WHERE (channel, provider_message_id) IN"
        " (SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))", [[c for c, _ in keys], [p for _, p in keys]])}


def _locked_chats(w: Writer, keys: list[tuple[str, str]]) -> dict[tuple[str, str], _ChatState]:
    """The chats of these senders as they are now: as the writer keeps them
    (DuckDB, a customer writing again), else read; on PostgreSQL read and
    locked until commit, so a replica writing to the same chat waits for
    this transaction and then sees what it did."""
    key_of = {i: k for k, i in w.chat_ids(keys).items()}
    if not key_of:
        return {}
    known = w.chat_states(key_of)
    found = {key_of[cid]: _ChatState(cid, None, *state) for cid, state in known.items()}
    unknown = sorted(key_of.keys() - known.keys())
    if unknown:
        where, params = ids_in(unknown)
        found.update({key_of[cid]: _ChatState(cid, None, status, archived, blocked, session_id)
                      for cid, status, archived, blocked, session_id in w.all(
                          f"{_CHAT_STATE} WHERE id {where} ORDER BY id{w.engine.lock()}", params)})
    return found


def _chats_for(w: Writer, messages: list[Inbound], now: datetime) -> dict[tuple[str, str], _ChatState]:
    """Find or create the chat of every sender (C1), opening a session where
    the chat is new or Resolved (C2, C4). Each message is added to its chat's
    ``messages``. A new chat is inserted here in its final state; its session
    row, like a reopened chat's, is written by ``_update_chats``."""
    keys = list(dict.fromkeys((m.channel, m.channel_user_id) for m in messages))
    chats = _locked_chats(w, keys)
    first = {}
    for m in messages:
        first.setdefault((m.channel, m.channel_user_id), m)
    missing = [k for k in keys if k not in chats]
    if missing:
        chat_ids, contact_ids = w.ids.take("chats", len(missing)), w.ids.take("contacts", len(missing))
        session_ids = w.ids.take("sessions", len(missing))
        for key, chat_id, contact_id, session_id in zip(missing, chat_ids, contact_ids, session_ids):
            m = first[key]
            name = contact_name(m.contact_name) or contact_name(m.phone or m.channel_user_id)
            chats[key] = _ChatState(chat_id, contact_id, "Open", False, False, session_id, new=True,
                                    row=(m.channel, m.channel_user_id, name, search_key(name), m.phone))
    for m in messages:
        chats[(m.channel, m.channel_user_id)].messages.append((m.sent_at or now, m))
    if missing:
        lost = _create_chats(w, [chats[k] for k in missing], now)
        if lost:  # another replica made them a moment ago: write to its chats
            pending = {key: chats.pop(key).messages for key in lost}
            chats.update(_locked_chats(w, lost))
            for key, mine in pending.items():
                chats[key].messages = mine

    sessions = [c for c in chats.values() if not c.blocked and not c.new
                and (c.status == "Resolved" or c.session_id is None)]
    for chat, session_id in zip(sessions, w.ids.take("sessions", len(sessions)) if sessions else []):
        chat.reopened, chat.session_id, chat.status = True, session_id, "Open"
    for chat in chats.values():
        if chat.archived and not chat.blocked:  # P6: a blocked contact's chat stays where it is
            chat.archived, chat.unarchived = False, True
    return chats


def _create_chats(w: Writer, new: list[_ChatState], now: datetime) -> list[tuple[str, str]]:
    """Insert new chats (and their contacts) in their final state: one INSERT
    instead of INSERT + UPDATE. Returns the keys another process created
    first (PostgreSQL: two replicas got the customer's first message at once;
    the unique key makes ONE chat)."""
    rows = Columns("id", "contact", "channel", "uid", "name", "search", "last_at", "preview", "unread", "session")
    for chat in new:
        channel, uid, name, search, _ = chat.row
        last_at, shown = chat.last()
        rows.add(id=chat.id, contact=chat.contact_id, channel=channel, uid=uid, name=name, search=search,
                 last_at=last_at, preview=shown, unread=len(chat.messages), session=chat.session_id)
    made = {i for (i,) in w.all(
        "INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
        " last_message_at, last_preview, last_direction, last_inbound_at, unread, session_id, created_at)"
        " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
        " unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), 'Open', unnest(?::TIMESTAMPTZ[]), unnest(?::VARCHAR[]), 'in',"
        " unnest(?::TIMESTAMPTZ[]), unnest(?::INTEGER[]), unnest(?::BIGINT[]), ?"
        f"{w.engine.skip_existing('channel, channel_user_id')} RETURNING id",
        rows.lists("id", "contact", "channel", "uid", "name", "search", "last_at", "preview", "last_at", "unread",
                   "session") + [now])}
    w.chats_changed(made)
    contacts = Columns("id", "name", "phone")
    lost = []
    for chat in new:
        key = chat.row[:2]
        if chat.id in made:
            contacts.add(id=chat.contact_id, name=chat.row[2], phone=chat.row[4])
            w.add_chat_key(key, chat.id)
        else:
            lost.append(key)
    if contacts:
        w.execute("INSERT INTO contacts (id, name, phone, created_at)"
                  " SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?",
                  contacts.lists() + [now])
    return lost


def _update_chats(w: Writer, chats: list[_ChatState], now: datetime) -> None:
    """What this batch's stored messages change in their chats: sessions
    opened, the list columns, reopen / un-archive, and their events."""
    sessions = Columns("id", "chat")
    known = Columns("id", "last_at", "preview", "unread")
    changed = Columns("id", "status", "reopened", "archived", "session")
    events: list[tuple[int, str, str]] = []
    lines: list[tuple[int, str]] = []
    for chat in chats:
        if chat.new or chat.reopened:
            sessions.add(id=chat.session_id, chat=chat.id)
        if not chat.new:
            last_at, shown = chat.last()
            # A blocked contact's messages are not counted as unread (P6).
            known.add(id=chat.id, last_at=last_at, preview=shown, unread=0 if chat.blocked else len(chat.messages))
            if chat.reopened or chat.unarchived:
                changed.add(id=chat.id, status=chat.status, reopened=chat.reopened, archived=chat.archived,
                            session=chat.session_id)
        for happened, action, line in ((chat.new, "chat_created", _NEW_CHAT),
                                       (chat.reopened, "reopened", _REOPENED),
                                       (chat.unarchived, "unarchived", _UNARCHIVED)):
            if happened:
                events.append((chat.id, action, english(line)))
                if action != "chat_created":  # a new chat needs no activity line: its first message says it
                    lines.append((chat.id, line))
    if sessions:
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at)"
                  " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), 'User initiate', ?", sessions.lists() + [now])
    # Blocked chats keep their status; the window is timed only by messages a
    # reply could answer, so they update last_inbound_at like any other.
    # Two statements, because an UPDATE costs per column it sets: every chat
    # gets the five list columns, only reopened / un-archived ones the rest.
    if known:
        w.execute(
            "UPDATE chats SET"
            " last_message_at = greatest(coalesce(chats.last_message_at, b.last_at), b.last_at),"
            " last_preview = CASE WHEN chats.last_message_at IS NULL OR b.last_at >= chats.last_message_at"
            "   THEN b.preview ELSE chats.last_preview END,"
            " last_direction = 'in',"
            " last_inbound_at = greatest(coalesce(chats.last_inbound_at, b.last_at), b.last_at),"
            " unread = chats.unread + b.unread"
            " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::TIMESTAMPTZ[]) AS last_at,"
            "       unnest(?::VARCHAR[]) AS preview, unnest(?::INTEGER[]) AS unread) b"
            " WHERE chats.id = b.id",
            known.lists())
    if changed:
        w.execute(
            "UPDATE chats SET status = b.status, assignee_id = CASE WHEN b.reopened THEN NULL ELSE chats.assignee_id END,"
            " archived = b.archived, session_id = b.session"
            " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::VARCHAR[]) AS status, unnest(?::BOOLEAN[]) AS reopened,"
            "       unnest(?::BOOLEAN[]) AS archived, unnest(?::BIGINT[]) AS session) b WHERE chats.id = b.id",
            changed.lists(), keeps_chat_states=True)  # _receive_batch keeps the states it leaves
        w.chats_changed(changed.lists("id")[0])
    if events:
        w.execute("INSERT INTO events (id, chat_id, actor_id, action, details, created_at)"
                  " SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[]), NULL, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?",
                  [list(w.ids.take("events", len(events)))] + [list(col) for col in zip(*events)] + [now])
    if lines:
        w.execute("INSERT INTO messages (id, chat_id, session_id, channel, direction, kind, body, status, sent_at, created_at)"
                  " SELECT b.id, c.id, c.session_id, c.channel, 'activity', 'activity', b.body, 'received', ?, ?"
                  " FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::BIGINT[]) AS chat, unnest(?::VARCHAR[]) AS body) b"
                  " JOIN chats c ON c.id = b.chat",
                  [now, now, list(w.ids.take("messages", len(lines)))] + [list(col) for col in zip(*lines)])


# Activity lines of a customer's message (i18n.later: each reader's language).
_NEW_CHAT = later._("New chat from the customer")
_REOPENED = later._("Customer wrote again: new session, chat Open")
_UNARCHIVED = later._("Customer wrote: chat moved out of Archived")


# ---- one webhook at a time ---------------------------------------------------
def queue_parsed(store: Store, parsed: Parsed) -> list[Future]:
    """Queue every write of one webhook; the caller waits on all futures and
    answers 2xx only after they are done."""
    for m in parsed.messages:
        m.check()  # refuse the whole webhook before anything is queued
    futures = [receive_async(store, m) for m in parsed.messages]
    futures += [store.submit(_pending_media, ref) for ref in parsed.media]
    futures += [store.submit(_pending_profile, p) for p in parsed.profiles]
    futures += [record_status_async(store, s) for s in parsed.statuses]
    futures += [store.submit(watermark, w) for w in parsed.watermarks]
    futures += [store.submit(webhook_verdict, t) for t in parsed.templates]
    futures += [store.submit(_change, c) for c in parsed.changes]
    return futures


def store_parsed(store: Store, parsed: Parsed, timeout: float = 60) -> None:
    """The blocking form (long polling, the simulator)."""
    for f in queue_parsed(store, parsed):
        f.result(timeout)


def _dedupe(items, key):
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


@batched
def _pending_media(w: Writer, refs: list[MediaRef], careful: bool) -> list[None]:
    unique = _dedupe(refs, lambda r: (r.channel, r.provider_message_id))
    w.execute("INSERT INTO pending_media (channel, provider_message_id, ref, filename, mime, next_attempt_at)"
              " SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),"
              " unnest(?::VARCHAR[]), ? ON CONFLICT DO NOTHING",
              [[r.channel for r in unique], [r.provider_message_id for r in unique], [r.ref for r in unique],
               [r.filename for r in unique], [r.mime for r in unique], utcnow()])
    w.touch("fetch")
    return [None] * len(refs)


@batched
def _pending_profile(w: Writer, people: list[tuple[str, str]], careful: bool) -> list[None]:
    unique = _dedupe(people, lambda p: p)
    # done rows stay, so a known customer is never looked up again
    w.execute("INSERT INTO pending_profiles (channel, channel_user_id, next_attempt_at)"
              " SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ? ON CONFLICT DO NOTHING",
              [[p[0] for p in unique], [p[1] for p in unique], utcnow()])
    w.touch("fetch")
    return [None] * len(people)


def _change(w: Writer, c: Change) -> bool:
    """A reaction, edit or deletion lands on the message it is about, never
    as a message of its own: no new line in the thread, no notification, no
    reopened or un-archived chat. Unknown target: logged and skipped.

    Provider ids are not secrets (a customer sees the ids of every message
    in their own chat, and WhatsApp's are guessable), so a change is taken
    only in the sender's own chat: a reaction on any message there (theirs
    or ours), an edit or deletion on their own messages only. Anything else
    is logged and skipped."""
    found = message_by_provider_id(w, c.channel, c.target, "id, body, caption, reacted_at, edited_at, chat_id,"
                                   " sent_at, kind, details, direction")
    if found is None:
        log.info("%s %s for unknown message %s skipped", c.channel, c.what, c.target)
        return False
    message_id, body, caption, reacted_at, edited_at, chat_id, sent_at, kind, details, direction = found
    (owner,) = w.one("SELECT channel_user_id FROM chats WHERE id = ?", [chat_id])
    if owner != c.sender:
        log.warning("%s %s by %s of message %s in another customer's chat skipped", c.channel, c.what, c.sender,
                    c.target)
        return False
    if not (direction == "in" or (direction == "out" and c.what == "reaction")):
        log.warning("%s %s by %s of our message %s skipped (a customer edits and deletes only their own)",
                    c.channel, c.what, c.sender, c.target)
        return False
    at = c.at or utcnow()
    if c.what == "reaction":
        if reacted_at is not None and at < reacted_at:
            return True  # an older reaction delivered late
        w.execute("UPDATE messages SET reaction = ?, reacted_at = ? WHERE id = ?", [c.emoji or None, at, message_id])
        return True
    if w.one("SELECT 1 FROM message_changes WHERE channel = ? AND change_id = ?", [c.channel, c.change_id]):
        return True  # the same edit or deletion delivered again
    w.execute("INSERT INTO message_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
              [c.channel, c.change_id, message_id, c.what, body, caption, at])
    if c.what == "deleted":
        w.execute("UPDATE messages SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", [at, message_id])
        shown = "Deleted by the customer"
    elif edited_at is None or at >= edited_at:  # an older edit delivered late stays in the history only
        w.execute("UPDATE messages SET body = coalesce(?, body), caption = coalesce(?, caption), edited_at = ?"
                  " WHERE id = ?", [c.body, c.caption, at, message_id])
        shown = message_preview(kind, body if c.body is None else c.body,
                                caption if c.caption is None else c.caption, details)
    else:
        return True
    # The chat list shows the message as it is now when it is the chat's last one.
    w.execute("UPDATE chats SET last_preview = ? WHERE id = ? AND last_message_at = ?", [shown, chat_id, sent_at])
    return True
