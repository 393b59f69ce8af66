"""Telegram Bot API: update parsing and the client (sending, files, getUpdates).

Telegram message ids are unique per chat only, so the store's provider id is
``"<chat id>:<message id>"``."""
from __future__ import annotations

import logging
from pathlib import Path

from ..ingest import Inbound, MediaRef, Parsed
from .base import ApiClient, BadPayload, Permanent, RetryLater, Step, call, download, from_epoch, json_of

log = logging.getLogger(__name__)
CHANNEL = "telegram"
BLOCKED = "The customer blocked the bot"
SEND = {"image": ("sendPhoto", "photo"), "video": ("sendVideo", "video"), "document": ("sendDocument", "document")}


def parse(updates) -> Parsed:
    """One update (webhook) or a list of them (getUpdates)."""
    out = Parsed()
    for update in updates if isinstance(updates, list) else [updates]:
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise BadPayload("an update needs an integer update_id")
        m = update.get("message")
        if m is None:
            continue  # edits, channel posts, callbacks: nothing for the inbox
        _message(out, m)
    return out


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
    if m.get("photo"):
        sizes = m["photo"]
        if not isinstance(sizes, list) or not isinstance(sizes[-1], dict) or not sizes[-1].get("file_id"):
            raise BadPayload("photo sizes need file_id")
        msg.kind, msg.caption = "image", m.get("caption")
        out.media.append(MediaRef(CHANNEL, pmid, sizes[-1]["file_id"], None, "image/jpeg"))  # largest is last
    elif isinstance(m.get("video"), dict) or isinstance(m.get("document"), dict):
        key = "video" if isinstance(m.get("video"), dict) else "document"
        f = m[key]
        if not f.get("file_id"):
            raise BadPayload(f"{key} needs file_id")
        msg.kind, msg.caption = key, m.get("caption")
        out.media.append(MediaRef(CHANNEL, pmid, f["file_id"], f.get("file_name"), f.get("mime_type")))
    elif isinstance(m.get("text"), str):
        msg.body = m["text"]
    else:
        msg.kind = "unsupported"
        msg.body = "Unsupported Telegram message (sticker, voice, location …): open it in Telegram."
    out.messages.append(msg)


class Client(ApiClient):
    label, base_setting, token_setting = "Telegram", "TELEGRAM_API_BASE", "TELEGRAM_BOT_TOKEN"

    def method(self, name: str, timeout=None, **kw):
        resp = call(self.session, "POST", f"{self.base}/bot{self.token}/{name}", **({"timeout": timeout} if timeout else {}), **kw)
        data = json_of(resp)
        if resp.ok and data.get("ok"):
            return data.get("result")
        code = data.get("error_code") or resp.status_code
        description = data.get("description") or f"HTTP {resp.status_code}"
        if code == 429 or resp.status_code >= 500:
            retry = (data.get("parameters") or {}).get("retry_after")
            raise RetryLater(f"Telegram answered {code}: {description}", retry)
        if code == 403:
            raise Permanent(BLOCKED)
        if code == 409:
            raise Permanent("Telegram refuses getUpdates while a webhook is set: delete the webhook, "
                            "or set TELEGRAM_WEBHOOK_SECRET and use /webhooks/telegram")
        if code == 401:
            raise Permanent("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
        raise Permanent(f"Telegram refused the message: {description}")

    def check(self) -> str:
        """Send test: one harmless authenticated call (getMe: the bot)."""
        me = self.method("getMe") or {}
        return f"Bot @{me.get('username', '?')} ({me.get('first_name', '')})"

    def steps(self, row: dict) -> list[Step]:
        if row["kind"] not in ("text", "template", *SEND):
            raise Permanent(f"Telegram cannot send a {row['kind']} message")
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
            raise Permanent("Telegram accepted the message but returned no id")
        return f"{chat_id}:{result['message_id']}"

    def fetch(self, ref: MediaRef) -> bytes:
        info = self.method("getFile", json={"file_id": ref.ref}) or {}
        if not info.get("file_path"):
            raise Permanent("Telegram gave no file path (files over 20 MB cannot be fetched by bots)")
        return download(self.session, f"{self.base}/file/bot{self.token}/{info['file_path']}")

    def get_updates(self, offset: int | None, timeout: int) -> list[dict]:
        params = {"timeout": timeout, "allowed_updates": ["message"]}
        if offset is not None:
            params["offset"] = offset
        # The HTTP read timeout must outlast the long poll.
        result = self.method("getUpdates", json=params, timeout=(5, timeout + 10))
        if not isinstance(result, list):
            raise RetryLater("getUpdates returned no list")
        return result
