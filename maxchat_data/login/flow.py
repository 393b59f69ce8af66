"""A login attempt and what a session stands for.

How a login flows:
1. The login form calls ``try_login``: the throttle reserves the attempt
   (locked? say so, check nothing), at most ``VERIFY_SLOTS`` password
   checks run at once (argon2 takes ~64 MB each), a failure stays counted.
2. On success the form makes the signed token (``start_session``), parks it
   behind a one-time code (``CODES.issue``) and the browser POSTs that code
   to ``/auth/session``, which sets the token as the HttpOnly cookie.
3. Every script run reads the request's cookie again and asks
   ``active_agent``: signature, expiry, logout, epoch, account active.
4. ``/auth/logout`` revokes the session id (stored) and clears the cookie.
"""
from __future__ import annotations

import threading

from .. import accounts
from ..i18n import N_, _
from . import sessions
from .throttle import THROTTLE, Throttle
from .tokens import Session, make_token, secret_key

# What a refused login reads (try_login returns them translated).
WRONG_CREDENTIALS = N_("Wrong username or password.")
DEACTIVATED = N_("This account is deactivated.")
BUSY = N_("The server is busy checking other logins. Try again in a moment.")
VERIFY_SLOTS = threading.BoundedSemaphore(2)
VERIFY_WAIT_S = 3.0


def try_login(store, username: str, password: str, address: str | None = None,
              throttle: Throttle | None = None) -> tuple[dict | None, str | None]:
    """One login attempt from ``address``: ``(agent, None)`` on success,
    ``(None, message)`` otherwise. A wrong username and a wrong password get
    the same message; "deactivated" only comes after the right password."""
    throttle = throttle or THROTTLE
    ticket, wait = throttle.reserve(username, address)
    if ticket is None:
        return None, _("Too many failed attempts. Try again in {seconds} seconds.").format(seconds=int(wait) + 1)
    if not VERIFY_SLOTS.acquire(timeout=VERIFY_WAIT_S):
        throttle.refund(ticket)  # no password was checked
        return None, _(BUSY)
    try:
        agent = accounts.verify_password(store, username, password)
    finally:
        VERIFY_SLOTS.release()
    if agent is None:
        return None, _(WRONG_CREDENTIALS)
    throttle.succeeded(ticket)
    if not agent.pop("active"):
        return None, _(DEACTIVATED)
    return agent, None


def start_session(store, agent_id: int) -> str:
    """A new session token for the agent, under the agent's current epoch."""
    return make_token(secret_key(store), agent_id, epoch=sessions.epoch(store, agent_id))


def active_agent(store, session: Session | None) -> dict | None:
    """The session's agent, when the session still counts (not logged out,
    current epoch) and the agent still exists and is active."""
    if not sessions.is_live(store, session):
        return None
    agent = accounts.get_agent(store, session.agent_id)
    if agent is None or not agent["active"]:
        return None
    return agent
