"""The outbound delivery worker: drains the outbox, sends through the
channel clients, and ends every message ``sent`` or ``failed`` with a reason.

Each channel has its own lane (thread, pool and due-query), so a provider
that hangs holds back only its own channel's replies. In a lane, chats are
sent in parallel and the messages of one chat in order.

A send is one or more provider calls (steps, see ``channels.base.Step``);
each step done is committed before the next. Before a call that puts
something in front of the customer the row is committed as ``sending``, and
a call that may have gone through without an answer is never repeated: the
message ends failed for a person to check ("at most once"). Rows still
``sending`` when their sender is gone (a crash; see outbox.py for how a
replica tells) end the same way. Uploads are repeated freely.

Several replicas may each run a worker: a lane *claims* the rows it sends
(outbox.claim), so each row is sent by one worker only.

Lanes poll cheaply: the store's "outbox" topic counter (in memory) tells
whether a commit queued anything since the last look, so a queued reply is
picked up within one poll interval without a query per tick; rescheduled
rows are picked up when their time comes.

Broadcasts ride the same lanes, paced by their rate after the agents'
replies of each round (``broadcaster.Pacer``)."""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from maxchat_data import outbox, retry
from maxchat_data.channels import MaybeDone, Permanent, RetryLater, clients as make_clients
from maxchat_data.common import CHANNELS
from maxchat_data.i18n import english, later
from maxchat_data.store import Store, utcnow

from .broadcaster import Pacer
from .worker import TopicWorker, Worker

log = logging.getLogger(__name__)


class DeliveryWorker:
    """One ``Lane`` per channel; started after settling sends a crash cut off."""

    def __init__(self, store: Store, clients: dict | None = None, poll: float = 0.25, threads: int = 4,
                 policy: retry.RetryPolicy = retry.DELIVERY):
        self.store = store
        self.clients = clients if clients is not None else make_clients()
        self.policy = policy
        # Who claims rows: unique per run, also across replicas and restarts.
        self.sender = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._busy = 0  # lanes holding claimed rows right now
        self._busy_lock = threading.Lock()
        self.lanes = [Lane(self, channel, poll, threads) for channel in CHANNELS]
        self.heartbeat = Heartbeat(self)

    def start(self):
        unsure = outbox.settle_orphans(self.store, self.sender, at_start=True)
        if unsure:
            log.warning("messages %s were being sent when the server stopped: marked failed, not resent", unsure)
        for lane in self.lanes:
            lane.start()
        self.heartbeat.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        for lane in [*self.lanes, self.heartbeat]:
            lane._stop.set()  # all at once: a lane in a slow call must not delay the others' stop
        for lane in self.lanes:
            lane.stop(timeout)
        self.heartbeat.stop(timeout)

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def holding(self, delta: int) -> None:
        with self._busy_lock:
            self._busy += delta

    def deliver(self, row: dict) -> datetime | None:
        """Make the row's remaining steps; returns the retry time when it was rescheduled."""
        message_id = row["message_id"]
        client = self.clients.get(row["channel"])
        if client is None or client.missing:
            outbox.mark_failed(self.store, message_id,
                               client.missing if client else later._("Unknown channel {channel}", channel=row["channel"]))
            return None
        try:
            steps = client.steps(row)
        except Permanent as exc:
            outbox.mark_failed(self.store, message_id, str(exc))
            return None
        for number in range(row["step"], len(steps)):
            step = steps[number]
            if not step.upload and not outbox.sending(self.store, message_id, self.sender):
                return None  # durable before the call (see settle_orphans); not ours: e.g. a cancelled broadcast
            try:
                result = step.run(row, self.store.media_dir)
            except Exception as exc:  # every failure ends the row failed or rescheduled
                return self._failed(row, step, exc)
            if number == len(steps) - 1:
                outbox.mark_sent(self.store, message_id, row["first_part_id"] or result)
            else:
                upload_id, part_id = (result, None) if step.upload else (None, result)
                outbox.step_done(self.store, message_id, upload_id, part_id)
                row.update(upload_id=upload_id or row["upload_id"], first_part_id=row["first_part_id"] or part_id,
                           attempts=0)
        return None

    def _failed(self, row: dict, step, exc: Exception) -> datetime | None:
        message_id = row["message_id"]
        if isinstance(exc, Permanent):
            log.info("message %s failed: %s", message_id, english(str(exc)))
            outbox.mark_failed(self.store, message_id, str(exc))
        elif isinstance(exc, FileNotFoundError):
            outbox.mark_failed(self.store, message_id, later._("The attachment file is missing from the media store"))
        elif not step.upload and (isinstance(exc, MaybeDone) or not isinstance(exc, RetryLater)):
            # It may have reached the customer: sending it again could send it twice.
            if not isinstance(exc, MaybeDone):
                log.error("message %s: unexpected error while sending", message_id, exc_info=exc)
            outbox.mark_failed(self.store, message_id, outbox.unsure(retry.describe(exc)))
        else:
            attempts = row["attempts"] + 1
            delay = self.policy.decide(attempts, exc)
            if delay is None:
                outbox.mark_failed(self.store, message_id, self.policy.gave_up(later._("Could not send"), attempts, exc))
                return None
            log.info("message %s (%s): %s; retry in %.1fs", message_id, step.name, english(retry.describe(exc)), delay)
            when = utcnow() + timedelta(seconds=delay)
            outbox.reschedule(self.store, message_id, when, retry.describe(exc))
            return when
        return None


class Lane(TopicWorker):
    """One channel's sender: its own thread, pool and due-query."""

    topic = "outbox"

    def __init__(self, worker: DeliveryWorker, channel: str, poll: float, threads: int):
        self.name = f"maxchat-send-{channel}"
        super().__init__(worker.store)
        self.worker, self.channel, self.poll = worker, channel, poll
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=f"maxchat-send-{channel}")
        self.pacer = Pacer(worker.store, channel, worker.sender)

    def stop(self, timeout: float = 10) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def seconds_to_next_look(self, handled: int) -> float:
        # After a round with work there may be more, or a retry just got its time.
        if handled:
            return 0.0
        when = outbox.next_due(self.store, self.channel)
        wait = 30.0 if when is None else max(0.0, min(30.0, (when - utcnow()).total_seconds()))
        return wait if self.pacer.next_look is None else min(wait, self.pacer.next_look)

    def run_once(self) -> int:
        """Send every due message of the channel once (agents' first, then what
        the broadcasts' rates allow); returns how many were handled."""
        sender = self.worker.sender
        rows = outbox.claim(self.store, sender, limit=50, channel=self.channel) if outbox.agents_due(self.store) else []
        rows += self.pacer.take()
        if not rows:
            return 0
        by_chat: dict[int, list[dict]] = {}
        for row in rows:
            by_chat.setdefault(row["chat_id"], []).append(row)
        self.worker.holding(1)
        try:
            list(self._pool.map(self._deliver_chat, by_chat.values()))
        finally:
            self.worker.holding(-1)
        return len(rows)

    def _deliver_chat(self, rows: list[dict]) -> None:
        i = 0
        try:
            for i, row in enumerate(rows):
                held = self.pacer.held(row["broadcast_id"]) if row["broadcast_id"] is not None else None
                if held is not None:
                    # Another send of this broadcast was just told to wait: this
                    # one, taken in the same round, waits too (not an attempt).
                    outbox.hold(self.store, [r["message_id"] for r in rows[i:]], held)
                    return
                when = self.worker.deliver(row)
                if when is not None and row["broadcast_id"] is not None:
                    self.pacer.hold(row["broadcast_id"], when)
                if when is not None and rows[i + 1:]:
                    # Keep the chat's order: later messages wait for the earlier one.
                    outbox.hold(self.store, [r["message_id"] for r in rows[i + 1:]], when)
                    return
        except Exception:
            # This round's rows not settled go back to the queue (hold takes
            # only 'claimed' ones: a row 'sending' may have gone out).
            outbox.hold(self.store, [r["message_id"] for r in rows[i:]], utcnow())
            raise


class Heartbeat(Worker):
    """While its lanes hold claimed rows, the worker says it is alive (other
    replicas leave its rows alone); and it settles rows a gone sender left."""

    name = "maxchat-send-heartbeat"

    def __init__(self, worker: DeliveryWorker):
        super().__init__(worker.store)
        self.worker = worker

    def _run(self) -> None:
        sender = self.worker.sender
        while not self._stop.wait(outbox.BEAT):
            try:
                if self.worker.busy:
                    outbox.alive(self.store, sender)
                if outbox.orphans(self.store, sender):
                    unsure = outbox.settle_orphans(self.store, sender)
                    if unsure:
                        log.warning("messages %s were being sent by a server that stopped: marked failed,"
                                    " not resent", unsure)
            except Exception:  # tried again next beat
                log.exception("delivery heartbeat failed")
