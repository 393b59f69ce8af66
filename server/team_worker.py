"""Time passing is news too: an agent whose tabs stopped polling turns
Offline without anyone writing anything. This worker looks a few times
within each presence timeout (``maxchat_data.team.tick``): who went
silent, who came back, and whether waiting chats can go to someone now.
Idle, a look reads memory and the store's version, nothing else."""
from __future__ import annotations

import logging

from maxchat_data import team

from .worker import Worker

log = logging.getLogger(__name__)


class TeamWorker(Worker):
    name = "maxchat-team"

    def __init__(self, store, every: float | None = None):
        super().__init__(store)
        # A quarter of the timeout, at most 2 s: someone Offline or freed
        # capacity is acted on within seconds.
        self.every = every or min(2.0, team.presence(store).timeout / 4)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                team.tick(self.store)
            except Exception:  # one bad pass must not stop assignment for good
                if self._stop.is_set():
                    break
                log.exception("team pass")
