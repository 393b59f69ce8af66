"""Telegram long polling (when no webhook secret is configured).

The offset is saved only after the updates it acknowledges are committed, so
a crash in between re-reads them (stored once: the provider id is the
idempotency key) and never skips one."""
from __future__ import annotations

import logging

from maxchat_data import retry, settings
from maxchat_data.channels import Permanent, RetryLater, telegram
from maxchat_data.ingest import store_parsed
from maxchat_data.i18n import english
from maxchat_data.store import Store

from .worker import Worker

log = logging.getLogger(__name__)
OFFSET_KEY = settings.TELEGRAM_OFFSET
LEADER_RETRY_S = 2.0  # how soon a replica takes over polling from one that died


class Poller(Worker):
    name = "maxchat-telegram-poll"

    def __init__(self, store: Store, client: "telegram.Client | None" = None, timeout: int = 25,
                 policy: retry.RetryPolicy = retry.POLLING):
        super().__init__(store)
        self.client = client or telegram.Client()
        self.timeout = timeout
        self.policy = policy  # never gives up: polling is all this thread does

    def stop(self, timeout: float = 2) -> None:
        # A long poll in flight is not interrupted; the thread is a daemon and
        # anything it fetches after the store closes is simply re-read later.
        super().stop(timeout)

    def _run(self) -> None:
        # One poller for the whole team: Telegram answers only one getUpdates
        # per bot at a time, and two would fetch the same updates.
        leader = self.store.leadership("telegram-poll")
        failures = 0
        while not self._stop.is_set():
            if not leader.held():
                self._stop.wait(LEADER_RETRY_S)
                continue
            try:
                self.poll_once()
                failures = 0
            except Exception as exc:  # keep polling whatever one batch did
                if self._stop.is_set():
                    break
                failures += 1
                delay = self.policy.decide(failures, exc)
                if isinstance(exc, (RetryLater, Permanent)):
                    log.warning("Telegram getUpdates: %s; again in %.1fs", english(str(exc)), delay)
                else:
                    log.exception("Telegram polling error; again in %.1fs", delay)
                self._stop.wait(delay)
        leader.release()

    def poll_once(self) -> int:
        saved = settings.get(self.store, OFFSET_KEY)
        updates = self.client.get_updates(int(saved) if saved else None, self.timeout)
        if not updates:
            return 0
        if self._stop.is_set():
            return 0  # shutting down: leave them to the next start
        # One update that is not Telegram's shape is logged and skipped by the parser.
        parsed = telegram.parse(updates)
        store_parsed(self.store, parsed)
        last = max((u["update_id"] for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)),
                   default=None)
        if last is not None:
            settings.put(self.store, OFFSET_KEY, str(last + 1))
        return len(parsed.messages)
