"""Background jobs kept as rows of a table: an inbound file or a profile
name to fetch, a template to send to WhatsApp for review. A worker takes
the jobs that are due; with several replicas every replica runs that
worker, and a job is still done once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .store import Store, Writer, utcnow

# A job taken is another worker's again only after this (its taker died
# with it): long enough for a slow provider call, short enough to recover.
LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class JobQueue:
    """The jobs of one table. ``take_due`` leases due jobs to this process: their
    ``next_at`` moves ``LEASE`` ahead, and rows another replica is taking at
    that moment are skipped (PostgreSQL: SKIP LOCKED). A read comes first, so
    an idle worker writes nothing."""

    table: str
    key: str                         # the columns naming one job: "channel, provider_message_id"
    due: str                         # SQL true for a job due at the time ``?``
    columns: str                     # what ``take_due`` returns of a job, after its key
    next_at: str = "next_attempt_at"  # when the job is due (again); the lease moves it
    order: str = "next_attempt_at"   # the most overdue first

    def take_due(self, store: Store, limit: int) -> list[tuple]:
        """Up to ``limit`` due jobs for this process alone, as (key..., columns...) in key order."""
        now = utcnow()
        if not store.one(f"SELECT count(*) > 0 FROM {self.table} WHERE {self.due}", [now])[0]:
            return []
        rows = store.write(self._lease, now, limit)
        width = len(self.key.split(","))
        return sorted(rows, key=lambda row: row[:width])

    def _lease(self, w: Writer, now, limit: int) -> list[tuple]:
        return w.all(f"UPDATE {self.table} SET {self.next_at} = ? WHERE ({self.key}) IN"
                     f" (SELECT {self.key} FROM {self.table} WHERE {self.due} ORDER BY {self.order} LIMIT ?"
                     f"{w.engine.lock(skip_locked=True)}) RETURNING {self.key}, {self.columns}",
                     [now + LEASE, now, limit])
