"""The demo's built-in channel: in demo mode a channel without credentials
delivers here instead of failing, so a newcomer's replies, files and
templates go out, tick sent → delivered → read (``read_receipts``), and
show on the customer simulator's side of the conversation."""
from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from ..i18n import later
from ..ingest import MediaRef
from ..ticks import DeliveryStatus
from ..store import Store, utcnow
from .base import Permanent, Step

PREFIX = "sandbox-"
DELIVERED_AFTER = timedelta(seconds=1)
READ_AFTER = timedelta(seconds=3)
LOOK_BACK = timedelta(minutes=10)  # only recent sends: the look stays cheap on a large store


class Client:
    """Stands in for one channel's API: every send succeeds at once."""

    missing = None

    def __init__(self, channel: str):
        self.channel = channel
        self.label = f"{channel} sandbox"

    def steps(self, row: dict) -> list[Step]:
        return [Step("send", self._send)]

    def _send(self, row: dict, media_dir: Path) -> str:
        return f"{PREFIX}{uuid.uuid4().hex}"

    def fetch(self, ref: MediaRef) -> bytes:
        raise Permanent(later._("the demo sandbox holds no files"))


def read_receipts(store: Store) -> list[DeliveryStatus]:
    """The ticks the sandbox's customers have earned by now: delivered a
    second after sending, read three seconds after."""
    now = utcnow()
    return [DeliveryStatus(channel, pmid, "read" if sent_at <= now - READ_AFTER else "delivered")
            for channel, pmid, status, sent_at in store.all(
                "SELECT channel, provider_message_id, status, sent_at FROM messages"
                " WHERE direction = 'out' AND status IN ('sent', 'delivered') AND starts_with(provider_message_id, ?)"
                " AND sent_at <= ? AND sent_at > ?", [PREFIX, now - DELIVERED_AFTER, now - LOOK_BACK])
            if not (status == "delivered" and sent_at > now - READ_AFTER)]
