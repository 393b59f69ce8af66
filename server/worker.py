"""Background threads of the server (delivery, media fetcher, Telegram
polling): one way to start, stop and wake them."""
from __future__ import annotations

import logging
import threading
import time

from maxchat_data.store import Store

log = logging.getLogger(__name__)


class Worker:
    """A daemon thread running ``_run`` until ``stop``."""

    name = "maxchat-worker"

    def __init__(self, store: Store):
        self.store = store
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError


class TopicWorker(Worker):
    """Runs ``run_once`` when a commit touched its topic (an in-memory
    counter, no query per tick) or when its own next look is due."""

    topic = ""
    poll = 0.25

    def run_once(self) -> int:
        raise NotImplementedError

    def seconds_to_next_look(self, handled: int) -> float:
        """Without a new commit on the topic, when to look again."""
        raise NotImplementedError

    def _run(self) -> None:
        seen, next_look = -1, 0.0
        while not self._stop.is_set():
            delay = self.poll
            try:
                if self.store.topic_version(self.topic) != seen or time.monotonic() >= next_look:
                    seen = self.store.topic_version(self.topic)
                    wait = self.seconds_to_next_look(self.run_once())
                    next_look = time.monotonic() + wait
                    if wait == 0:
                        continue  # more work may be waiting: no pause
            except Exception:  # the worker must outlive any one bad row
                if self._stop.is_set():
                    break
                log.exception("%s loop error", self.name)
                next_look = time.monotonic() + 1
            self._stop.wait(delay)
