"""N1: a business writes first. The only first message the channels allow
is an Accepted template marked `Set as Initiate Message` on WhatsApp;
Messenger and Telegram let a business answer only after the customer wrote.

A new chat goes to an existing contact's chat or to a new WhatsApp number;
it is written like any template send (``actions._send``): the message and
its outbox row in one transaction, a `Business initiate` session, the chat
assigned to the sender unless another agent holds it."""
from __future__ import annotations

import re

from . import team
from .actions import _send
from .common import acting, chat_row, contact_name, search_key
from .errors import NotAllowed, ValidationError
from .i18n import N_, _
from .store import Store, Writer, utcnow
from .templates import render, usable_template

FIRST_WRITE_CHANNELS = ("whatsapp",)
CANNOT_WRITE_FIRST = N_("Messenger and Telegram do not let a business write first: you can answer once the "
                        "customer writes to you. New chats and broadcasts go out on WhatsApp.")  # raised with _()
_SEPARATORS = re.compile(r"[\s().\-/]")


def normalize_number(text: str) -> str:
    """A WhatsApp number in E.164 (``+6281234567890``). Spaces, dashes, dots
    and brackets are ignored; an Indonesian local number ``08…`` becomes
    ``+628…``; anything else must carry its country code."""
    raw = (text or "").strip()
    digits = _SEPARATORS.sub("", raw)
    if not digits:
        raise ValidationError(_("Type a WhatsApp number, e.g. +6281234567890 or 081234567890."))
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0"):
        if not digits.startswith("08"):
            raise ValidationError(_("{number!r} is not a mobile number: a local number starts with 08, "
                                    "any other needs its country code (+…).").format(number=raw))
        digits = "+62" + digits[1:]
    if not digits.startswith("+"):
        digits = "+" + digits
    number = digits[1:]
    # Only 0-9: str.isdigit() also takes Arabic-Indic, fullwidth and
    # superscript digits, which make another number than the one they look
    # like (a blocked contact's number written so got a broadcast).
    others = sorted({ch for ch in number if ch not in "0123456789"})
    if others:
        shown = ", ".join(f"{ch} (U+{ord(ch):04X})" for ch in others[:3]) + (", …" if len(others) > 3 else "")
        raise ValidationError(_("{number!r} is not a phone number: type it with the digits 0-9 only (it holds"
                                " {characters}), with the country code (+62…).").format(number=raw, characters=shown))
    if not number or number.startswith("0"):
        raise ValidationError(_("{number!r} is not a phone number: use digits only, with the country code (+62…).")
                              .format(number=raw))
    if not 8 <= len(number) <= 15:
        raise ValidationError(_("{number!r} is not a valid number: with its country code it has 8 to 15 digits.")
                              .format(number=raw))
    if number.startswith("62") and not (number.startswith("628") and 10 <= len(number) <= 14):
        raise ValidationError(_("{number!r} is not an Indonesian mobile number (+628 and 8 to 12 more digits).")
                              .format(number=raw))
    return "+" + number


def find_contacts(store: Store, name: str, *, viewer: int, limit: int = 20) -> list[dict]:
    """Chats whose contact name holds ``name`` (accents and case aside), for
    ``viewer`` to choose whom to write to; newest activity first. Only chats
    that agent may write in (W3: their own and unassigned ones, when the
    team says so)."""
    mine = team.sees_only_own(store, viewer)
    return store.dicts("SELECT id, contact_name, channel, channel_user_id, blocked FROM chats"
                       " WHERE NOT archived AND strpos(search_name, ?) > 0"
                       + (" AND (assignee_id IS NULL OR assignee_id = ?)" if mine else "") +
                       " ORDER BY last_message_at DESC NULLS LAST, id DESC LIMIT ?",
                       [search_key(name or ""), *([viewer] if mine else []), limit])


def start(store: Store, agent_id: int, template_id: int, values: list[str], *, chat_id: int | None = None,
          number: str | None = None, name: str = "") -> tuple[int, int]:
    """Send an initiate template to an existing chat (``chat_id``) or to a
    WhatsApp number; returns (chat id, message id). Bad input changes nothing."""
    if (chat_id is None) == (number is None):
        raise ValidationError(_("Choose a contact or type a WhatsApp number."))
    values = [str(v).strip() for v in values]
    phone = normalize_number(number) if number is not None else None
    name = contact_name(name) if name and name.strip() else None
    return store.write(_start, agent_id, template_id, values, chat_id, phone, name)


def _start(w: Writer, agent_id, template_id, values, chat_id, phone, name):
    acting(w, agent_id)  # before anything is written
    if chat_id is not None:
        chat = chat_row(w, chat_id)
        if chat["channel"] not in FIRST_WRITE_CHANNELS:
            raise NotAllowed(_(CANNOT_WRITE_FIRST))
        channel = chat["channel"]
    else:
        channel = "whatsapp"
    tpl = usable_template(w, template_id, channel)
    render(tpl["body"], tpl["variables"], values)  # a missing value is refused before a chat is made
    if chat_id is None:
        uid = phone[1:]  # WhatsApp's wa_id: the number without '+'
        chat_id = w.chat_ids([(channel, uid)]).get((channel, uid))
        if chat_id is None:
            chat_id = _new_chat(w, agent_id, channel, uid, phone, name or phone)
        # an existing chat: _send refuses a blocked contact before writing
    message_id = _send(w, chat_id, agent_id, {"kind": "template", "template_id": template_id, "values": values})
    return chat_id, message_id


def _new_chat(w: Writer, agent_id: int, channel: str, uid: str, phone: str, name: str) -> int:
    """A contact and its chat for a number nobody has written from yet; the
    template send then opens its session and sets what the list shows."""
    now = utcnow()
    contact_id, chat_id = w.ids.next("contacts"), w.ids.next("chats")
    w.execute("INSERT INTO contacts (id, name, phone, created_at) VALUES (?, ?, ?, ?)", [contact_id, name, phone, now])
    w.execute("INSERT INTO chats (id, contact_id, channel, channel_user_id, contact_name, search_name, status,"
              " created_at) VALUES (?, ?, ?, ?, ?, ?, 'Open', ?)",
              [chat_id, contact_id, channel, uid, name, search_key(name), now])
    w.chats_changed([chat_id])
    w.add_chat_key((channel, uid), chat_id)
    w.execute("INSERT INTO events VALUES (?, ?, ?, 'chat_created', ?, ?)",
              [w.ids.next("events"), chat_id, agent_id, f"new chat to {phone}", now])
    return chat_id
