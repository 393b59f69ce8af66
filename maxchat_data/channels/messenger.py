"""Facebook Messenger Platform: webhook parsing and the sending client."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import requests

from ..ingest import DeliveryStatus, Inbound, MediaRef, Parsed, Watermark
from .base import (WINDOW_CLOSED, ApiClient, BadPayload, Permanent, RetryLater, Step, call, download,
                   from_epoch, json_of, need, retry_after_header)

log = logging.getLogger(__name__)
CHANNEL = "messenger"
ATTACHMENT_KINDS = {"image": "image", "video": "video", "file": "document"}
SEND_TYPES = {"image": "image", "video": "video", "document": "file"}
RATE_LIMIT_CODES = {4, 17, 32, 613}


def parse(payload) -> Parsed:
    if not isinstance(payload, dict) or payload.get("object") != "page":
        raise BadPayload("not a page webhook")
    out = Parsed()
    for entry in need(payload, "entry", list):
        for event in (entry.get("messaging") if isinstance(entry, dict) else None) or []:
            if not isinstance(event, dict):
                raise BadPayload("a messaging event must be an object")
            sender = str((event.get("sender") or {}).get("id") or "")
            if "message" in event:
                _message(out, event, sender)
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
    return out


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
        kind = ATTACHMENT_KINDS.get(att.get("type"))
        url = (att.get("payload") or {}).get("url") if isinstance(att.get("payload"), dict) else None
        if kind and url:
            msg.kind, msg.caption = kind, (text or None) if i == 0 else None
            out.media.append(MediaRef(CHANNEL, pmid, str(url)))
        else:
            msg.kind = "unsupported"
            msg.body = f"Unsupported Messenger attachment ({att.get('type')}): open it in Messenger."
        out.messages.append(msg)
    if not attachments:
        msg = Inbound(channel=CHANNEL, channel_user_id=sender, provider_message_id=mid, sent_at=sent_at)
        if text is not None:
            msg.body = str(text)
        else:
            msg.kind = "unsupported"
        out.messages.append(msg)
    out.profiles.append((CHANNEL, sender))


def reason_for(err: dict) -> str:
    code, sub = err.get("code"), err.get("error_subcode")
    if code == 10 and sub == 2018278:
        return WINDOW_CLOSED
    if code == 551 or sub == 1545041:
        return "This person isn't available on Messenger right now"
    if code == 190:
        return "Messenger refused the page token: check MESSENGER_PAGE_TOKEN"
    return f"Messenger refused the message: {err.get('message') or 'unknown error'}" + (f" (code {code})" if code else "")


class Client(ApiClient):
    label, base_setting, token_setting = "Messenger", "MESSENGER_API_BASE", "MESSENGER_PAGE_TOKEN"

    def _check(self, resp: requests.Response) -> dict:
        data = json_of(resp)
        if resp.ok:
            return data
        err = data.get("error") if isinstance(data.get("error"), dict) else {}
        if resp.status_code == 429 or resp.status_code >= 500 or err.get("code") in RATE_LIMIT_CODES:
            raise RetryLater(f"Messenger answered {resp.status_code}: {err.get('message', '')}".strip(),
                             retry_after_header(resp))
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
        raise Permanent(f"Messenger cannot send a {kind} message")

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
            raise Permanent("Messenger accepted the message but returned no id")
        return str(data["message_id"])

    def fetch(self, ref: MediaRef) -> bytes:
        return download(self.session, ref.ref)

    def check(self) -> str:
        """Send test: one harmless authenticated call (GET /me: the page)."""
        data = self._check(call(self.session, "GET", f"{self.base}/me",
                                params={"fields": "name,id", "access_token": self.token}))
        return f"Page {data.get('name', '?')} (id {data.get('id', '?')})"

    def profile(self, psid: str) -> str | None:
        data = self._check(call(self.session, "GET", f"{self.base}/{psid}",
                                params={"fields": "first_name,last_name", "access_token": self.token}))
        name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        return name or None


def envelope(events, page_id="PAGE") -> dict:
    return {"object": "page", "entry": [{"id": page_id, "time": 0, "messaging": list(events)}]}
