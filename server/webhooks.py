"""The webhook routes of the three channels and ``/healthz``, served beside
the Streamlit app (st.App routes).

A webhook is checked (signature over the raw bytes, constant time) before it
is parsed, parsed completely before anything is queued, then every write is
queued on the store and awaited together: one group commit, no blocking of
the event loop, and the 200 goes out only after the commit. Nothing in a
request calls a provider; media and profiles are fetched by the workers."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from maxchat_data import config
from maxchat_data.channels import BadPayload, messenger, telegram, whatsapp
from maxchat_data.channels.base import meta_signature_ok
from maxchat_data.errors import ValidationError
from maxchat_data.ingest import queue_parsed

from . import runtime

log = logging.getLogger(__name__)
OK = PlainTextResponse("ok")
# A body of the wrong shape can surface as any of these inside a parser;
# RecursionError: JSON nested deeper than Python's parser goes.
SHAPE_ERRORS = (ValueError, BadPayload, AttributeError, TypeError, KeyError, IndexError, RecursionError)
MAX_BODY = 2 * 1024 * 1024  # provider webhooks are a few KB; refuse floods before reading them


async def _body(request: Request) -> bytes | None:
    """The raw body, or None when it is larger than MAX_BODY."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        return None if int(declared) > MAX_BODY else await request.body()
    chunks, size = [], 0  # chunked: count as it comes
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def healthz(request: Request) -> JSONResponse:
    """Up, and the database answers. Nothing more: anyone can ask (the change
    counter would tell an outsider how busy the inbox is)."""
    await run_in_threadpool(runtime.store().one, "SELECT 1")  # a real read, off the event loop
    return JSONResponse({"status": "ok"})


def _verify(request: Request, token_name: str) -> Response:
    """Meta's subscribe handshake: echo the challenge when the token matches."""
    expected = config.get(token_name)
    q = request.query_params
    given = q.get("hub.verify_token") or ""
    if expected and q.get("hub.mode") == "subscribe" and hmac.compare_digest(given.encode(), expected.encode()):
        return PlainTextResponse(q.get("hub.challenge") or "")
    return PlainTextResponse("forbidden", status_code=403)


async def _commit(parsed) -> Response:
    try:
        futures = queue_parsed(runtime.store(), parsed)
    except ValidationError as exc:
        return PlainTextResponse(f"bad request: {exc}", status_code=400)
    except RuntimeError:  # the store is closing: let the provider retry
        return PlainTextResponse("unavailable", status_code=503)
    if len(futures) == 1:  # the usual webhook: one message
        await asyncio.wrap_future(futures[0])
    elif futures:
        # Not awaited one by one: all of them commit in one group anyway.
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    return OK


async def _meta_post(request: Request, secret_name: str, parse) -> Response:
    secret = config.get(secret_name)
    if not secret:
        log.warning("webhook refused: %s is not set", secret_name)
        return PlainTextResponse("not configured", status_code=403)
    body = await _body(request)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    if not meta_signature_ok(secret, body, request.headers.get("x-hub-signature-256")):
        return PlainTextResponse("bad signature", status_code=401)
    try:
        parsed = parse(json.loads(body))
    except SHAPE_ERRORS as exc:  # JSONDecodeError is a ValueError
        log.info("webhook refused: %s", exc)
        return PlainTextResponse("bad request", status_code=400)
    return await _commit(parsed)


async def whatsapp_get(request: Request) -> Response:
    return _verify(request, "WHATSAPP_VERIFY_TOKEN")


async def whatsapp_post(request: Request) -> Response:
    pnid = config.get("WHATSAPP_PHONE_NUMBER_ID")
    return await _meta_post(request, "WHATSAPP_APP_SECRET", lambda p: whatsapp.parse(p, pnid))


async def messenger_get(request: Request) -> Response:
    return _verify(request, "MESSENGER_VERIFY_TOKEN")


async def messenger_post(request: Request) -> Response:
    return await _meta_post(request, "MESSENGER_APP_SECRET", messenger.parse)


async def telegram_post(request: Request) -> Response:
    secret = config.get("TELEGRAM_WEBHOOK_SECRET")
    given = request.headers.get("x-telegram-bot-api-secret-token") or ""
    if not secret:
        return PlainTextResponse("not configured", status_code=403)
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return PlainTextResponse("bad secret", status_code=401)
    body = await _body(request)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    try:
        parsed = telegram.parse(json.loads(body))
    except SHAPE_ERRORS as exc:
        log.info("telegram webhook refused: %s", exc)
        return PlainTextResponse("bad request", status_code=400)
    return await _commit(parsed)


def routes() -> list[Route]:
    """The routes, as st.App serves them (and tests mount them)."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/webhooks/whatsapp", whatsapp_get, methods=["GET"]),
        Route("/webhooks/whatsapp", whatsapp_post, methods=["POST"]),
        Route("/webhooks/messenger", messenger_get, methods=["GET"]),
        Route("/webhooks/messenger", messenger_post, methods=["POST"]),
        Route("/webhooks/telegram", telegram_post, methods=["POST"]),
    ]


class WebhooksFirst:
    """Pure ASGI, in front of Streamlit's own middleware (path checks,
    session cookie, gzip, exception pages) and its router: a request to
    exactly one of ``routes()`` (path and method) goes straight to its
    endpoint. A provider's request uses none of what is skipped, and at
    1,500 webhooks/s the layers skipped cost the event loop as much as the
    webhook itself. Anything else (another method, a trailing slash, a
    root path) passes through untouched to the same routes."""

    def __init__(self, app):
        self.app = app
        self.endpoints = {(r.path, m): r.endpoint for r in routes() for m in r.methods if m != "HEAD"}

    async def __call__(self, scope, receive, send):
        endpoint = self.endpoints.get((scope["path"], scope.get("method"))) if scope["type"] == "http" else None
        if endpoint is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        response = await endpoint(Request(scope, receive))
        await response(scope, receive, send)
