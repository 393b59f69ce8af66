"""server/session_binding.py: the identity Streamlit binds a session to is
written by the server from the login cookie, never taken from the client."""
from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

from server.session_binding import HEADER, BindSessionsToLogin


def identity_seen(headers: list[tuple[bytes, bytes]], kind: str = "websocket") -> list[bytes]:
    seen = []

    async def app(scope, receive, send):
        seen.extend(value for name, value in scope["headers"] if name == HEADER)

    asyncio.run(BindSessionsToLogin(app)({"type": kind, "headers": headers}, None, None))
    return seen


def test_the_identity_is_the_login_cookies_digest_and_a_clients_own_is_dropped():
    mine = identity_seen([(b"cookie", b"_streamlit_xsrf=abc; maxchat_session=token-one")])
    assert len(mine) == 1 and len(mine[0]) == 32 and b"token-one" not in mine[0]
    assert identity_seen([(b"cookie", b"maxchat_session=token-one; other=1")], "http") == mine
    assert identity_seen([(b"cookie", b"maxchat_session=token-two")]) != mine
    # No login cookie: the anonymous identity, whatever the client claims.
    assert identity_seen([(HEADER, mine[0]), (b"cookie", b"_streamlit_xsrf=abc")]) == [b""]
    assert identity_seen([(HEADER, mine[0])]) == [b""]
    assert identity_seen([(b"x-maxchat-login", mine[0]), (b"cookie", b"maxchat_session=token-two")]) != mine


def test_streamlit_is_told_to_bind_sessions_to_that_header():
    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    headers = {name.lower().encode(): key for name, key in config["server"]["trustedUserHeaders"].items()}
    assert HEADER in headers
