"""What the three channel modules share: the parsed form of a webhook, the
two kinds of send failure, signature checks and an HTTP helper with timeouts
and a bounded download."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import requests
from urllib3.exceptions import ConnectTimeoutError

from .. import config
from ..common import preview
from ..errors import ValidationError
from ..i18n import _, later

log = logging.getLogger(__name__)
MAX_MEDIA = 16 * 1024 * 1024  # inbound files larger than this are not fetched
TIMEOUT = (5, 30)             # (connect, read) seconds on every provider call
WINDOW_CLOSED = later._("24-hour window closed — send a template")


class BadPayload(ValueError):
    """A webhook body that is not the provider's shape: answered 400."""


class Permanent(Exception):
    """The provider refused the message for good; the text is the reason a
    person reads next to the failed message, stored as ``i18n.later`` says
    (shown in the reader's language)."""


class RetryLater(Exception):
    """Rate limit, server error or network trouble: try again later."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class MaybeDone(RetryLater):
    """The request went out but no answer came (read timeout, connection
    dropped): the provider may have acted on it. Safe to repeat only a call
    that does no harm twice (a download, an upload), never a send."""


def meta_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Meta's X-Hub-Signature-256 over the raw bytes, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[7:].strip().lower())


def sign(secret: str, body: bytes) -> str:
    """The header value Meta would send (tests, the benchmark)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def from_epoch(value, millis: bool = False) -> datetime | None:
    """A provider's Unix time, or None when it is missing or nonsense (not a
    number, out of range, or more than a day ahead). None means "now": the
    message is still stored, and a far-future time cannot keep a chat on top
    or its 24-hour window open for ever."""
    try:
        when = datetime.fromtimestamp(float(value) / (1000 if millis else 1), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):  # OverflowError/OSError: past what a datetime holds
        return None
    return None if when > datetime.now(timezone.utc) + timedelta(days=1) else when


def not_shown(what: str, app: str) -> str:
    """What a message this inbox cannot show was, in the customer's words
    (``what`` marked with N_). It is the message's text, stored once, listed
    as the chat's preview: written in the team's language (MAXCHAT_LANGUAGE:
    a webhook has no person behind it), not in each reader's."""
    return _("The customer sent {what} — not shown here: open it in {app}.").format(what=_(what), app=app)


def location(lat, lon, name=None, address=None) -> dict | None:
    """A shared place as stored (``details``): coordinates that are real
    numbers on the globe, name and address as one line each; None when the
    coordinates are not."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    place = {"lat": lat, "lon": lon}
    for key, value in (("name", name), ("address", address)):
        if isinstance(value, str) and value.strip():
            place[key] = preview(value, 200)
    return place


def contact_card(name, phones, emails=()) -> dict:
    """One shared contact as stored: a name, at most 10 phone numbers (with
    the WhatsApp id when the channel gave one) and 10 emails, each one line."""
    card = {"name": preview(str(name or ""), 100) or "No name",
            "phones": [{"phone": preview(str(p), 40), **({"wa_id": preview(str(w), 40)} if w else {})}
                       for p, w in list(phones)[:10] if p],
            "emails": [preview(str(e), 120) for e in list(emails)[:10] if e]}
    return card


# What a part of a webhook that is not the provider's shape raises in a parser.
SHAPE_ERRORS = (BadPayload, ValidationError, ValueError, AttributeError, TypeError, KeyError, IndexError)


@functools.cache
def _lists_of(kind: type) -> tuple[str, ...]:
    # dataclasses.fields() builds its answer on every call: 3 parts a webhook.
    return tuple(f.name for f in dataclasses.fields(kind))


@contextmanager
def one_part(out, what: str):
    """One entry, event or message of a webhook (``out`` is its ``Parsed``).
    A part that is not the provider's shape is logged and skipped, with
    whatever it had already added to ``out``: the rest of the webhook is
    stored and the provider gets its 200 (nothing acknowledged is lost, and
    one odd message does not make the provider retry, and refuse, the
    others for days)."""
    lists = {name: len(getattr(out, name)) for name in _lists_of(type(out))}
    try:
        yield
        for m in out.messages[lists["messages"]:]:
            m.check()
    except SHAPE_ERRORS as exc:
        for name, size in lists.items():
            del getattr(out, name)[size:]
        log.warning("%s skipped: %s", what, exc)


def need(obj, key, kind=dict):
    """``obj[key]`` of the given type, or BadPayload."""
    if not isinstance(obj, dict):
        raise BadPayload(f"expected an object around {key!r}")
    value = obj.get(key)
    if not isinstance(value, kind):
        raise BadPayload(f"{key!r} must be {kind.__name__ if isinstance(kind, type) else kind}")
    return value


def retry_after_header(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def call(session: requests.Session, method: str, url: str, **kw) -> requests.Response:
    """One HTTP call with timeouts; network trouble becomes RetryLater when
    the request never reached the provider, MaybeDone when it may have."""
    kw.setdefault("timeout", TIMEOUT)
    try:
        return session.request(method, url, **kw)
    except requests.RequestException as exc:
        if _never_connected(exc):
            raise RetryLater(later._("network error: {error}", error=type(exc).__name__)) from exc
        raise MaybeDone(later._("no answer: {error}", error=type(exc).__name__)) from exc


def _never_connected(exc: requests.RequestException) -> bool:
    """Refused, unresolvable or timed out while connecting: nothing was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, ConnectTimeoutError)


def json_of(resp: requests.Response) -> dict:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def download(session: requests.Session, url: str, limit: int | None = None, **kw) -> bytes:
    """GET a file, refusing more than ``limit`` bytes without reading them all."""
    limit = limit or MAX_MEDIA
    kw.setdefault("timeout", TIMEOUT)
    try:
        with session.get(url, stream=True, **kw) as resp:
            if resp.status_code == 429 or resp.status_code >= 500:
                raise RetryLater(later._("file download answered {status}", status=str(resp.status_code)),
                                 retry_after_header(resp))
            if resp.status_code >= 400:
                raise Permanent(later._("the file could not be downloaded (HTTP {status})",
                                        status=str(resp.status_code)))
            size = resp.headers.get("Content-Length")
            if size and size.isdigit() and int(size) > limit:
                raise Permanent(too_large(limit))
            chunks, total = [], 0
            for chunk in resp.iter_content(64 * 1024):
                total += len(chunk)
                if total > limit:
                    raise Permanent(too_large(limit))
                chunks.append(chunk)
            return b"".join(chunks)
    except requests.RequestException as exc:
        raise RetryLater(later._("network error: {error}", error=type(exc).__name__)) from exc


def answered(channel: str, status: int, error: str | None) -> str:
    """A provider's answer to try again after (429, 5xx): its own words are data."""
    if error:
        return later._("{channel} answered {status}: {error}", channel=channel, status=str(status), error=error)
    return later._("{channel} answered {status}", channel=channel, status=str(status))


def refused(channel: str, error: str | None, code=None) -> str:
    """A refusal we have no sentence of our own for: the provider's words."""
    error = error or later._("unknown error")
    if code:
        return later._("{channel} refused the message: {error} (code {code})", channel=channel, error=error,
                       code=str(code))
    return later._("{channel} refused the message: {error}", channel=channel, error=error)


def cannot_send(channel: str, kind: str) -> str:
    return later._("{channel} cannot send this kind of message ({kind})", channel=channel, kind=kind)


def too_large(limit: int) -> str:
    return later._("the file is larger than {size} MB", size=limit // (1024 * 1024))


@dataclass(frozen=True)
class Step:
    """One provider call of an outbound message; the delivery worker records
    each one done before it makes the next, so a retry never repeats one.
    An ``upload`` may safely be made again (its result, a media id, is kept
    for the next step); any other step puts something in front of the
    customer, and its result is the provider's message id."""
    name: str
    run: Callable[[dict, Path], str]
    upload: bool = False


class ApiClient:
    """A provider client's base URL, token and HTTP session, from the
    configuration unless a test passes its own."""

    label = base_setting = token_setting = ""

    def __init__(self, base: str | None = None, token: str | None = None, session: requests.Session | None = None):
        self.base = (base or config.get(self.base_setting)).rstrip("/")
        self.token = token if token is not None else config.get(self.token_setting)
        self.session = session or requests.Session()

    @property
    def missing(self) -> str | None:
        """What is not configured, a sentence as ``i18n.later`` stores it
        (``i18n.shown`` says it); None when connected."""
        return None if self.token else later._("{channel} is not connected: set {settings}", channel=self.label,
                                                settings=self.token_setting)
