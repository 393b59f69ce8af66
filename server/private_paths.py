"""Streamlit endpoints this app does not offer to the network. They cannot be
replaced by routes (st.App reserves /_stcore/), so a middleware in front of
Streamlit's own answers them first."""
from __future__ import annotations

from starlette.responses import PlainTextResponse

# /_stcore/metrics answers anyone, before any login, with the number of open
# sessions and the memory each cache holds.
REFUSED = ("/_stcore/metrics",)


class RefusePrivatePaths:
    """Pure ASGI (not BaseHTTPMiddleware): every other request, the websocket
    included, passes through untouched and unbuffered."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        # endswith: the same path under a server.baseUrlPath prefix, with or without a trailing slash.
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith(REFUSED):
            await PlainTextResponse("not found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)
