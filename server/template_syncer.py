"""N3: a template sync with the WhatsApp account when the server starts
(the Templates page's `Sync` does the same on demand; the review webhooks
keep templates current in between). Failures follow the FETCH policy, then
give up with a log line: the page's button remains."""
from __future__ import annotations

import logging

from maxchat_data import config, retry, template_sync
from maxchat_data.i18n import english, later
from maxchat_data.store import Store

from .worker import Worker

log = logging.getLogger(__name__)


class StartupSync(Worker):
    name = "maxchat-template-sync"

    def __init__(self, store: Store, client, policy: retry.RetryPolicy = retry.FETCH):
        super().__init__(store)
        self.client, self.policy = client, policy

    @staticmethod
    def wanted(client) -> bool:
        """Only with a real, connected WhatsApp account (not the demo sandbox)."""
        return bool(config.get("WHATSAPP_WABA_ID")) and not client.missing and hasattr(client, "list_templates")

    def _run(self) -> None:
        # With several replicas starting together, one syncs.
        leader = self.store.leadership("template-sync")
        if not leader.held():
            return
        try:
            self._sync()
        finally:
            leader.release()

    def _sync(self) -> None:
        attempts = 0
        while not self._stop.is_set():
            attempts += 1
            try:
                log.info("templates synced with WhatsApp: %s", template_sync.sync(self.store, self.client).english())
                return
            except Exception as exc:  # every failure counts (the one retry policy)
                delay = self.policy.decide(attempts, exc)
                if delay is None:
                    log.warning("%s", english(self.policy.gave_up(later._("Template sync with WhatsApp"), attempts, exc)))
                    return
                self._stop.wait(delay)
