"""WhatsApp Business Cloud API: webhook parsing and the sending client."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import requests

from .. import config
from ..i18n import N_, _, later
from ..ingest import Change, Inbound, MediaRef, Parsed
from ..template_submission import TemplateUpdate
from ..ticks import DeliveryStatus
from .base import (MAX_MEDIA, WINDOW_CLOSED, ApiClient, BadPayload, Permanent, RetryLater, Step, answered, call,
                   cannot_send, contact_card, download, from_epoch, json_of, location, need, not_shown, one_part,
                   refused, retry_after_header, too_large)

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"
MEDIA_KINDS = ("image", "video", "document")
INBOUND_FILES = MEDIA_KINDS + ("audio", "sticker")
# A status WhatsApp sends that moves no tick of ours is logged and skipped.
STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed",
            "played": "read"}  # a voice note played has been read
RATE_LIMIT_CODES = {4, 80007, 130429, 131048, 131056}
REASONS = {
    131047: WINDOW_CLOSED,
    131026: later._("The customer cannot receive WhatsApp messages on this number"),
    131051: later._("WhatsApp does not support this message type"),
    132000: later._("The template's values do not match its variables"),
    132001: later._("The template does not exist or is not approved on WhatsApp"),
    132015: later._("The template is paused on WhatsApp"),
    132016: later._("The template is disabled on WhatsApp"),
    190: later._("WhatsApp refused the access token: check {setting}", setting="WHATSAPP_TOKEN"),
}


def parse(payload, phone_number_id: str | None = None) -> Parsed:
    """Every entry, change, message and status of one webhook. Changes for a
    phone number that is not ours are skipped with a log line, and so is any
    part that is not WhatsApp's shape (the rest is stored)."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise BadPayload("not a whatsapp_business_account webhook")
    out = Parsed()
    for entry in need(payload, "entry", list):
        with one_part(out, "WhatsApp webhook entry"):
            for change in need(entry, "changes", list):
                with one_part(out, "WhatsApp webhook change"):
                    _value(out, change, phone_number_id)
    return out


def _value(out: Parsed, change, phone_number_id: str | None) -> None:
    if not isinstance(change, dict):
        raise BadPayload("a change must be an object")
    value = need(change, "value")
    field = change.get("field")
    if field == "message_template_status_update":
        out.templates.append(_template_update(value))
        return
    if field != "messages":
        log.info("WhatsApp webhook field %r skipped", field)
        return
    their = str(need(value, "metadata").get("phone_number_id") or "")
    if not their:
        raise BadPayload("metadata.phone_number_id is missing")
    if phone_number_id and their != str(phone_number_id):
        log.warning("WhatsApp webhook for unknown phone_number_id %r ignored", their)
        return
    names = {}
    for c in value.get("contacts") or []:
        if isinstance(c, dict) and c.get("wa_id"):
            names[str(c["wa_id"])] = str(((c.get("profile") or {}).get("name")) or "")
    for m in value.get("messages") or []:
        with one_part(out, f"WhatsApp message {_id_of(m)}"):
            _message(out, m, names)
    for s in value.get("statuses") or []:
        with one_part(out, f"WhatsApp status {_id_of(s)}"):
            status = _status(s)
            if status is not None:
                out.statuses.append(status)


def _id_of(part) -> str:
    """A part's id for the log line, whatever its shape."""
    return repr(part.get("id"))[:80] if isinstance(part, dict) else "(not an object)"


def _message(out: Parsed, m, names: dict) -> None:
    if not isinstance(m, dict) or not m.get("from") or not m.get("id"):
        raise BadPayload("a message needs 'from' and 'id'")
    sender, pmid, kind = str(m["from"]), str(m["id"]), m.get("type")
    sent_at = from_epoch(m.get("timestamp"))
    if kind in ("reaction", "edit", "revoke"):
        _change(out, m, kind, pmid, sent_at)
        return
    msg = Inbound(channel=CHANNEL, channel_user_id=sender, provider_message_id=pmid,
                  contact_name=names.get(sender, ""), sent_at=sent_at, phone="+" + sender)
    if kind == "text":
        msg.body = str(need(m, "text").get("body") or "")
    elif kind in INBOUND_FILES:
        media = need(m, kind)
        if not media.get("id"):
            raise BadPayload(f"{kind} without a media id")
        msg.kind = kind
        msg.caption = media.get("caption") or None
        if kind == "audio":
            msg.details = {"voice": bool(media.get("voice"))}
        elif kind == "sticker":
            msg.details = {"animated": bool(media.get("animated"))}
        out.media.append(MediaRef(CHANNEL, pmid, str(media["id"]), media.get("filename"), media.get("mime_type")))
    elif kind == "location":
        place = need(m, "location")
        msg.details = location(place.get("latitude"), place.get("longitude"), place.get("name"), place.get("address"))
        msg.kind = "location" if msg.details else "unsupported"
        msg.body = None if msg.details else not_shown(N_("a location that could not be read"), "WhatsApp")
    elif kind == "contacts":
        cards = [_card(c) for c in need(m, "contacts", list) if isinstance(c, dict)]
        msg.kind, msg.details = "contact", {"contacts": cards[:20]}
    elif kind == "button" and isinstance(m.get("button"), dict) and m["button"].get("text"):
        msg.body, msg.details = str(m["button"]["text"]), {"tapped": "button"}  # a quick-reply button on a template
    elif kind == "interactive" and isinstance(m.get("interactive"), dict) and _choice(m["interactive"]):
        msg.body, msg.details = _choice(m["interactive"])
    elif kind == "order" and isinstance(m.get("order"), dict):
        msg.kind, msg.body = "unsupported", _order(m["order"])
    elif kind == "system" and isinstance(m.get("system"), dict):
        system = m["system"]
        if system.get("type") == "user_changed_number" and system.get("wa_id"):
            msg.body = f"The customer changed their WhatsApp number to +{system['wa_id']}."
        else:
            msg.body = "WhatsApp: " + str(system.get("body") or "the customer's account changed")
        msg.kind = "unsupported"
    else:
        what = kind
        if kind == "unsupported" and isinstance(m.get("unsupported"), dict):
            what = m["unsupported"].get("type") or kind
        log.info("WhatsApp message type %r (%r) stored as not shown", kind, what)
        msg.kind, msg.body = "unsupported", not_shown(WHAT.get(what, N_("a kind of message")), "WhatsApp")
    out.messages.append(msg)


# Message types this inbox does not show, in the customer's words.
WHAT = {"interactive": N_("a reply to a button that WhatsApp did not describe"), "poll": N_("a poll"),
        "pool": N_("a poll"), "event": N_("an event invitation"), "view_once": N_("a view-once photo or video"),
        "ephemeral": N_("a disappearing message"), "button": N_("a button reply without text"),
        "request_welcome": N_("a request to start chatting"), "unknown": N_("a kind of message"),
        "unsupported": N_("a kind of message")}


def _change(out: Parsed, m: dict, kind: str, pmid: str, sent_at) -> None:
    part = m.get(kind) if isinstance(m.get(kind), dict) else {}
    sender = str(m["from"])
    if kind == "reaction":
        target = part.get("message_id")
        change = Change(CHANNEL, str(target or ""), "reaction", pmid, sent_at, sender=sender,
                        emoji=str(part.get("emoji") or "") or None)
    elif kind == "edit":
        target, new = part.get("original_message_id"), part.get("message") if isinstance(part.get("message"), dict) else {}
        content = new.get(new.get("type")) if isinstance(new.get(new.get("type")), dict) else {}
        body = content.get("body") if new.get("type") == "text" else None
        caption = content.get("caption") if new.get("type") != "text" else None
        change = Change(CHANNEL, str(target or ""), "edited", pmid, sent_at, sender=sender,
                        body=str(body) if body is not None else None, caption=str(caption) if caption is not None else None)
    else:
        target = part.get("original_message_id")
        change = Change(CHANNEL, str(target or ""), "deleted", pmid, sent_at, sender=sender)
    if not target:
        log.info("WhatsApp %s without the message it is about skipped", kind)
        return
    out.changes.append(change)


def _card(c: dict) -> dict:
    name = c.get("name") if isinstance(c.get("name"), dict) else {}
    full = name.get("formatted_name") or " ".join(p for p in (name.get("first_name"), name.get("last_name")) if p)
    phones = [(p.get("phone"), p.get("wa_id")) for p in c.get("phones") or [] if isinstance(p, dict)]
    emails = [e.get("email") for e in c.get("emails") or [] if isinstance(e, dict)]
    return contact_card(full, phones, emails)


def _order(order: dict) -> str:
    items = [i for i in order.get("product_items") or [] if isinstance(i, dict)]
    listed = ", ".join(f"{i.get('quantity', '?')} × {i.get('product_retailer_id', '?')}" for i in items[:10])
    text = f" “{order['text']}”" if order.get("text") else ""
    return (f"The customer sent an order from the catalog ({listed or 'no items'}){text} — "
            "prices and totals are not shown here: open it in WhatsApp.")


def _choice(interactive: dict) -> tuple[str, dict] | None:
    """The title of the button or list row the customer picked, and which it was."""
    for key, what in (("button_reply", "button"), ("list_reply", "list")):
        picked = interactive.get(key)
        if isinstance(picked, dict) and picked.get("title"):
            return str(picked["title"]), {"tapped": what}
    return None


def _status(s) -> DeliveryStatus | None:
    """A tick for one of our messages; None (logged) for one we do not know."""
    status = STATUSES.get(s.get("status")) if isinstance(s, dict) else None
    if status is None or not s.get("id"):
        log.info("WhatsApp status %r skipped", s.get("status") if isinstance(s, dict) else s)
        return None
    error = None
    if status == "failed":
        errors = s.get("errors") or [{}]
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        error = reason_for(first.get("code"), first.get("title") or first.get("message"))
    return DeliveryStatus(CHANNEL, str(s["id"]), status, error)


def _template_update(value: dict) -> TemplateUpdate:
    if not value.get("event"):
        raise BadPayload("a template update needs 'event'")
    tid = value.get("message_template_id")
    return TemplateUpdate(str(tid) if tid is not None else None, value.get("message_template_name"),
                          value.get("message_template_language"), str(value["event"]), value.get("reason"))


def reason_for(code, message: str | None) -> str:
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = None
    if code in REASONS:
        return REASONS[code]
    return refused("WhatsApp", message, code)


class Client(ApiClient):
    label, base_setting, token_setting = "WhatsApp", "WHATSAPP_API_BASE", "WHATSAPP_TOKEN"

    def __init__(self, base: str | None = None, token: str | None = None, phone_number_id: str | None = None,
                 session: requests.Session | None = None):
        super().__init__(base, token, session)
        self.phone_number_id = phone_number_id if phone_number_id is not None else config.get("WHATSAPP_PHONE_NUMBER_ID")
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    @property
    def missing(self) -> str | None:
        """What is not configured (``i18n.later``); None when connected."""
        need_ = [n for n, v in (("WHATSAPP_TOKEN", self.token), ("WHATSAPP_PHONE_NUMBER_ID", self.phone_number_id)) if not v]
        return later._("{channel} is not connected: set {settings}", channel="WhatsApp",
                       settings=", ".join(need_)) if need_ else None

    def _check(self, resp: requests.Response) -> dict:
        data = json_of(resp)
        if resp.ok:
            return data
        err = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = err.get("code")
        if resp.status_code == 429 or resp.status_code >= 500 or code in RATE_LIMIT_CODES:
            raise RetryLater(answered("WhatsApp", resp.status_code, err.get("message")), retry_after_header(resp))
        raise Permanent(reason_for(code, err.get("message")))

    def steps(self, row: dict) -> list[Step]:
        """Media is uploaded first (repeatable; the id is kept), then sent by id."""
        kind = row["kind"]
        if kind in MEDIA_KINDS:
            return [Step("upload", self._upload_row, upload=True), Step("send", self._send)]
        if kind in ("text", "template"):
            return [Step("send", self._send)]
        raise Permanent(cannot_send("WhatsApp", kind))

    def _upload_row(self, row: dict, media_dir: Path) -> str:
        return self.upload(Path(media_dir) / row["attachment_path"], row["mime"], row["filename"])

    def _send(self, row: dict, media_dir: Path) -> str:
        """POST /messages; returns the wamid."""
        kind = row["kind"]
        body: dict = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": row["channel_user_id"]}
        if kind == "text":
            body.update(type="text", text={"body": row["body"]})
        elif kind in MEDIA_KINDS:
            part = {"id": row["upload_id"]}
            if row.get("caption"):
                part["caption"] = row["caption"]
            if kind == "document" and row.get("filename"):
                part["filename"] = row["filename"]
            body.update(type=kind, **{kind: part})
        else:
            template = {"name": row["template_name"], "language": {"code": row["template_language"]}}
            params = row.get("template_params") or []
            if params:
                template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
            body.update(type="template", template=template)
        data = self._check(call(self.session, "POST", f"{self.base}/{self.phone_number_id}/messages", json=body))
        try:
            return data["messages"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise Permanent(later._("{channel} accepted the message but returned no id", channel="WhatsApp")) from None

    def upload(self, path: Path, mime: str, filename: str) -> str:
        """Outbound media goes to /{phone-number-id}/media first; sends use its id."""
        with open(path, "rb") as f:
            resp = call(self.session, "POST", f"{self.base}/{self.phone_number_id}/media",
                        data={"messaging_product": "whatsapp", "type": mime},
                        files={"file": (filename or path.name, f, mime)})
        data = self._check(resp)
        if not data.get("id"):
            raise Permanent(later._("WhatsApp did not return a media id for the upload"))
        return str(data["id"])

    def submit_template(self, waba_id: str, tpl: dict) -> tuple[str, str]:
        """Send a new template for Meta's review; returns (template id, status)."""
        component = {"type": "BODY", "text": tpl["body"]}
        if tpl["variables"]:
            # Meta wants sample values for every variable.
            component["example"] = {"body_text": [[f"sample {i}" for i in range(1, tpl["variables"] + 1)]]}
        data = self._check(call(self.session, "POST", f"{self.base}/{waba_id}/message_templates", json={
            "name": tpl["name"], "language": tpl["language"], "category": tpl["category"], "components": [component]}))
        if not data.get("id"):
            raise Permanent(later._("WhatsApp did not return a template id"))
        return str(data["id"]), str(data.get("status") or "PENDING")

    TEMPLATE_FIELDS = "name,status,category,language,components,rejected_reason"
    MAX_PAGES = 200  # 100 templates a page: far beyond any account, and a stop for a looping cursor

    def list_templates(self, waba_id: str) -> list[dict]:
        """Every template of the account: GET /{waba-id}/message_templates,
        following ``paging.next`` until the last page."""
        url = f"{self.base}/{waba_id}/message_templates"
        params: dict | None = {"fields": self.TEMPLATE_FIELDS, "limit": 100}
        out: list[dict] = []
        for _page in range(self.MAX_PAGES):
            data = self._check(call(self.session, "GET", url, params=params))
            page = data.get("data")
            if not isinstance(page, list):
                raise Permanent(later._("WhatsApp's template list has no '{field}'", field="data"))
            out += [t for t in page if isinstance(t, dict)]
            following = (data.get("paging") or {}).get("next") if isinstance(data.get("paging"), dict) else None
            if not following:
                return out
            url, params = following, None  # the next link carries the cursor and the fields
        raise Permanent(later._("WhatsApp's template list did not end after {count} pages", count=self.MAX_PAGES))

    def check(self) -> str:
        """Send test: one harmless authenticated call (GET the phone number)."""
        data = self._check(call(self.session, "GET", f"{self.base}/{self.phone_number_id}",
                                params={"fields": "verified_name,display_phone_number,quality_rating"}))
        return _("Phone number {number} ({name}), quality {quality}").format(
            number=data.get("display_phone_number", "?"), name=data.get("verified_name") or _("no name"),
            quality=data.get("quality_rating") or _("unknown"))

    def fetch(self, ref: MediaRef) -> bytes:
        """Inbound media: GET /{media-id} for the URL, then the bytes (both with the token)."""
        info = self._check(call(self.session, "GET", f"{self.base}/{ref.ref}"))
        if not info.get("url"):
            raise Permanent(later._("WhatsApp gave no download URL for the file"))
        size = info.get("file_size")
        if isinstance(size, int) and size > MAX_MEDIA:
            raise Permanent(too_large(MAX_MEDIA))
        return download(self.session, info["url"])


def envelope(messages=(), statuses=(), contacts=(), phone_number_id="PNID", waba_id="WABA") -> dict:
    """A webhook body in Meta's shape (tests, benchmark, simulator docs)."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id}}
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}]}


def dumps(payload) -> bytes:
    # Meta escapes non-ASCII, and signs those bytes.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
