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


# ---- sound and stickers (built here: no encoder is installed) ------------------
def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], granule: int, seq: int, flags: int) -> bytes:
    lacing = b"".join(bytes([255] * (len(p) // 255) + [len(p) % 255]) for p in packets)
    head = (b"OggS\x00" + bytes([flags]) + granule.to_bytes(8, "little") + (0x4D58).to_bytes(4, "little")
            + seq.to_bytes(4, "little") + b"\x00\x00\x00\x00" + bytes([len(lacing)]) + lacing)
    page = head + b"".join(packets)
    return page[:22] + _ogg_crc(page).to_bytes(4, "little") + page[26:]


def ogg_opus(seconds: int = 1) -> bytes:
    """A real Ogg/Opus voice note of silence (as WhatsApp and Telegram send
    them) that a browser decodes and plays: 20 ms Opus silence frames."""
    pre_skip = 312
    head = b"OpusHead\x01\x01" + pre_skip.to_bytes(2, "little") + (48000).to_bytes(4, "little") + b"\x00\x00\x00"
    tags = b"OpusTags" + (7).to_bytes(4, "little") + b"maxchat" + (0).to_bytes(4, "little")
    pages = [_ogg_page([head], 0, 0, 0x02), _ogg_page([tags], 0, 1, 0)]
    frames = seconds * 50
    seq, done = 2, 0
    while done < frames:
        n = min(50, frames - done)
        done += n
        pages.append(_ogg_page([b"\xf8\xff\xfe"] * n, pre_skip + done * 960, seq, 0x04 if done == frames else 0))
        seq += 1
    return b"".join(pages)


def animated_webp() -> bytes:
    """A two-frame animated WebP, as WhatsApp's animated stickers are."""
    out = io.BytesIO()
    frames = [Image.new("RGBA", (64, 64), c) for c in ((250, 200, 0, 255), (0, 120, 250, 255))]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return out.getvalue()


OGG_OPUS = ogg_opus(1)
WEBP = picture("WEBP", (64, 64))
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free" + b"\x00" * 64
AAC = (b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 9) * 4  # ADTS frames, as Messenger's audio clips
DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200  # an old Word file
