"""Each Streamlit session bound to the login it was opened with.

Streamlit lets a websocket resume a session by its id (the third websocket
subprotocol), and a session id shows in upload URLs, so in proxy logs. The
pages re-check the login cookie on every run, so such a websocket sees no
one's data; but resuming disconnected the session's own browser, whose
reconnect took the session back, and the two went on taking it from each
other. Streamlit refuses a resume whose user identity differs from the one
the session was opened with (``server.trustedUserHeaders`` in
.streamlit/config.toml maps ``HEADER`` into it): this middleware writes that
identity itself into every request, a digest of the login cookie (empty
without one), over anything a client sent under that name."""
from __future__ import annotations

import hashlib

from starlette.requests import cookie_parser

from maxchat_data.login.tokens import COOKIE_NAME

HEADER = b"x-maxchat-login"


def login_identity(headers: list[tuple[bytes, bytes]]) -> bytes:
    """A digest of the request's login cookie, b"" without one."""
    cookies = "; ".join(value.decode("latin-1") for name, value in headers if name == b"cookie")
    token = cookie_parser(cookies).get(COOKIE_NAME, "")
    return hashlib.sha256(token.encode()).hexdigest()[:32].encode() if token else b""


class BindSessionsToLogin:
    """Pure ASGI: only the headers change; nothing is buffered."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = [(name, value) for name, value in scope["headers"] if name != HEADER]
            scope = {**scope, "headers": [*headers, (HEADER, login_identity(headers))]}
        await self.app(scope, receive, send)
