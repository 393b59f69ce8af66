"""Facebook Messenger Platform: webhook parsing and the sending client."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import requests

from ..i18n import N_, _, later
from ..ingest import Change, Inbound, MediaRef, Parsed
from ..ticks import DeliveryStatus, Watermark
from .base import (WINDOW_CLOSED, ApiClient, BadPayload, Permanent, RetryLater, Step, answered, call, cannot_send,
                   download, from_epoch, json_of, location, need, not_shown, one_part, refused, retry_after_header)

log = logging.getLogger(__name__)
CHANNEL = "messenger"
ATTACHMENT_KINDS = {"image": "image", "video": "video", "file": "document", "audio": "audio"}
LIKE_STICKERS = {369239263222822, 369239343222814, 369239383222810}  # the thumbs-up, in its three sizes
ATTACHMENT_WORDS = {"template": N_("a card"), "ig_reel": N_("an Instagram reel"), "reel": N_("a reel"),
                    "story_mention": N_("a story mention"), "product": N_("a product"), "share": N_("a shared post")}
SEND_TYPES = {"image": "image", "video": "video", "document": "file"}
RATE_LIMIT_CODES = {4, 17, 32, 613}


def parse(payload) -> Parsed:
    """Every entry and event of one webhook; an entry or event that is not
    Messenger's shape is logged and skipped (the rest is stored)."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        raise BadPayload("not a page webhook")
    out = Parsed()
    for entry in need(payload, "entry", list):
        with one_part(out, "Messenger webhook entry"):
            # "standby": messages another app of the page answers; the team still sees them.
            if not isinstance(entry, dict):
                raise BadPayload("an entry must be an object")
            events = [e for key in ("messaging", "standby") if entry.get(key) for e in need(entry, key, list)]
            for event in events:
                with one_part(out, f"Messenger event {_mid_of(event)}"):
                    _event(out, event)
    return out


def _mid_of(event) -> str:
    """An event's message id for the log line, whatever its shape."""
    m = event.get("message") if isinstance(event, dict) else None
    return repr(m.get("mid"))[:80] if isinstance(m, dict) else "(no mid)"


def _event(out: Parsed, event) -> None:
    if not isinstance(event, dict):
        raise BadPayload("a messaging event must be an object")
    sender = str((event.get("sender") or {}).get("id") or "")
    if "message" in event:
        _message(out, event, sender)
    elif "postback" in event:
        _postback(out, event, sender)
    elif "reaction" in event:
        _reaction(out, event, sender)
    elif "delivery" in event:
        d = need(event, "delivery")
        if not sender:
            raise BadPayload("a delivery receipt needs a sender")
        for mid in d.get("mids") or []:
            out.statuses.append(DeliveryStatus(CHANNEL, str(mid), "delivered"))
        if d.get("watermark"):
            out.watermarks.append(Watermark(CHANNEL, sender, from_epoch(d["watermark"], True), "delivered"))
    elif "read" in event:
        r = need(event, "read")
        if not sender or not r.get("watermark"):
            raise BadPayload("a read receipt needs a sender and a watermark")
        out.watermarks.append(Watermark(CHANNEL, sender, from_epoch(r["watermark"], True), "read"))
    else:
        log.info("Messenger event %s skipped", sorted(k for k in event if k not in ("sender", "recipient", "timestamp")))


def _postback(out: Parsed, event: dict, sender: str) -> None:
    """"Get Started" or a menu button: stored as what the customer tapped."""
    p = need(event, "postback")
    if not sender:
        raise BadPayload("a postback needs a sender")
    # Newer postbacks carry a mid; older ones only the time, which with the
    # sender still names this one tap.
    pmid = str(p.get("mid") or f"postback:{sender}:{event.get('timestamp')}")
    title = str(p.get("title") or p.get("payload") or "a button")
    out.messages.append(Inbound(channel=CHANNEL, channel_user_id=sender, provider_message_id=pmid, body=title,
                                sent_at=from_epoch(event.get("timestamp"), True), details={"tapped": "button"}))
    out.profiles.append((CHANNEL, sender))


def _reaction(out: Parsed, event: dict, sender: str) -> None:
    r = need(event, "reaction")
    if not sender:
        raise BadPayload("a reaction needs a sender")
    if not r.get("mid"):
        log.info("Messenger reaction without the message it is about skipped")
        return
    emoji = None if r.get("action") == "unreact" else (str(r.get("emoji") or "") or None)
    out.changes.append(Change(CHANNEL, str(r["mid"]), "reaction", f"reaction:{sender}:{event.get('timestamp')}",
                              from_epoch(event.get("timestamp"), True), sender=sender, emoji=emoji))


def _message(out: Parsed, event: dict, sender: str) -> None:
    m = need(event, "message")
    if m.get("is_echo"):
        return  # our own send, already in the store
    if not sender or not m.get("mid"):
        raise BadPayload("a message needs a sender and a mid")
    mid, sent_at = str(m["mid"]), from_epoch(event.get("timestamp"), True)
    attachments = m.get("attachments") or []
    text = m.get("text")
    if not isinstance(attachments, list):
        raise BadPayload("attachments must be a list")
    # Several photos come as one message: one stored message per attachment
    # (ids mid, mid#1, mid#2 …), the text as the first one's caption.
    for i, att in enumerate(attachments):
        att = att if isinstance(att, dict) else {}
        pmid = mid if i == 0 else f"{mid}#{i}"
        msg = Inbound(channel=CHANNEL, channel_user_id=sender, provider_message_id=pmid, sent_at=sent_at)
        payload = att.get("payload") if isinstance(att.get("payload"), dict) else {}
        kind, url = ATTACHMENT_KINDS.get(att.get("type")), payload.get("url")
        sticker = m.get("sticker_id") or payload.get("sticker_id")
        if kind == "image" and sticker:
            kind = "sticker"
            msg.details = {"emoji": "👍"} if sticker in LIKE_STICKERS else {}
        if kind and url:
            msg.kind, msg.caption = kind, (text or None) if i == 0 else None
            if kind == "audio":
                # The voice recorder names its clips audioclip-…
                msg.details = {"voice": "audioclip" in str(url)}
            out.media.append(MediaRef(CHANNEL, pmid, str(url)))
        elif att.get("type") == "location" and location(*_coordinates(payload)):
            msg.kind, msg.details = "location", location(*_coordinates(payload), att.get("title"))
        elif att.get("type") == "fallback" and (att.get("url") or att.get("title")):
            # A shared link: its title and address, as text (never a link we make clickable).
            msg.body = " — ".join(str(x) for x in (att.get("title"), att.get("url")) if x)
        else:
            log.info("Messenger attachment %r stored as not shown", att.get("type"))
            msg.kind = "unsupported"
            msg.body = not_shown(ATTACHMENT_WORDS.get(att.get("type"), N_("an attachment")), "Messenger")
        out.messages.append(msg)
    if not attachments:
        msg = Inbound(channel=CHANNEL, channel_user_id=sender, provider_message_id=mid, sent_at=sent_at)
        if text is not None:
            msg.body = str(text)
            if isinstance(m.get("quick_reply"), dict):
                msg.details = {"tapped": "quick reply"}
        else:
            msg.kind = "unsupported"
            msg.body = not_shown(N_("a kind of message"), "Messenger")
        out.messages.append(msg)
    out.profiles.append((CHANNEL, sender))


def _coordinates(payload: dict) -> tuple:
    c = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else {}
    return c.get("lat"), c.get("long")


def reason_for(err: dict) -> str:
    code, sub = err.get("code"), err.get("error_subcode")
    if code == 10 and sub == 2018278:
        return WINDOW_CLOSED
    if code == 551 or sub == 1545041:
        return later._("This person isn't available on Messenger right now")
    if code == 190:
        return later._("Messenger refused the page token: check {setting}", setting="MESSENGER_PAGE_TOKEN")
    return refused("Messenger", err.get("message"), code)


class Client(ApiClient):
    label, base_setting, token_setting = "Messenger", "MESSENGER_API_BASE", "MESSENGER_PAGE_TOKEN"

    def _check(self, resp: requests.Response) -> dict:
        data = json_of(resp)
        if resp.ok:
            return data
        err = data.get("error") if isinstance(data.get("error"), dict) else {}
        if resp.status_code == 429 or resp.status_code >= 500 or err.get("code") in RATE_LIMIT_CODES:
            raise RetryLater(answered("Messenger", resp.status_code, err.get("message")), retry_after_header(resp))
        raise Permanent(reason_for(err))

    def _post(self, **kw) -> dict:
        return self._check(call(self.session, "POST", f"{self.base}/me/messages",
                                params={"access_token": self.token}, **kw))

    def steps(self, row: dict) -> list[Step]:
        """Attachments carry no caption on Messenger: the caption follows as
        its own text message, a step of its own so a retry never resends the file."""
        kind = row["kind"]
        if kind in ("text", "template"):
            # Messenger has no reviewed templates: the rendered body goes as text.
            return [Step("send", lambda r, _: self._text(r, r["body"]))]
        if kind in SEND_TYPES:
            file = Step("file", self._file)
            return [file, Step("caption", lambda r, _: self._text(r, r["caption"]))] if row.get("caption") else [file]
        raise Permanent(cannot_send("Messenger", kind))

    def _text(self, row: dict, text: str) -> str:
        return self._id(self._post(json={"recipient": {"id": row["channel_user_id"]}, "messaging_type": "RESPONSE",
                                         "message": {"text": text}}))

    def _file(self, row: dict, media_dir: Path) -> str:
        message = {"attachment": {"type": SEND_TYPES[row["kind"]], "payload": {"is_reusable": False}}}
        with open(Path(media_dir) / row["attachment_path"], "rb") as f:
            return self._id(self._post(data={"recipient": json.dumps({"id": row["channel_user_id"]}),
                                             "messaging_type": "RESPONSE", "message": json.dumps(message)},
                                       files={"filedata": (row["filename"], f, row["mime"])}))

    @staticmethod
    def _id(data: dict) -> str:
        if not data.get("message_id"):
            raise Permanent(later._("{channel} accepted the message but returned no id", channel="Messenger"))
        return str(data["message_id"])

    def fetch(self, ref: MediaRef) -> bytes:
        return download(self.session, ref.ref)

    def check(self) -> str:
        """Send test: one harmless authenticated call (GET /me: the page)."""
        data = self._check(call(self.session, "GET", f"{self.base}/me",
                                params={"fields": "name,id", "access_token": self.token}))
        return _("Page {name} (id {id})").format(name=data.get("name", "?"), id=data.get("id", "?"))

    def profile(self, psid: str) -> str | None:
        data = self._check(call(self.session, "GET", f"{self.base}/{psid}",
                                params={"fields": "first_name,last_name", "access_token": self.token}))
        name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        return name or None


def envelope(events, page_id="PAGE") -> dict:
    return {"object": "page", "entry": [{"id": page_id, "time": 0, "messaging": list(events)}]}
