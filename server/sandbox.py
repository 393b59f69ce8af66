"""Demo mode only: the sandbox's customers read what they are sent. Once a
second, the ticks they have earned (``channels.sandbox.read_receipts``) go
through the same path as a provider's status webhook."""
from __future__ import annotations

import logging

from maxchat_data.channels.sandbox import read_receipts
from maxchat_data.ticks import record_status_async

from .worker import Worker

log = logging.getLogger(__name__)


class SandboxReader(Worker):
    name = "maxchat-sandbox"
    every = 1.0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                for future in [record_status_async(self.store, tick) for tick in read_receipts(self.store)]:
                    future.result(30)
            except Exception:  # a demo nicety must never stop the server
                if self._stop.is_set():
                    break
                log.exception("sandbox ticks")
