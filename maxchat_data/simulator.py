"""The customer simulator for demos: write as a customer on any channel,
through the very path a webhook takes (``Inbound`` + ``receive``)."""
from __future__ import annotations

import re
import uuid

from . import config, i18n
from .common import CHANNELS, NAME_LIMIT, person
from .errors import NotAllowed, ValidationError
from .i18n import N_, _
from .ingest import Inbound, Received, receive
from .media import check_upload, save
from .store import Store

# A plausible customer id per channel, prefilled on the page.
EXAMPLE_IDS = {"whatsapp": "6281234567890", "messenger": "2400000000000001", "telegram": "500000001"}


def simulate(store: Store, channel: str, customer_name: str, customer_id: str, text: str = "",
             filename: str | None = None, data: bytes | None = None, *, actor_id: int) -> Received:
    """An admin, in demo mode (MAXCHAT_DEMO), stores one message as if the
    customer sent it. A file follows the upload rules (type from its bytes,
    at most 1 MB); the text is then its caption."""
    person(store, actor_id, "admin", N_("Only an admin can use the customer simulator."))
    if not config.flag("MAXCHAT_DEMO"):
        raise NotAllowed(_("The customer simulator is only available in demo mode."))
    if channel not in CHANNELS:
        raise ValidationError(_("Unknown channel {channel!r}.").format(channel=channel))
    customer_id, customer_name, text = (customer_id or "").strip(), (customer_name or "").strip(), (text or "").strip()
    if not customer_id:
        raise ValidationError(_("Enter the customer's id on the channel."))
    if len(customer_id) > 64 or not re.fullmatch(r"[A-Za-z0-9_.:+-]+", customer_id):
        raise ValidationError(_("A customer id uses letters, digits and . _ : + - only (at most 64)."))
    if channel == "whatsapp" and not customer_id.lstrip("+").isdigit():
        raise ValidationError(_("A WhatsApp customer id is the phone number in digits, e.g. 6281234567890."))
    if len(customer_name) > NAME_LIMIT:
        raise ValidationError(_("A name can be at most {limit} characters.").format(limit=i18n.number(NAME_LIMIT)))
    if not text and not data:
        raise ValidationError(_("Type a message or attach a file."))
    if len(text) > 4096:
        raise ValidationError(_("A message can be at most {limit} characters.").format(limit=i18n.number(4096)))
    customer_id = customer_id.lstrip("+") if channel == "whatsapp" else customer_id
    message = Inbound(channel=channel, channel_user_id=customer_id, contact_name=customer_name,
                      provider_message_id=f"sim-{uuid.uuid4().hex}",
                      phone=f"+{customer_id}" if channel == "whatsapp" else None)
    if data:
        mime, kind = check_upload(filename or "file", data)
        message.attachment = save(store.media_dir, filename or "file", data, mime, kind)
        message.kind, message.caption = kind, text or None
    else:
        message.body = text
    return receive(store, message)


def conversation(store: Store, channel: str, customer_id: str, limit: int = 50) -> list[dict]:
    """The chat as the customer's phone shows it: what they sent and what the
    team sent them (with its ticks), oldest first; no activity lines, no
    notes. Empty when this customer has not written yet."""
    customer_id = (customer_id or "").strip()
    if channel == "whatsapp":
        customer_id = customer_id.lstrip("+")
    return store.dicts(
        "SELECT * FROM (SELECT m.id, m.direction, m.kind, m.body, m.caption, m.status, m.sent_at, f.filename"
        " FROM messages m JOIN chats c ON c.id = m.chat_id LEFT JOIN attachments f ON f.id = m.attachment_id"
        " WHERE c.channel = ? AND c.channel_user_id = ? AND m.direction IN ('in', 'out')"
        " ORDER BY m.sent_at DESC, m.id DESC LIMIT ?) ORDER BY sent_at, id", [channel, customer_id, limit])
