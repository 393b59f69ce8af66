"""One-time login codes: the hand-over from the login form to the route
that sets the cookie."""
from __future__ import annotations

import secrets
import threading
import time

CODE_SECONDS = 60.0


class OneTimeCodes:
    """Short-lived, single-use codes that stand for a freshly made session
    token until the browser trades them for the cookie (so the token never
    travels in a URL or through the websocket)."""

    def __init__(self, ttl: float = CODE_SECONDS):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[str, float]] = {}

    def issue(self, token: str, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes = {c: v for c, v in self._codes.items() if v[1] > now}
            self._codes[code] = (token, now + self.ttl)
        return code

    def redeem(self, code: str | None, now: float | None = None) -> str | None:
        """The token once; None for an unknown, used or expired code."""
        now = time.monotonic() if now is None else now
        with self._lock:
            found = self._codes.pop(code or "", None)
        if found is None or found[1] <= now:
            return None
        return found[0]


CODES = OneTimeCodes()
