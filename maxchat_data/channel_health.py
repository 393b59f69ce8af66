"""N3: what the Channels page shows for each channel: connected or not and
why, the exact webhook URL to register, the last inbound message and the
last delivery error, the settings with secrets masked, and `Send test`
(one harmless authenticated call)."""
from __future__ import annotations

from . import config
from .channels import REQUIRED, channel_status, clients
from .common import person
from .i18n import N_, _, shown
from .store import Store

WEBHOOK_PATHS = {"whatsapp": "/webhooks/whatsapp", "messenger": "/webhooks/messenger",
                 "telegram": "/webhooks/telegram"}
SECRET_WORDS = ("TOKEN", "SECRET")
SHOWN = {  # the settings shown per channel, in order
    "whatsapp": ("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_WABA_ID", "WHATSAPP_TOKEN", "WHATSAPP_APP_SECRET",
                 "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_API_BASE"),
    "messenger": ("MESSENGER_PAGE_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_API_BASE"),
    "telegram": ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE"),
}


def mask(value: str | None) -> str:
    """A secret as the page may show it: never in full. Long ones keep their
    last four characters, so an admin can tell which token is set."""
    if not value:
        return _("not set")
    if len(value) < 16:
        return _("set ({count} characters)").format(count=len(value))
    return _("…{end} ({count} characters)").format(end=value[-4:], count=len(value))


def base_url(host: str | None, proto: str | None = None) -> str | None:
    """Where providers reach this server: MAXCHAT_PUBLIC_URL when set, else
    the address the admin's browser used (behind a TLS proxy, its scheme)."""
    public = config.get("MAXCHAT_PUBLIC_URL")
    if public:
        return public.rstrip("/")
    if not host:
        return None
    scheme = (proto or "http").split(",")[0].strip().lower()
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host.strip()}"


def overview(store: Store, host: str | None = None, proto: str | None = None, *, sandbox: bool = False) -> list[dict]:
    """One dict per channel: label, connected, sandbox (demo mode delivers
    it), detail (why), webhook URL, settings (secrets masked), last inbound
    time, last delivery error."""
    base = base_url(host, proto)
    last_in = dict(store.all("SELECT channel, max(last_inbound_at) FROM chats GROUP BY channel"))
    errors = {}
    for channel, error, at in store.all(
            "SELECT m.channel, o.last_error, m.created_at FROM outbox o JOIN messages m ON m.id = o.message_id"
            " WHERE o.state = 'failed' OR o.last_error IS NOT NULL ORDER BY m.created_at"):
        errors[channel] = (error, at)  # the newest wins
    out = []
    for item in channel_status(sandbox=sandbox):
        channel = item["channel"]
        path = WEBHOOK_PATHS[channel]
        settings = []
        for name in SHOWN[channel]:
            value = config.get(name)
            secret = any(word in name for word in SECRET_WORDS)
            settings.append((name, mask(value) if secret else (value or _("not set"))))
        error, error_at = errors.get(channel, (None, None))
        out.append({**item, "webhook_url": (base + path) if base else path,
                    "webhook_note": _webhook_note(channel), "settings": settings,
                    "last_inbound_at": last_in.get(channel), "last_error": shown(error), "last_error_at": error_at,
                    "required": REQUIRED[channel]})
    return out


def _webhook_note(channel: str) -> str:
    if channel == "telegram":
        if config.get("TELEGRAM_WEBHOOK_SECRET"):
            return _("Register it with {call}.").format(call="setWebhook(url, secret_token=TELEGRAM_WEBHOOK_SECRET)")
        return _("Not needed while the app long-polls (no {setting} set).").format(setting="TELEGRAM_WEBHOOK_SECRET")
    verify = "WHATSAPP_VERIFY_TOKEN" if channel == "whatsapp" else "MESSENGER_VERIFY_TOKEN"
    fields = "messages, message_template_status_update" if channel == "whatsapp" else "messages, message_deliveries, message_reads"
    return _("Callback URL in the Meta app, verify token = {setting}; subscribe to: {fields}.").format(
        setting=verify, fields=fields)


def send_test(store: Store, channel: str, actor_id: int) -> str:
    """An admin's one harmless authenticated call; the provider's answer in
    a sentence. Raises the channel's error (Permanent / RetryLater) with its sentence."""
    person(store, actor_id, "admin", N_("Only an admin can test a channel."))
    client = clients()[channel]
    if client.missing:
        return shown(client.missing)
    return client.check()

