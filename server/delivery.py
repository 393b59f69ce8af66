"""The outbound delivery worker: drains the outbox, sends through the
channel clients, and ends every message ``sent`` or ``failed`` with a reason.

It polls cheaply: the store's "outbox" topic counter (in memory) tells
whether a commit queued anything since the last look, so a queued reply is
picked up within one poll interval without a query per tick. Rescheduled rows are
picked up when their time comes. Pending rows survive a restart because the
outbox is a table."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from maxchat_data import outbox
from maxchat_data.channels import Permanent, RetryLater, clients as make_clients
from maxchat_data.channels.base import backoff
from maxchat_data.store import Store, utcnow

from .worker import TopicWorker

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


class DeliveryWorker(TopicWorker):
    name, topic = "maxchat-delivery", "outbox"

    def __init__(self, store: Store, clients: dict | None = None, poll: float = 0.25, threads: int = 4):
        super().__init__(store)
        self.clients = clients if clients is not None else make_clients()
        self.poll = poll
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="maxchat-send")

    def stop(self, timeout: float = 10) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def seconds_to_next_look(self, handled: int) -> float:
        # After a round with work there may be more, or a retry just got its time.
        return 0.0 if handled else self._until_next_due()

    def _until_next_due(self) -> float:
        (when,) = self.store.one("SELECT min(next_attempt_at) FROM outbox")
        if when is None:
            return 30.0
        return max(0.0, min(30.0, (when - utcnow()).total_seconds()))

    def run_once(self) -> int:
        """Send every due message once; returns how many were handled.
        Chats are sent in parallel, the messages of one chat in order."""
        rows = outbox.due(self.store, limit=50)
        by_chat: dict[int, list[dict]] = {}
        for row in rows:
            by_chat.setdefault(row["chat_id"], []).append(row)
        # Wait for the whole batch, so the next look never re-reads a row in flight.
        list(self._pool.map(self._deliver_chat, by_chat.values()))
        return len(rows)

    def _deliver_chat(self, rows: list[dict]) -> None:
        for i, row in enumerate(rows):
            when = self.deliver(row)
            if when is not None and rows[i + 1:]:
                # Keep the chat's order: later messages wait for the earlier one.
                self.store.write(_hold, [r["message_id"] for r in rows[i + 1:]], when)
                return

    def deliver(self, row: dict):
        """Send one row; returns the retry time when it was rescheduled."""
        message_id = row["message_id"]
        client = self.clients.get(row["channel"])
        if client is None or client.missing:
            reason = client.missing if client is not None else f"Unknown channel {row['channel']}"
            outbox.mark_failed(self.store, message_id, reason)
            return None
        try:
            provider_id = client.send(row, self.store.media_dir)
        except Permanent as exc:
            log.info("message %s failed: %s", message_id, exc)
            outbox.mark_failed(self.store, message_id, str(exc))
        except RetryLater as exc:
            attempts = row["attempts"] + 1
            if attempts >= MAX_ATTEMPTS:
                outbox.mark_failed(self.store, message_id, f"Could not send after {attempts} attempts: {exc}")
                return
            delay = backoff(row["attempts"], exc.retry_after)
            log.info("message %s: %s; retry in %.1fs", message_id, exc, delay)
            when = utcnow() + timedelta(seconds=delay)
            outbox.reschedule(self.store, message_id, when, str(exc))
            return when
        except FileNotFoundError:
            outbox.mark_failed(self.store, message_id, "The attachment file is missing from the media store")
        except Exception as exc:  # noqa: BLE001 - a bug must not leave the row retrying forever
            log.exception("message %s: unexpected error", message_id)
            outbox.mark_failed(self.store, message_id, f"Unexpected error while sending: {type(exc).__name__}")
        else:
            outbox.mark_sent(self.store, message_id, provider_id)
        return None


def _hold(w, message_ids, when):
    """Postpone without counting an attempt (they were not tried)."""
    w.execute("UPDATE outbox SET next_attempt_at = greatest(next_attempt_at, ?) WHERE message_id IN (SELECT unnest(?))",
              [when, message_ids])
