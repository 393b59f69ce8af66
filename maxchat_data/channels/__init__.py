"""The three channels: parsers (a webhook body -> ``ingest.Parsed``) and
clients (sending, files, profiles), and which of them is configured.
What a parsed webhook carries is stored by ``ingest.queue_parsed``. Imports
no web framework; imported by ``server`` and the pages.

Configuration (environment, or .streamlit/secrets.toml via ``config.get``):
  WhatsApp   WHATSAPP_API_BASE (default https://graph.facebook.com/v21.0), WHATSAPP_TOKEN,
             WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_WABA_ID, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN
             webhook: GET+POST /webhooks/whatsapp (fields: messages, message_template_status_update)
  Messenger  MESSENGER_API_BASE (same default), MESSENGER_PAGE_TOKEN, MESSENGER_APP_SECRET,
             MESSENGER_VERIFY_TOKEN; webhook: GET+POST /webhooks/messenger
  Telegram   TELEGRAM_API_BASE (default https://api.telegram.org), TELEGRAM_BOT_TOKEN,
             TELEGRAM_WEBHOOK_SECRET; with the secret: POST /webhooks/telegram (register it
             with setWebhook(url, secret_token=..., allowed_updates=["message", "edited_message",
             "message_reaction"])); without it: long polling.
A channel without its settings is "not connected": nothing crashes, the
composer says so before anyone types, and a message queued for it ends
failed with the setting to add. In demo mode such a channel delivers to the
built-in sandbox (``sandbox.py``) instead."""
from __future__ import annotations

from .. import config
from ..common import CHANNEL_LABELS
from ..i18n import _, shown
from .base import BadPayload, MaybeDone, Permanent, RetryLater

__all__ = ["BadPayload", "MaybeDone", "Permanent", "RetryLater", "channel_status", "clients", "in_sandbox",
           "sending_problem"]

# Which settings each channel needs, for sending and for receiving.
REQUIRED = {
    "whatsapp": ("WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"),
    "messenger": ("MESSENGER_PAGE_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN"),
    "telegram": ("TELEGRAM_BOT_TOKEN",),
}


def channel_status(*, sandbox: bool = False) -> list[dict]:
    """For the admin page: one dict per channel; never raises. With
    ``sandbox`` (demo mode) a channel without its settings is delivered by
    the built-in sandbox: ``sandbox`` is True and the detail says so."""
    out = []
    for channel, names in REQUIRED.items():
        missing = [n for n in names if not config.get(n)]
        label = CHANNEL_LABELS[channel]
        if missing and sandbox:
            detail = _("Demo mode: the built-in sandbox delivers replies, files and templates, and its customer "
                       "reads them (see the Simulator). To connect {channel} for real, set {settings}").format(
                channel=label, settings=", ".join(missing))
        elif missing:
            detail = _("Not connected: set {settings}").format(settings=", ".join(missing))
        elif channel == "telegram":
            detail = (_("Webhook at {path} (secret token set)").format(path="/webhooks/telegram")
                      if config.get("TELEGRAM_WEBHOOK_SECRET") else _("Long polling (getUpdates)"))
        elif channel == "whatsapp":
            detail = _("Phone number id {number}, webhook at {path}").format(
                number=config.get("WHATSAPP_PHONE_NUMBER_ID"), path="/webhooks/whatsapp")
            if not config.get("WHATSAPP_WABA_ID"):
                detail += " " + _("(set WHATSAPP_WABA_ID for template sync)")
        else:
            detail = _("Webhook at {path}").format(path="/webhooks/messenger")
        out.append({"channel": channel, "label": label, "connected": not missing,
                    "sandbox": bool(missing) and sandbox, "detail": detail})
    return out


def clients(*, sandbox: bool = False) -> dict:
    """A client per channel, configured from the environment / secrets.
    With ``sandbox`` (demo mode) a channel that is not connected delivers
    to the built-in sandbox instead of failing every reply."""
    from . import messenger, sandbox as demo_sandbox, telegram, whatsapp
    made = {"whatsapp": whatsapp.Client(), "messenger": messenger.Client(), "telegram": telegram.Client()}
    if sandbox:
        made = {ch: demo_sandbox.Client(ch) if c.missing else c for ch, c in made.items()}
    return made


def in_sandbox(channel: str, *, demo: bool) -> bool:
    """In demo mode, a channel without its settings delivers to the sandbox."""
    return demo and sending_problem(channel) is not None


def sending_problem(channel: str, *, sandbox: bool = False) -> str | None:
    """Why replies on ``channel`` cannot go out now (a sentence), or None:
    said where the agent types, before anything is sent."""
    if sandbox:
        return None
    from . import messenger, telegram, whatsapp
    return shown({"whatsapp": whatsapp, "messenger": messenger, "telegram": telegram}[channel].Client().missing)
