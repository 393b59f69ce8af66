"""The login routes: ``/auth/session`` trades a one-time code for the
session cookie, ``/auth/logout`` ends the session. The rules are in
``maxchat_data.login``."""
from __future__ import annotations

import time
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from maxchat_data import login

from . import runtime


def _secure(request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def _same_origin(request) -> bool:
    """Refuse a cross-site POST (login or logout CSRF). Browsers send Origin with every
    form POST; a missing one is not a browser we serve, and ``null`` (a
    sandboxed frame, a data: page, a cross-site redirect) is cross-site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def session_route(request):
    """POST /auth/session (form field ``code``): trade a one-time code for
    the session cookie, then 303 to the app. An unknown, used or expired
    code goes back to the login form with ``?login=expired``."""
    if not _same_origin(request):
        return PlainTextResponse("Cross-site login refused.", status_code=403)
    body = (await request.body()).decode("utf-8", "replace")
    code = (parse_qs(body).get("code") or [""])[0]
    token = login.CODES.redeem(code)
    session = login.read_token(login.secret_key(runtime.store()), token) if token else None
    if session is None:
        return RedirectResponse("/?login=expired", status_code=303)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(login.COOKIE_NAME, token, max_age=max(1, int(session.expires_at - time.time())), path="/",
                        httponly=True, samesite="lax", secure=_secure(request))
    response.headers["Cache-Control"] = "no-store"
    return response


async def logout_route(request):
    """POST /auth/logout from our own page: revoke the session (kept in the
    database, so the old cookie stays dead after a restart) and clear the
    cookie. Not a GET, and not from another site: a link or a page
    elsewhere cannot log anyone out."""
    if not _same_origin(request):
        return PlainTextResponse("Cross-site logout refused.", status_code=403)
    token = request.cookies.get(login.COOKIE_NAME)
    if token:
        store = runtime.store()
        session = login.read_token(login.secret_key(store), token)
        if session is not None:
            await run_in_threadpool(login.revoke, store, session)  # a commit: off the event loop
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(login.COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=_secure(request))
    response.headers["Cache-Control"] = "no-store"
    return response


def routes() -> list:
    return [Route("/auth/session", session_route, methods=["POST"]),
            Route("/auth/logout", logout_route, methods=["POST"])]
