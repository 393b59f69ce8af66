"""Pacing broadcasts inside a channel's delivery lane (SPEC N2).

A broadcast's messages wait in the outbox like any other; the lane takes
them only as fast as the broadcast's token bucket allows, and after the
agents' replies of the same round, so a broadcast never starves a reply.
A send that is told to wait (429 with Retry-After, a 5xx) holds the whole
broadcast until then, not just that one message. The buckets live in
memory: after a restart a broadcast goes on from its outbox rows, and rows
that were in flight end as the outbox's ``sending`` rule says (never sent
twice)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from maxchat_data import broadcasts, outbox
from maxchat_data.store import Store, utcnow

BURST_SECONDS = 0.25  # a bucket holds a quarter of a second of messages (at least one)


class TokenBucket:
    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = self.capacity
        self.at = time.monotonic()
        self.held_until = 0.0

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * BURST_SECONDS)

    def _fill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def available(self) -> int:
        self._fill()
        return 0 if time.monotonic() < self.held_until else int(self.tokens)

    def take(self, n: int) -> None:
        self.tokens -= n

    def wait(self) -> float:
        """Seconds until one token is there."""
        self._fill()
        return max(self.held_until - time.monotonic(), (1 - self.tokens) / self.rate, 0.0)

    def hold(self, seconds: float) -> None:
        self.held_until = max(self.held_until, time.monotonic() + seconds)


class Pacer:
    """The buckets of one lane's broadcasts."""

    def __init__(self, store: Store, channel: str, sender: str):
        self.store, self.channel, self.sender = store, channel, sender
        self._buckets: dict[int, TokenBucket] = {}
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
            with self._lock:
                bucket = self._buckets.setdefault(b["id"], TokenBucket(b["rate"]))
                bucket.rate = b["rate"]
                if b["next_at"] > now:  # its rows are all waiting for a retry time
                    waits.append((b["next_at"] - now).total_seconds())
                    continue
                n = min(bucket.available(), limit)
                if n:
                    got = outbox.claim(self.store, self.sender, limit=n, channel=self.channel, broadcast_id=b["id"])
                    bucket.take(len(got))
                    rows += got
                waits.append(bucket.wait())
        with self._lock:
            for gone in set(self._buckets) - alive:
                del self._buckets[gone]
        self.next_look = min(waits) if waits else None
        return rows

    def held(self, broadcast_id: int) -> datetime | None:
        """Until when the broadcast waits (a send was told to wait), or None."""
        with self._lock:
            bucket = self._buckets.get(broadcast_id)
            left = bucket.held_until - time.monotonic() if bucket is not None else 0
        return utcnow() + timedelta(seconds=left) if left > 0 else None

    def hold(self, broadcast_id: int, until: datetime) -> None:
        """A send of this broadcast was told to wait: so does the broadcast."""
        with self._lock:
            bucket = self._buckets.get(broadcast_id)
            if bucket is not None:
                bucket.hold((until - utcnow()).total_seconds())
