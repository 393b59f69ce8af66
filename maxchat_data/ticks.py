"""Delivery ticks of the messages we sent: a provider's status per message
(sent, delivered, read, failed) and Messenger's watermarks (everything up
to a time delivered or read). They only move forward."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .common import message_by_provider_id
from .errors import ValidationError
from .i18n import later
from .store import Store, Writer, batched

_TICK_ORDER = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}


@dataclass(frozen=True)
class DeliveryStatus:
    channel: str
    provider_message_id: str
    status: str               # sent | delivered | read | failed
    error: str | None = None


@dataclass(frozen=True)
class Watermark:
    """Messenger receipts: every outbound message of the chat sent at or
    before ``watermark`` is delivered (or read)."""
    channel: str
    channel_user_id: str
    watermark: datetime
    status: str  # delivered | read


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
        found = message_by_provider_id(w, u.channel, u.provider_message_id, "id, status", "direction = 'out'")
        if found is None:
            out.append(False)
            continue
        message_id, current = found
        if u.status == "failed":
            w.execute("UPDATE messages SET status = 'failed', error = ? WHERE id = ?", [u.error or later._("Not delivered"), message_id])
        elif current != "failed" and _TICK_ORDER[u.status] > _TICK_ORDER.get(current, 0):
            w.execute("UPDATE messages SET status = ? WHERE id = ?", [u.status, message_id])
        out.append(True)
    return out


def watermark(w: Writer, mark: Watermark) -> int:
    """Messenger receipts: outbound messages of the chat sent up to the
    watermark move to delivered/read (never backwards, never from failed)."""
    allowed = ("'sent'",) if mark.status == "delivered" else ("'sent'", "'delivered'")
    return len(w.all(
        f"UPDATE messages SET status = ? WHERE direction = 'out' AND status IN ({', '.join(allowed)})"
        " AND sent_at <= ? AND chat_id IN (SELECT id FROM chats WHERE channel = ? AND channel_user_id = ?)"
        " RETURNING 1", [mark.status, mark.watermark, mark.channel, mark.channel_user_id]))
