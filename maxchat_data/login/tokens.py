"""The session cookie's value: a signed token ``v1.<payload>.<hmac>`` naming
the agent, a random session id (what logout revokes), the agent's session
epoch (what a password change or deactivation moves on) and its times; and
the key that signs it."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

from .. import config, settings

COOKIE_NAME = "maxchat_session"
DEFAULT_SESSION_HOURS = 12.0


def session_hours() -> float:
    """MAXCHAT_SESSION_HOURS (default 12): how long a login lasts."""
    try:
        hours = float(config.get("MAXCHAT_SESSION_HOURS") or DEFAULT_SESSION_HOURS)
    except ValueError:
        return DEFAULT_SESSION_HOURS
    return hours if hours > 0 else DEFAULT_SESSION_HOURS


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
                value = settings.keep_first(store, settings.SIGNING_KEY, secrets.token_hex(32))
            _keys[store.path] = value.encode()
        return _keys[store.path]


@dataclass(frozen=True)
class Session:
    agent_id: int
    sid: str          # random session id: what logout revokes
    issued_at: float
    expires_at: float
    epoch: int = 0    # the agent's session epoch when it was made


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, b"maxchat-session-v1." + payload.encode(), hashlib.sha256).digest())


def make_token(key: bytes, agent_id: int, *, epoch: int = 0, now: float | None = None,
               hours: float | None = None) -> str:
    now = time.time() if now is None else now
    hours = session_hours() if hours is None else hours
    payload = _b64(json.dumps({"a": int(agent_id), "iat": int(now), "exp": int(now + hours * 3600),
                               "sid": secrets.token_urlsafe(12), "e": int(epoch)}, separators=(",", ":")).encode())
    return f"v1.{payload}.{_mac(key, payload)}"


def read_token(key: bytes, token: str | None, *, now: float | None = None) -> Session | None:
    """The session a token stands for, or None when it is missing, tampered
    with or expired. Whether it was revoked since is ``sessions.is_live``."""
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
        session = Session(int(data["a"]), str(data["sid"]), float(data["iat"]), float(data["exp"]),
                          int(data.get("e", 0)))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    now = time.time() if now is None else now
    if now >= session.expires_at or session.issued_at > now + 300:
        return None
    return session
