"""The three channels: configuration status, clients, and storing what a
webhook (or a getUpdates batch) carried.

``queue_parsed`` puts everything of one webhook on the writer queue and hands
back the futures, so the caller waits once and the whole webhook shares one
group commit.

Configuration (environment, or .streamlit/secrets.toml via ``config.get``):
  WhatsApp   WHATSAPP_API_BASE (default https://graph.facebook.com/v21.0), WHATSAPP_TOKEN,
             WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN
             webhook: GET+POST /webhooks/whatsapp (fields: messages, message_template_status_update)
  Messenger  MESSENGER_API_BASE (same default), MESSENGER_PAGE_TOKEN, MESSENGER_APP_SECRET,
             MESSENGER_VERIFY_TOKEN; webhook: GET+POST /webhooks/messenger
  Telegram   TELEGRAM_API_BASE (default https://api.telegram.org), TELEGRAM_BOT_TOKEN,
             TELEGRAM_WEBHOOK_SECRET; with the secret: POST /webhooks/telegram (register it
             with setWebhook(url, secret_token=...)); without it: long polling.
A channel without its settings is "not connected": nothing crashes, and a
message queued for it ends failed with the setting to add."""
from __future__ import annotations

import logging
from concurrent.futures import Future

from .. import config
from ..common import CHANNEL_LABELS, search_key
from ..ingest import receive_async, record_status_async
from ..store import Store, Writer, batched, utcnow
from .base import BadPayload, MediaRef, Parsed, Permanent, RetryLater, TemplateUpdate, Watermark

log = logging.getLogger(__name__)

__all__ = ["BadPayload", "Parsed", "Permanent", "RetryLater", "channel_status", "clients", "queue_parsed", "store_parsed"]

# Which settings each channel needs, for sending and for receiving.
REQUIRED = {
    "whatsapp": ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"),
    "messenger": ("MESSENGER_PAGE_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN"),
    "telegram": ("TELEGRAM_BOT_TOKEN",),
}


def channel_status() -> list[dict]:
    """For the admin page: one dict per channel; never raises."""
    out = []
    for channel, names in REQUIRED.items():
        missing = [n for n in names if not config.get(n)]
        label = CHANNEL_LABELS[channel]
        if missing:
            detail = f"Not connected: set {', '.join(missing)}"
        elif channel == "telegram":
            detail = ("Webhook at /webhooks/telegram (secret token set)" if config.get("TELEGRAM_WEBHOOK_SECRET")
                      else "Long polling (getUpdates)")
        elif channel == "whatsapp":
            detail = f"Phone number id {config.get('WHATSAPP_PHONE_NUMBER_ID')}, webhook at /webhooks/whatsapp"
            if not config.get("WHATSAPP_WABA_ID"):
                detail += " (set WHATSAPP_WABA_ID for template sync)"
        else:
            detail = "Webhook at /webhooks/messenger"
        out.append({"channel": channel, "label": label, "connected": not missing, "detail": detail})
    return out


def clients() -> dict:
    """A client per channel, configured from the environment / secrets."""
    from . import messenger, telegram, whatsapp
    return {"whatsapp": whatsapp.Client(), "messenger": messenger.Client(), "telegram": telegram.Client()}


def queue_parsed(store: Store, parsed: Parsed) -> list[Future]:
    """Queue every write of one webhook; the caller waits on all futures and
    answers 2xx only after they are done."""
    for m in parsed.messages:
        m.check()  # refuse the whole webhook before anything is queued
    futures = [receive_async(store, m) for m in parsed.messages]
    futures += [store.submit(_pending_media, ref) for ref in parsed.media]
    futures += [store.submit(_pending_profile, p) for p in parsed.profiles]
    futures += [record_status_async(store, s) for s in parsed.statuses]
    futures += [store.submit(_watermark, w) for w in parsed.watermarks]
    futures += [store.submit(_template_status, t) for t in parsed.templates]
    return futures


def store_parsed(store: Store, parsed: Parsed, timeout: float = 60) -> None:
    """The blocking form (long polling, the simulator)."""
    for f in queue_parsed(store, parsed):
        f.result(timeout)


def _dedupe(items, key):
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


@batched
def _pending_media(w: Writer, refs: list[MediaRef], careful: bool) -> list[None]:
    unique = _dedupe(refs, lambda r: (r.channel, r.provider_message_id))
    w.execute("INSERT INTO pending_media (channel, provider_message_id, ref, filename, mime, next_attempt_at)"
              " SELECT unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), ? ON CONFLICT DO NOTHING",
              [[r.channel for r in unique], [r.provider_message_id for r in unique], [r.ref for r in unique],
               [r.filename for r in unique], [r.mime for r in unique], utcnow()])
    w.touch("fetch")
    return [None] * len(refs)


@batched
def _pending_profile(w: Writer, people: list[tuple[str, str]], careful: bool) -> list[None]:
    unique = _dedupe(people, lambda p: p)
    # done rows stay, so a known customer is never looked up again
    w.execute("INSERT INTO pending_profiles (channel, channel_user_id, next_attempt_at)"
              " SELECT unnest(?), unnest(?), ? ON CONFLICT DO NOTHING",
              [[p[0] for p in unique], [p[1] for p in unique], utcnow()])
    w.touch("fetch")
    return [None] * len(people)


def _watermark(w: Writer, mark: Watermark) -> int:
    """Messenger receipts: outbound messages of the chat sent up to the
    watermark move to delivered/read (never backwards, never from failed)."""
    allowed = ("'sent'",) if mark.status == "delivered" else ("'sent'", "'delivered'")
    (n,) = w.one(
        f"UPDATE messages SET status = ? WHERE direction = 'out' AND status IN ({', '.join(allowed)})"
        " AND sent_at <= ? AND chat_id IN (SELECT id FROM chats WHERE channel = ? AND channel_user_id = ?)",
        [mark.status, mark.watermark, mark.channel, mark.channel_user_id]) or (0,)
    return n


TEMPLATE_STATUS = {"APPROVED": "Accepted", "REJECTED": "Rejected"}


def _template_status(w: Writer, t: TemplateUpdate) -> bool:
    """WhatsApp's review verdict: match by provider id, else name + language."""
    from ..templates import _set_status
    found = None
    if t.provider_template_id:
        found = w.one("SELECT id FROM templates WHERE channel = 'whatsapp' AND provider_template_id = ?",
                      [t.provider_template_id])
    if found is None and t.name:
        found = w.one("SELECT id FROM templates WHERE channel = 'whatsapp' AND name = ? AND language = ?",
                      [t.name, t.language])
    if found is None:
        log.info("template status for unknown template %s/%s ignored", t.provider_template_id, t.name)
        return False
    _set_status(w, found[0], TEMPLATE_STATUS.get(t.event.upper(), "Pending"), t.reason if t.reason != "NONE" else None)
    if t.provider_template_id:
        w.execute("UPDATE templates SET provider_template_id = ? WHERE id = ?", [t.provider_template_id, found[0]])
    return True


def set_contact_name(w: Writer, channel: str, channel_user_id: str, name: str) -> None:
    """A looked-up profile name replaces the placeholder (the raw id) only:
    a name an agent typed is kept."""
    found = w.one("SELECT contact_id FROM chats WHERE channel = ? AND channel_user_id = ?", [channel, channel_user_id])
    if found is None:
        return
    w.execute("UPDATE contacts SET name = ? WHERE id = ? AND name = ?", [name, found[0], channel_user_id])
    w.execute("UPDATE chats SET contact_name = ?, search_name = ? WHERE contact_id = ? AND contact_name = ?",
              [name, search_key(name), found[0], channel_user_id])
