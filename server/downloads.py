"""``GET /download/<token>``: the files a page offers (CSV and Parquet of a
report table, a console result), made when the link is clicked.

Why not Streamlit's own deferred download button: the file it makes on a
click is kept by no session, and every script run of any session sweeps
such files, so with a team's live pages ticking the file is often gone
before the browser fetches it (the download fails). Here the page registers
how to make the file under a token that stays the same across its reruns;
the route makes it when asked, for the same login only.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from maxchat_data import i18n, login

from . import runtime

# An offer not shown again for this long is forgotten (the page is gone).
KEEP_S = 30 * 60
# At most this many offers are held; the oldest go first. Each holds what the
# page showed (a console result is at most 8 MB).
MAX_OFFERS = 2000


@dataclass
class Offer:
    make: Callable[[], bytes]
    filename: str
    mime: str
    login_sid: str
    language: str
    seen: float


_lock = threading.Lock()
_offers: dict[str, Offer] = {}


def offer(token: str | None, make: Callable[[], bytes], filename: str, mime: str, login_sid: str) -> str:
    """Register (or refresh) how to make one file for one login; returns the
    token to put in the link. Pass the token this page got last time so the
    link stays the same across reruns: a click while the page redraws still
    finds it."""
    with _lock:
        now = time.monotonic()
        for old in [t for t, o in _offers.items() if now - o.seen > KEEP_S]:
            del _offers[old]
        if token is None or token not in _offers or _offers[token].login_sid != login_sid:
            token = secrets.token_urlsafe(24)
        _offers[token] = Offer(make, filename, mime, login_sid, i18n.current(), now)
        while len(_offers) > MAX_OFFERS:
            del _offers[min(_offers, key=lambda t: _offers[t].seen)]
        return token


def _serve(token: str, cookie: str | None) -> Response:
    store = runtime.store()
    session = login.read_token(login.secret_key(store), cookie)
    if session is None or login.active_agent(store, session) is None:
        return PlainTextResponse("Log in to download this file.", status_code=403)
    with _lock:
        item = _offers.get(token)
    if item is None or item.login_sid != session.sid:
        return PlainTextResponse("This download is no longer offered: reload the page and click it again.",
                                 status_code=404)
    i18n.use(item.language)  # headers in the language the page was shown in
    return Response(item.make(), media_type=item.mime, headers={
        "Content-Disposition": f'attachment; filename="{item.filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


async def download_route(request):
    # reads the database and makes the file: off the event loop, which serves the webhooks
    return await run_in_threadpool(_serve, request.path_params["token"], request.cookies.get(login.COOKIE_NAME))


def routes() -> list:
    return [Route("/download/{token}", download_route, methods=["GET"])]
