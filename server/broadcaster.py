"""Pacing broadcasts inside a channel's delivery lane (SPEC N2).

A broadcast's messages wait in the outbox like any other; the lane takes
them only as fast as the broadcast's pace allows, and after the agents'
replies of the same round, so a broadcast never starves a reply. The pace
lives in the database (``broadcasts.claim``): with several replicas each
takes its rows from one shared bucket, so together they send at the
broadcast's rate, and a taken row is hidden from the others (a row is sent
once whatever happens: the outbox's ``sending`` step). A send that is told
to wait (429 with Retry-After, a 5xx) holds the whole broadcast until then,
at every replica; rows already taken in this round wait here."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from maxchat_data import broadcasts, outbox
from maxchat_data.store import Store, utcnow


class Pacer:
    """One lane's share of its channel's broadcasts."""

    def __init__(self, store: Store, channel: str):
        self.store, self.channel = store, channel
        self._held: dict[int, float] = {}  # broadcast -> monotonic time a send here was told to wait until
        self._lock = threading.Lock()
        self.next_look: float | None = None  # seconds until a waiting broadcast row may go

    def take(self, limit: int = 50) -> list[dict]:
        """The broadcast rows this round may send; sets ``next_look`` for the
        rows left waiting."""
        rows: list[dict] = []
        waits: list[float] = []
        now = utcnow()
        alive = set()
        for b in broadcasts.running(self.store, self.channel):
            alive.add(b["id"])
            if b["next_at"] > now:  # its rows are all waiting for a retry time
                waits.append((b["next_at"] - now).total_seconds())
                continue
            due = outbox.due(self.store, limit=limit, channel=self.channel, broadcast_id=b["id"])
            if not due:
                continue
            taken, wait = broadcasts.claim(self.store, b["id"], [r["message_id"] for r in due])
            mine = set(taken)
            rows += [r for r in due if r["message_id"] in mine]
            waits.append(wait)
        with self._lock:
            for gone in set(self._held) - alive:
                del self._held[gone]
        self.next_look = min(waits) if waits else None
        return rows

    def held(self, broadcast_id: int) -> datetime | None:
        """Until when the broadcast waits (a send here was told to wait), or None."""
        with self._lock:
            left = self._held.get(broadcast_id, 0.0) - time.monotonic()
        return utcnow() + timedelta(seconds=left) if left > 0 else None

    def hold(self, broadcast_id: int, until: datetime) -> None:
        """A send of this broadcast was told to wait: so does the broadcast."""
        with self._lock:
            self._held[broadcast_id] = max(self._held.get(broadcast_id, 0.0),
                                           time.monotonic() + (until - utcnow()).total_seconds())
        broadcasts.hold(self.store, broadcast_id, until)
