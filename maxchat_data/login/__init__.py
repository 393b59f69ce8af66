"""Logins and sessions (U1): signed tokens, stored revocations and epochs, one-time codes, the throttle, the login flow.
Who may import it: ui/auth.py, server/login_routes.py, accounts (epochs) and tests; it imports no web framework."""
from __future__ import annotations

from .codes import CODE_SECONDS, CODES, OneTimeCodes
from .flow import BUSY, DEACTIVATED, WRONG_CREDENTIALS, active_agent, start_session, try_login
from .sessions import revoke
from .throttle import THROTTLE, Throttle, client_address
from .tokens import (COOKIE_NAME, DEFAULT_SESSION_HOURS, Session, _keys, make_token, read_token, secret_key,
                     session_hours)

__all__ = ["BUSY", "CODE_SECONDS", "CODES", "COOKIE_NAME", "DEACTIVATED", "DEFAULT_SESSION_HOURS", "OneTimeCodes",
           "Session", "THROTTLE", "Throttle", "WRONG_CREDENTIALS", "_keys", "active_agent", "client_address",
           "make_token", "read_token", "revoke", "secret_key", "session_hours", "start_session", "try_login"]
