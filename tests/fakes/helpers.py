"""Payload builders in the providers' shapes, signing, and the environment
that points the app at the fakes."""
from __future__ import annotations

import io
import itertools
import json
import time

from PIL import Image

from maxchat_data.channels.base import sign

WA_SECRET, WA_VERIFY, WA_TOKEN, PNID = "wa-app-secret", "wa-verify", "wa-token", "PNID"
MS_SECRET, MS_VERIFY, MS_TOKEN = "ms-app-secret", "ms-verify", "page-token"
TG_TOKEN, TG_SECRET = "123:ABC", "tg-secret"


def picture(fmt: str, size: tuple[int, int] = (2, 2), mode: str = "RGB") -> bytes:
    """A real, decodable image (the app decodes every image it accepts)."""
    out = io.BytesIO()
    Image.new(mode, size, 1 if mode == "1" else (200, 30, 30)).save(out, fmt)
    return out.getvalue()


PNG = picture("PNG")
JPEG = picture("JPEG")
PDF = b"%PDF-1.4\n" + b"x" * 200
# First bytes of a GIF, then nothing a decoder can read: what a broken or
# disguised "photo" looks like.
BROKEN_GIF = b"GIF89a\x01\x00\x01\x00" + b"junk" * 40

_n = itertools.count(1)


def env_for(wa=None, ms=None, tg=None, telegram_webhook=True) -> dict:
    env = {"MAXCHAT_SECRETS": "/nonexistent/secrets.toml"}
    if wa is not None:
        env.update(WHATSAPP_API_BASE=wa.url, WHATSAPP_TOKEN=WA_TOKEN, WHATSAPP_PHONE_NUMBER_ID=PNID,
                   WHATSAPP_WABA_ID="WABA", WHATSAPP_APP_SECRET=WA_SECRET, WHATSAPP_VERIFY_TOKEN=WA_VERIFY)
    if ms is not None:
        env.update(MESSENGER_API_BASE=ms.url, MESSENGER_PAGE_TOKEN=MS_TOKEN, MESSENGER_APP_SECRET=MS_SECRET,
                   MESSENGER_VERIFY_TOKEN=MS_VERIFY)
    if tg is not None:
        env.update(TELEGRAM_API_BASE=tg.url, TELEGRAM_BOT_TOKEN=TG_TOKEN)
        if telegram_webhook:
            env["TELEGRAM_WEBHOOK_SECRET"] = TG_SECRET
    return env


def body_of(payload) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def meta_headers(secret: str, body: bytes) -> dict:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}


# ---- WhatsApp ---------------------------------------------------------------
def wa_message(sender="6281200000001", text="Halo kak", mid=None, kind="text", **media) -> dict:
    m = {"from": sender, "id": mid or f"wamid.IN{next(_n)}", "timestamp": str(int(time.time())), "type": kind}
    m[kind] = {"body": text} if kind == "text" else media
    return m


def wa_webhook(messages=(), statuses=(), names=None, pnid=PNID) -> dict:
    names = names or {}
    senders = {m["from"] for m in messages if "from" in m}
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001111", "phone_number_id": pnid}}
    if messages:
        value["contacts"] = [{"profile": {"name": names.get(s, "Rina Kusuma")}, "wa_id": s} for s in sorted(senders)]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}


def wa_status(wamid, status, recipient="6281200000001", code=None) -> dict:
    s = {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if code is not None:
        s["errors"] = [{"code": code, "title": "Re-engagement message", "message": "Re-engagement message",
                        "error_data": {"details": "24 hours passed"}}]
    return s


def wa_template_update(event, name, language="id", template_id="9001") -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "time": int(time.time()), "changes": [
        {"field": "message_template_status_update",
         "value": {"event": event, "message_template_id": int(template_id), "message_template_name": name,
                   "message_template_language": language, "reason": "NONE"}}]}]}


# ---- Messenger --------------------------------------------------------------
def ms_event(psid="PSID1", text=None, mid=None, attachments=None, echo=False) -> dict:
    message = {"mid": mid or f"m_IN{next(_n)}"}
    if text is not None:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    if echo:
        message["is_echo"] = True
    sender, recipient = ({"id": "PAGE"}, {"id": psid}) if echo else ({"id": psid}, {"id": "PAGE"})
    return {"sender": sender, "recipient": recipient, "timestamp": int(time.time() * 1000), "message": message}


def ms_receipt(psid, kind, watermark_ms, mids=()) -> dict:
    body = {"watermark": watermark_ms}
    if kind == "delivery":
        body["mids"] = list(mids)
    return {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": watermark_ms, kind: body}


def ms_webhook(events) -> dict:
    return {"object": "page", "entry": [{"id": "PAGE", "time": int(time.time() * 1000), "messaging": list(events)}]}


# ---- Telegram ---------------------------------------------------------------
def tg_message(chat_id=5550001, text="Halo bot", message_id=None, first="Budi", last="Hartono", **extra) -> dict:
    m = {"message_id": message_id or next(_n), "from": {"id": chat_id, "is_bot": False, "first_name": first,
                                                         "last_name": last, "username": "budi_h"},
         "chat": {"id": chat_id, "type": "private", "first_name": first}, "date": int(time.time())}
    if text is not None:
        m["text"] = text
    m.update(extra)
    return m


def tg_update(message, update_id=None) -> dict:
    return {"update_id": update_id or next(_n) + 100000, "message": message}
