"""Telegram Bot API: update parsing and the client (sending, files, getUpdates).

Telegram message ids are unique per chat only, so the store's provider id is
``"<chat id>:<message id>"``."""
from __future__ import annotations

import logging
from pathlib import Path

import re

from ..i18n import N_, _, later
from ..ingest import Change, Inbound, MediaRef, Parsed
from .base import (ApiClient, BadPayload, Permanent, RetryLater, Step, answered, call, cannot_send, contact_card,
                   download, from_epoch, json_of, location, not_shown, one_part, refused)

log = logging.getLogger(__name__)
CHANNEL = "telegram"
BLOCKED = later._("The customer blocked the bot")
SEND = {"image": ("sendPhoto", "photo"), "video": ("sendVideo", "video"), "document": ("sendDocument", "document")}
UPDATES = ["message", "edited_message", "message_reaction"]  # what the inbox asks Telegram for
# Messages this inbox does not show, in the customer's words.
WHAT = {"poll": N_("a poll"), "dice": N_("a dice roll"), "game": N_("a game"), "invoice": N_("an invoice"),
        "story": N_("a story"), "successful_payment": N_("a payment"), "giveaway": N_("a giveaway"),
        "paid_media": N_("paid media")}


def parse(updates) -> Parsed:
    """One update (webhook) or a list of them (getUpdates). An update that
    is not Telegram's shape is logged and skipped (the rest is stored)."""
    out = Parsed()
    for update in updates if isinstance(updates, list) else [updates]:
        what = update.get("update_id") if isinstance(update, dict) else None
        with one_part(out, f"Telegram update {what!r:.80}"):
            _update(out, update)
    return out


def _update(out: Parsed, update) -> None:
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise BadPayload("an update needs an integer update_id")
    if update.get("message") is not None:
        _message(out, update["message"])
    elif isinstance(update.get("edited_message"), dict):
        _edited(out, update["edited_message"])
    elif isinstance(update.get("message_reaction"), dict):
        _reaction(out, update["message_reaction"])
    else:  # channel posts, callbacks, inline queries, membership: nothing for the inbox
        log.info("Telegram update %s skipped", sorted(k for k in update if k != "update_id"))


def _pmid(m: dict) -> tuple[str, str]:
    """The store's id of a message, and its chat (the customer)."""
    chat = m.get("chat") if isinstance(m.get("chat"), dict) else {}
    if chat.get("id") is None or m.get("message_id") is None:
        raise BadPayload("a message needs chat and message_id")
    return f"{chat['id']}:{m['message_id']}", str(chat["id"])


def _edited(out: Parsed, m: dict) -> None:
    pmid, chat = _pmid(m)
    text = m.get("text") if isinstance(m.get("text"), str) else None
    caption = m.get("caption") if isinstance(m.get("caption"), str) else None
    out.changes.append(Change(CHANNEL, pmid, "edited", f"{pmid}:edit:{m.get('edit_date')}",
                              from_epoch(m.get("edit_date")), sender=chat, body=text, caption=caption))


def _reaction(out: Parsed, r: dict) -> None:
    pmid, chat = _pmid(r)
    # Custom emoji are pictures only Telegram can draw: the plain ones are shown.
    emoji = "".join(str(x.get("emoji")) for x in r.get("new_reaction") or []
                    if isinstance(x, dict) and x.get("type") == "emoji" and x.get("emoji"))
    out.changes.append(Change(CHANNEL, pmid, "reaction", f"{pmid}:reaction:{r.get('date')}",
                              from_epoch(r.get("date")), sender=chat, emoji=emoji or None))


def _message(out: Parsed, m) -> None:
    if not isinstance(m, dict) or not isinstance(m.get("chat"), dict) or m.get("message_id") is None:
        raise BadPayload("a message needs chat and message_id")
    chat_id = m["chat"].get("id")
    if chat_id is None:
        raise BadPayload("a chat needs an id")
    who = m.get("from") if isinstance(m.get("from"), dict) else {}
    name = " ".join(p for p in (who.get("first_name"), who.get("last_name")) if p) or who.get("username") or ""
    pmid = f"{chat_id}:{m['message_id']}"
    msg = Inbound(channel=CHANNEL, channel_user_id=str(chat_id), provider_message_id=pmid,
                  contact_name=name, sent_at=from_epoch(m.get("date")))
    file_of = _file(m)
    if m.get("photo"):
        sizes = m["photo"]
        if not isinstance(sizes, list) or not isinstance(sizes[-1], dict) or not sizes[-1].get("file_id"):
            raise BadPayload("photo sizes need file_id")
        msg.kind, msg.caption = "image", m.get("caption")
        out.media.append(MediaRef(CHANNEL, pmid, sizes[-1]["file_id"], None, "image/jpeg"))  # largest is last
    elif isinstance(m.get("sticker"), dict):
        st = m["sticker"]
        msg.kind, msg.details = "sticker", {"emoji": str(st.get("emoji") or ""), "animated": bool(st.get("is_animated"))}
        # An animated sticker is Lottie (.tgs) that no page here can draw: its emoji says what it was.
        if not st.get("is_animated") and st.get("file_id"):
            out.media.append(MediaRef(CHANNEL, pmid, st["file_id"], None, None))
    elif file_of is not None:
        key, kind, f = file_of
        msg.kind, msg.caption = kind, m.get("caption")
        if kind == "audio":
            msg.details = {"voice": key == "voice", **({"duration": f["duration"]} if isinstance(f.get("duration"), int) else {})}
        out.media.append(MediaRef(CHANNEL, pmid, f["file_id"], f.get("file_name"), f.get("mime_type")))
    elif isinstance(m.get("location"), dict):
        place = m["location"]
        venue = m.get("venue") if isinstance(m.get("venue"), dict) else {}
        msg.details = location(place.get("latitude"), place.get("longitude"), venue.get("title"), venue.get("address"))
        msg.kind = "location" if msg.details else "unsupported"
        msg.body = None if msg.details else not_shown(N_("a location that could not be read"), "Telegram")
    elif isinstance(m.get("contact"), dict):
        c = m["contact"]
        vcard = str(c.get("vcard") or "")
        emails = re.findall(r"^EMAIL[^:\n]*:(.+)$", vcard, re.MULTILINE)
        full = " ".join(p for p in (c.get("first_name"), c.get("last_name")) if p)
        msg.kind, msg.details = "contact", {"contacts": [contact_card(full, [(c.get("phone_number"), None)], emails)]}
    elif isinstance(m.get("text"), str):
        msg.body = m["text"]
        start = re.fullmatch(r"/start(?:@\w+)?(?:\s+(\S.*))?", m["text"].strip(), re.DOTALL)
        if start:
            msg.details = {"started": start.group(1) or ""}  # the deep link's payload, if any
    else:
        what = next((WHAT[k] for k in WHAT if k in m), N_("a kind of message"))
        log.info("Telegram message %s stored as not shown", sorted(k for k in m if k not in ("from", "chat", "date")))
        msg.kind, msg.body = "unsupported", not_shown(what, "Telegram")
    out.messages.append(msg)


def _file(m: dict) -> tuple[str, str, dict] | None:
    """(field, kind, file) of a message that carries one file."""
    for key, kind in (("voice", "audio"), ("audio", "audio"), ("animation", "video"), ("video", "video"),
                      ("video_note", "video"), ("document", "document")):
        f = m.get(key)
        if isinstance(f, dict):
            if not f.get("file_id"):
                raise BadPayload(f"{key} needs file_id")
            return key, kind, f
    return None


class Client(ApiClient):
    label, base_setting, token_setting = "Telegram", "TELEGRAM_API_BASE", "TELEGRAM_BOT_TOKEN"

    def method(self, name: str, timeout=None, **kw):
        resp = call(self.session, "POST", f"{self.base}/bot{self.token}/{name}", **({"timeout": timeout} if timeout else {}), **kw)
        data = json_of(resp)
        if resp.ok and data.get("ok"):
            return data.get("result")
        code = data.get("error_code") or resp.status_code
        description = data.get("description")
        if code == 429 or resp.status_code >= 500:
            retry = (data.get("parameters") or {}).get("retry_after")
            raise RetryLater(answered("Telegram", code, description), retry)
        if code == 403:
            raise Permanent(BLOCKED)
        if code == 409:
            raise Permanent(later._("Telegram refuses getUpdates while a webhook is set: delete the webhook, "
                                    "or set {setting} and use {path}", setting="TELEGRAM_WEBHOOK_SECRET",
                                    path="/webhooks/telegram"))
        if code == 401:
            raise Permanent(later._("Telegram refused the bot token: check {setting}", setting="TELEGRAM_BOT_TOKEN"))
        raise Permanent(refused("Telegram", description or f"HTTP {resp.status_code}"))

    def check(self) -> str:
        """Send test: one harmless authenticated call (getMe: the bot)."""
        me = self.method("getMe") or {}
        return _("Bot @{username} ({name})").format(username=me.get("username", "?"), name=me.get("first_name", ""))

    def steps(self, row: dict) -> list[Step]:
        if row["kind"] not in ("text", "template", *SEND):
            raise Permanent(cannot_send("Telegram", row["kind"]))
        return [Step("send", self._send)]

    def _send(self, row: dict, media_dir: Path) -> str:
        chat_id, kind = row["channel_user_id"], row["kind"]
        if kind in ("text", "template"):
            result = self.method("sendMessage", json={"chat_id": chat_id, "text": row["body"]})
        else:
            method, field = SEND[kind]
            data = {"chat_id": chat_id}
            if row.get("caption"):
                data["caption"] = row["caption"]
            with open(Path(media_dir) / row["attachment_path"], "rb") as f:
                result = self.method(method, data=data, files={field: (row["filename"], f, row["mime"])})
        if not isinstance(result, dict) or result.get("message_id") is None:
            raise Permanent(later._("{channel} accepted the message but returned no id", channel="Telegram"))
        return f"{chat_id}:{result['message_id']}"

    def fetch(self, ref: MediaRef) -> bytes:
        info = self.method("getFile", json={"file_id": ref.ref}) or {}
        if not info.get("file_path"):
            raise Permanent(later._("Telegram gave no file path (files over {size} MB cannot be fetched by bots)",
                                    size=20))
        return download(self.session, f"{self.base}/file/bot{self.token}/{info['file_path']}")

    def get_updates(self, offset: int | None, timeout: int) -> list[dict]:
        params = {"timeout": timeout, "allowed_updates": UPDATES}
        if offset is not None:
            params["offset"] = offset
        # The HTTP read timeout must outlast the long poll.
        result = self.method("getUpdates", json=params, timeout=(5, timeout + 10))
        if not isinstance(result, list):
            raise RetryLater(later._("getUpdates returned no list"))
        return result
