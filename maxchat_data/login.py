"""U1: the login session. Signed session tokens (the cookie), one-time login
codes (the hand-over from the Streamlit login form to the cookie-setting
route), and the throttle that slows down password guessing. Imports no
streamlit: the login form (``ui/auth.py``), the HTTP routes below and the
tests all use the same rules.

How a login flows:
1. The login form checks ``Throttle.wait`` (locked? say so, check nothing),
   then ``accounts.authenticate``; a failure is counted (``Throttle.failed``).
2. On success the form makes the signed token (``make_token``), parks it
   behind a short-lived one-time code (``CODES.issue``) and the browser
   POSTs that code to ``/auth/session``.
3. That route redeems the code, sets the token as the session cookie
   (HttpOnly, SameSite=Lax) and answers 303 to ``/``.
4. Every script run reads the cookie (``read_token``), re-checks expiry,
   revocation and that the agent is still active.
5. ``/auth/logout`` revokes the token's session id and clears the cookie.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

from . import config, settings

COOKIE_NAME = "maxchat_session"
DEFAULT_SESSION_HOURS = 12.0
CODE_SECONDS = 60.0
WRONG_CREDENTIALS = "Wrong username or password."


def session_hours() -> float:
    """MAXCHAT_SESSION_HOURS (default 12): how long a login lasts."""
    try:
        hours = float(config.get("MAXCHAT_SESSION_HOURS") or DEFAULT_SESSION_HOURS)
    except ValueError:
        return DEFAULT_SESSION_HOURS
    return hours if hours > 0 else DEFAULT_SESSION_HOURS


# ---- the signing key --------------------------------------------------------
_key_lock = threading.Lock()
_keys: dict[str, bytes] = {}


def secret_key(store) -> bytes:
    """MAXCHAT_SECRET_KEY when set; otherwise a random key generated once and
    kept in the store's settings, so logins survive a restart."""
    configured = config.get("MAXCHAT_SECRET_KEY")
    if configured:
        return configured.encode()
    with _key_lock:
        if store.path not in _keys:
            value = settings.get(store, settings.SIGNING_KEY)
            if not value:
                value = secrets.token_hex(32)
                settings.put(store, settings.SIGNING_KEY, value)
            _keys[store.path] = value.encode()
        return _keys[store.path]


# ---- session tokens ---------------------------------------------------------
@dataclass(frozen=True)
class Session:
    agent_id: int
    sid: str          # random session id: what logout revokes
    issued_at: float
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, b"maxchat-session-v1." + payload.encode(), hashlib.sha256).digest())


def make_token(key: bytes, agent_id: int, *, now: float | None = None, hours: float | None = None) -> str:
    """``v1.<payload>.<hmac>``: payload is the agent id, times and a session id."""
    now = time.time() if now is None else now
    hours = session_hours() if hours is None else hours
    payload = _b64(json.dumps({"a": int(agent_id), "iat": int(now), "exp": int(now + hours * 3600),
                               "sid": secrets.token_urlsafe(12)}, separators=(",", ":")).encode())
    return f"v1.{payload}.{_mac(key, payload)}"


def read_token(key: bytes, token: str | None, *, now: float | None = None) -> Session | None:
    """The session a token stands for, or None when it is missing, tampered
    with, expired or revoked (logged out)."""
    if not token or not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "v1":
        return None
    _, payload, mac = parts
    if not hmac.compare_digest(mac, _mac(key, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(int(data["a"]), str(data["sid"]), float(data["iat"]), float(data["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    now = time.time() if now is None else now
    if now >= session.expires_at or session.issued_at > now + 300:
        return None
    if REVOKED.is_revoked(session.sid, now):
        return None
    return session


class Revoked:
    """Session ids logged out before their expiry (kept until that expiry)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def revoke(self, session: Session) -> None:
        with self._lock:
            self._until[session.sid] = session.expires_at

    def is_revoked(self, sid: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            if len(self._until) > 10_000:
                self._until = {k: v for k, v in self._until.items() if v > now}
            return sid in self._until

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


REVOKED = Revoked()


# ---- one-time codes ---------------------------------------------------------
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


# ---- throttling -------------------------------------------------------------
@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class Throttle:
    """Slows down guessing: per username and per client IP, the first
    ``free`` failures cost nothing, then every further failure locks that
    key for a delay that doubles (``base`` seconds, at most ``cap``). While
    locked, attempts are refused without checking the password. Failures
    older than ``window`` seconds are forgotten; a correct login clears the
    username's count (not the IP's, so one valid account cannot reset a
    guessing IP)."""

    def __init__(self, *, user_free: int = 3, ip_free: int = 10, base: float = 2.0, cap: float = 300.0,
                 window: float = 900.0, clock=time.monotonic):
        self.user_free, self.ip_free = user_free, ip_free
        self.base, self.cap, self.window = base, cap, window
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, _Failures] = {}

    @staticmethod
    def _keys(username: str | None, ip: str | None) -> list[tuple[str, str]]:
        keys = [("user", "u:" + (username or "").strip().lower())]
        if ip:
            keys.append(("ip", "ip:" + ip))
        return keys

    def wait(self, username: str | None, ip: str | None = None) -> float:
        """Seconds until this username/IP may try again (0: go ahead)."""
        now = self.clock()
        with self._lock:
            waits = [self._seen[k].locked_until - now for _, k in self._keys(username, ip) if k in self._seen]
        return max([0.0, *waits])

    def failed(self, username: str | None, ip: str | None = None) -> float:
        """Count one failure; returns the lock it caused (0: none yet)."""
        now = self.clock()
        longest = 0.0
        with self._lock:
            if len(self._seen) > 50_000:
                self._seen = {k: v for k, v in self._seen.items() if now - v.last < self.window}
            for kind, key in self._keys(username, ip):
                entry = self._seen.get(key)
                if entry is None or now - entry.last > self.window:
                    entry = self._seen[key] = _Failures()
                entry.count += 1
                entry.last = now
                over = entry.count - (self.user_free if kind == "user" else self.ip_free)
                if over > 0:
                    delay = min(self.cap, self.base * 2 ** (over - 1))
                    entry.locked_until = max(entry.locked_until, now + delay)
                    longest = max(longest, entry.locked_until - now)
        return longest

    def succeeded(self, username: str | None) -> None:
        with self._lock:
            self._seen.pop(self._keys(username, None)[0][1], None)

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


THROTTLE = Throttle()


def try_login(store, username: str, password: str, ip: str | None = None,
              throttle: Throttle | None = None) -> tuple[dict | None, str | None]:
    """One login attempt through the throttle: ``(agent, None)`` on success,
    ``(None, message)`` otherwise. Wrong username and wrong password get the
    same message."""
    from .accounts import authenticate

    throttle = throttle or THROTTLE
    wait = throttle.wait(username, ip)
    if wait > 0:
        return None, f"Too many failed attempts. Try again in {int(wait) + 1} seconds."
    agent = authenticate(store, username, password)
    if agent is None:
        throttle.failed(username, ip)
        return None, WRONG_CREDENTIALS
    throttle.succeeded(username)
    return agent, None


def active_agent(store, session: Session | None) -> dict | None:
    """The session's agent, when it still exists and is active."""
    from .accounts import get_agent

    if session is None:
        return None
    agent = get_agent(store, session.agent_id)
    if agent is None or not agent["active"]:
        return None
    return agent
