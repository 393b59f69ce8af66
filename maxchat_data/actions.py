"""What agents do to a chat: assign, resolve, archive, block, reply, send an
attachment or a template, retry a failed send, notes, contact details.

Each public function is one user action. It validates, then hands one write
function to the writer thread; the write function re-reads the chat there, so
two agents acting at once get one consistent outcome (A5). Domain errors are
raised before anything is written."""
from __future__ import annotations

import re

from . import emoji, facts, i18n, team
from .common import (NAME_LIMIT, acting, actor_name, agent_row, chat_row, message_preview, person, record,
                     search_key, status_for)
from .errors import NotAllowed, NotFound, ValidationError
from .i18n import _, later
from .media import check_upload, insert_attachment, save
from .store import Store, Writer, utcnow
from .templates import render, usable_template
from .window import closed_explanation, reply_window

TEXT_LIMIT = {"whatsapp": 4096, "messenger": 2000, "telegram": 4096}
CAPTION_LIMIT = 1024
NOTE_LIMIT = 2000
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


# ---- assign / resolve (A1-A5) ------------------------------------------------
def assign(store: Store, chat_id: int, agent_id: int | None, actor_id: int) -> str:
    """Assign (or reassign) the chat; ``agent_id=None`` hands it back to the
    BOT. Returns the new status."""
    return store.write(_assign, chat_id, agent_id, actor_id)


def _assign(w: Writer, chat_id, agent_id, actor_id):
    acting(w, actor_id)
    chat = chat_row(w, chat_id)
    now = utcnow()
    target = agent_row(w, agent_id)["display_name"] if agent_id is not None else "BOT"
    if chat["assignee_id"] == agent_id and chat["status"] != "Resolved":
        record(w, chat_id, actor_id, "assign", f"already assigned to {target}: no change", now)
        return chat["status"]
    status = status_for(agent_id, False)
    if chat["status"] == "Resolved":
        facts.set_resolution(w, chat["session_id"], None, None)
    w.execute("UPDATE chats SET assignee_id = ?, status = ? WHERE id = ?", [agent_id, status, chat_id])
    w.chats_changed([chat_id])
    who = actor_name(w, actor_id)
    if chat["assignee_id"] is None or chat["status"] == "Resolved":
        line = later._("{who} assigned the chat to {agent}", who=who, agent=target)
    else:
        line = later._("{who} reassigned the chat from {previous} to {agent}", who=who,
                       previous=actor_name(w, chat["assignee_id"]), agent=target)
    record(w, chat_id, actor_id, "assign", f"{chat['assignee_id']} -> {agent_id}", now, line, chat)
    return status


def resolve(store: Store, chat_id: int, actor_id: int) -> bool:
    """A3: Resolved and unassigned. False when it already was (the second of
    two agents resolving at once): that attempt is still an event (A5)."""
    return store.write(_resolve, chat_id, actor_id)


def _resolve(w: Writer, chat_id, actor_id):
    acting(w, actor_id)
    chat = chat_row(w, chat_id)
    now = utcnow()
    if chat["status"] == "Resolved":
        record(w, chat_id, actor_id, "resolve", "already resolved: no change", now)
        return False
    # The agent is remembered: a returning customer goes back to them (team.py).
    w.execute("UPDATE chats SET status = 'Resolved', assignee_id = NULL, last_agent_id = coalesce(assignee_id,"
              " last_agent_id) WHERE id = ?", [chat_id])
    w.chats_changed([chat_id])
    facts.set_resolution(w, chat["session_id"], now, actor_id)
    record(w, chat_id, actor_id, "resolve", f"assignee was {chat['assignee_id']}", now,
           later._("{who} resolved the chat", who=actor_name(w, actor_id)), chat)
    return True


# ---- archive / block (P4-P6) -------------------------------------------------
def archive(store: Store, chat_id: int, actor_id: int) -> bool:
    return store.write(_set_archived, chat_id, True, actor_id)


def unarchive(store: Store, chat_id: int, actor_id: int) -> bool:
    return store.write(_set_archived, chat_id, False, actor_id)


def _set_archived(w: Writer, chat_id, archived, actor_id):
    acting(w, actor_id)
    chat = chat_row(w, chat_id)
    if chat["archived"] == archived:
        return False
    w.execute("UPDATE chats SET archived = ? WHERE id = ?", [archived, chat_id])
    w.chats_changed([chat_id])
    verb = "archived" if archived else "unarchived"
    line = (later._("{who} archived the chat", who=actor_name(w, actor_id)) if archived
            else later._("{who} unarchived the chat", who=actor_name(w, actor_id)))
    record(w, chat_id, actor_id, verb, "", utcnow(), line, chat)
    return True


def block(store: Store, chat_id: int, actor_id: int) -> bool:
    return store.write(_set_blocked, chat_id, True, actor_id)


def unblock(store: Store, chat_id: int, actor_id: int) -> bool:
    return store.write(_set_blocked, chat_id, False, actor_id)


def _set_blocked(w: Writer, chat_id, blocked, actor_id):
    acting(w, actor_id)
    chat = chat_row(w, chat_id)
    if chat["blocked"] == blocked:
        return False
    w.execute("UPDATE contacts SET blocked = ? WHERE id = ?", [blocked, chat["contact_id"]])
    verb = "blocked" if blocked else "unblocked"
    line = (later._("{who} blocked the contact", who=actor_name(w, actor_id)) if blocked
            else later._("{who} unblocked the contact", who=actor_name(w, actor_id)))
    now = utcnow()
    for (other,) in w.all("SELECT id FROM chats WHERE contact_id = ?", [chat["contact_id"]]):
        w.execute("UPDATE chats SET blocked = ? WHERE id = ?", [blocked, other])
        record(w, other, actor_id, verb, "", now, line)
    return True


# ---- sending (C5, T2-T6) -------------------------------------------------------
def reply(store: Store, chat_id: int, agent_id: int, text: str) -> int:
    """T2: a free-form text reply, queued for the delivery worker. Emoji
    ``:shortcodes:`` become emoji. Returns the message id."""
    text = emoji.expand((text or "").strip())
    if not text:
        raise ValidationError(_("Type a message first."))
    return store.write(_send, chat_id, agent_id, {"kind": "text", "body": text})


def send_attachment(store: Store, chat_id: int, agent_id: int, filename: str, data: bytes,
                    caption: str = "") -> int:
    """T3: a document, image or video of at most 1 MB, typed from its bytes.
    A refused file leaves nothing behind."""
    caption = emoji.expand((caption or "").strip())
    if len(caption) > CAPTION_LIMIT:
        raise ValidationError(_("A caption can be at most {limit} characters.").format(limit=i18n.number(CAPTION_LIMIT)))
    person(store, agent_id, "act")  # before the file is written anywhere (and again in the write)
    chat = store.dicts("SELECT channel, blocked, last_inbound_at FROM chats WHERE id = ?", [chat_id])
    if not chat:
        raise NotFound(_("Chat {id} does not exist.").format(id=chat_id))
    _check_can_reply(chat[0])
    mime, kind = check_upload(filename, data)
    attachment = save(store.media_dir, filename, data, mime, kind)
    return store.write(_send, chat_id, agent_id, {"kind": kind, "caption": caption or None, "attachment": attachment})


def send_template(store: Store, chat_id: int, agent_id: int, template_id: int, values: list[str]) -> int:
    """T5: the only way to write when the window is closed. Opens a
    Business-initiated session (C2)."""
    return store.write(_send, chat_id, agent_id, {"kind": "template", "template_id": template_id,
                                                   "values": [str(v).strip() for v in values]})


def _check_can_reply(chat: dict) -> None:
    if chat["blocked"]:
        raise NotAllowed(_("This contact is blocked: unblock it to reply."))
    if not reply_window(chat["channel"], chat["last_inbound_at"]).open:
        raise NotAllowed(closed_explanation(chat["channel"]))


def _send(w: Writer, chat_id, agent_id, what):
    agent = acting(w, agent_id)
    chat = chat_row(w, chat_id)
    team.may_write_in(w, agent, chat)
    now = utcnow()
    kind = what["kind"]
    body = what.get("body")
    template_id = params = None
    if kind == "template":
        tpl = usable_template(w, template_id := what["template_id"], chat["channel"])
        params = what["values"]
        body = render(tpl["body"], tpl["variables"], params)
        if chat["blocked"]:
            raise NotAllowed(_("This contact is blocked: unblock it to send messages."))
    else:
        _check_can_reply(chat)
        if body is not None and len(body) > TEXT_LIMIT[chat["channel"]]:
            raise ValidationError(_("A message can be at most {limit} characters on this channel.")
                                  .format(limit=i18n.number(TEXT_LIMIT[chat["channel"]])))

    who = agent["display_name"]
    session_id = chat["session_id"]
    status = chat["status"]
    # A template always opens a new (business-initiated) conversation; a reply
    # on a resolved chat reopens it the same way.
    if kind == "template" or status == "Resolved" or session_id is None:
        session_id = w.ids.next("sessions")
        w.execute("INSERT INTO sessions (id, chat_id, initiated_by, started_at)"
                  " VALUES (?, ?, 'Business initiate', ?)", [session_id, chat_id, now])
        record(w, chat_id, agent_id, "session_started", "Business initiate", now,
               later._("{who} started a session (Business initiate)", who=who), {**chat, "session_id": session_id})
        assignee = agent_id if chat["assignee_id"] is None or status == "Resolved" else chat["assignee_id"]
    else:
        assignee = chat["assignee_id"] if chat["assignee_id"] is not None else agent_id  # C5 take-over
        if chat["assignee_id"] is None:
            record(w, chat_id, agent_id, "assign", f"None -> {agent_id} (replied)", now,
                   later._("{who} took the chat by replying", who=who), chat)
    new_status = status_for(assignee, False)
    attachment_id = insert_attachment(w, what["attachment"], now) if "attachment" in what else None
    message_id = w.ids.next("messages")
    w.execute(
        "INSERT INTO messages (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption,"
        " attachment_id, template_id, template_params, status, sent_at, created_at)"
        " VALUES (?, ?, ?, ?, 'out', ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        [message_id, chat_id, session_id, chat["channel"], agent_id, kind, body, what.get("caption"),
         attachment_id, template_id, params, now, now])
    w.execute("INSERT INTO outbox (message_id, next_attempt_at) VALUES (?, ?)", [message_id, now])
    w.touch("outbox")
    # Only the columns that change: a DuckDB UPDATE costs per column it sets.
    changes = {"last_message_at": now, "last_preview": message_preview(kind, body, what.get("caption"))}
    for column, value in (("assignee_id", assignee), ("status", new_status), ("session_id", session_id),
                          ("last_direction", "out"), ("unread", 0)):
        if chat[column] != value:
            changes[column] = value
    w.execute(f"UPDATE chats SET {', '.join(f'{c} = ?' for c in changes)} WHERE id = ?",
              [*changes.values(), chat_id])
    if "status" in changes or "assignee_id" in changes:
        w.chats_changed([chat_id])
    return message_id


def retry(store: Store, message_id: int, actor_id: int) -> None:
    """T6: a failed send goes back to the delivery queue."""
    store.write(_retry, message_id, actor_id)


def _retry(w: Writer, message_id, actor_id):
    acting(w, actor_id)
    found = w.one("SELECT chat_id, status, direction FROM messages WHERE id = ?", [message_id])
    if found is None or found[2] != "out":
        raise NotFound(_("Message {id} is not a message we sent.").format(id=message_id))
    if found[1] != "failed":
        raise NotAllowed(_("Only a failed message can be sent again."))
    now = utcnow()
    w.execute("UPDATE messages SET status = 'pending', error = NULL WHERE id = ?", [message_id])
    # A failed send keeps its outbox row and progress: resume at the step that failed.
    w.execute("INSERT INTO outbox (message_id, next_attempt_at) VALUES (?, ?) ON CONFLICT (message_id) DO UPDATE"
              " SET state = 'queued', attempts = 0, next_attempt_at = excluded.next_attempt_at, last_error = NULL",
              [message_id, now])
    w.touch("outbox")
    record(w, found[0], actor_id, "retry", f"message {message_id}", now)


# ---- read state, notes, contact details, preferences ---------------------------
def mark_read(store: Store, chat_id: int, actor_id: int) -> None:
    """Someone who acts on chats opened it: no longer unread. An analyst's
    reading marks nothing (the page does not ask; the write refuses)."""
    if store.one("SELECT unread FROM chats WHERE id = ?", [chat_id]) not in (None, (0,)):
        store.write(_mark_read, chat_id, actor_id)


def _mark_read(w: Writer, chat_id, actor_id):
    acting(w, actor_id)
    w.execute("UPDATE chats SET unread = 0 WHERE id = ?", [chat_id])


def add_note(store: Store, chat_id: int, author_id: int, body: str) -> int:
    """P3: a note on the contact, written from one of its chats."""
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("A note cannot be empty."))
    if len(body) > NOTE_LIMIT:
        raise ValidationError(_("A note can be at most {limit} characters.").format(limit=i18n.number(NOTE_LIMIT)))
    return store.write(_add_note, chat_id, author_id, body)


def _add_note(w: Writer, chat_id, author_id, body):
    acting(w, author_id)
    chat = chat_row(w, chat_id)
    note_id = w.ids.next("notes")
    now = utcnow()
    w.execute("INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?)", [note_id, chat["contact_id"], chat_id, author_id, body, now])
    record(w, chat_id, author_id, "note_added", f"note {note_id}", now)
    return note_id


def update_contact(store: Store, chat_id: int, actor_id: int, *, name: str, email: str = "",
                   company: str = "", phone: str = "") -> None:
    """P2: Contact Detail. A bad email is refused and nothing changes."""
    name, email, company, phone = (v.strip() if v else "" for v in (name, email, company, phone))
    if not name:
        raise ValidationError(_("Name cannot be empty."))
    if len(name) > NAME_LIMIT or len(company) > NAME_LIMIT:
        raise ValidationError(_("Name and company can be at most {limit} characters.").format(limit=i18n.number(NAME_LIMIT)))
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise ValidationError(_("{email!r} is not a valid email address.").format(email=email))
    if phone and not re.fullmatch(r"\+?[0-9 ()-]{5,20}", phone):
        raise ValidationError(_("{phone!r} is not a valid phone number.").format(phone=phone))
    store.write(_update_contact, chat_id, actor_id, name, email or None, company or None, phone or None)


def _update_contact(w: Writer, chat_id, actor_id, name, email, company, phone):
    acting(w, actor_id)
    chat = chat_row(w, chat_id)
    w.execute("UPDATE contacts SET name = ?, email = ?, company = ?, phone = ? WHERE id = ?",
              [name, email, company, phone, chat["contact_id"]])
    for (other,) in w.all("SELECT id FROM chats WHERE contact_id = ?", [chat["contact_id"]]):
        w.execute("UPDATE chats SET contact_name = ?, search_name = ? WHERE id = ?", [name, search_key(name), other])
    record(w, chat_id, actor_id, "contact_updated", f"name={name} email={email} company={company}", utcnow())


def set_notify(store: Store, agent_id: int, on: bool) -> None:
    """L7: the bell, remembered per agent."""
    store.write(_set_notify, agent_id, bool(on))


def _set_notify(w: Writer, agent_id, on):
    acting(w, agent_id, "read_chats")  # their own bell: any role
    w.execute("UPDATE agents SET notify = ? WHERE id = ?", [on, agent_id])
