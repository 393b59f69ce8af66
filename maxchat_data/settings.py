"""Small values the app keeps in the database: the cookie-signing key made
on first start, the Telegram long-polling offset, whether demo data was
ever loaded."""
from __future__ import annotations

from .store import Store, Writer

SIGNING_KEY = "session_secret"
TELEGRAM_OFFSET = "telegram.offset"
DEMO_DATA = "demo_data"


def get(store: Store, key: str) -> str | None:
    found = store.one("SELECT value FROM settings WHERE key = ?", [key])
    return found[0] if found else None


def put(store: Store, key: str, value: str) -> None:
    """System-side (start-up, Telegram polling, the demo seeder)."""
    store.write(write_value, key, value)


def write_value(w: Writer, key, value):
    """Writer side of ``put``; also a person's setting, inside their checked write."""
    w.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])


def keep_first(store: Store, key: str, value: str) -> str:
    """System-side: store ``value`` unless the key has one already; the stored
    value. Two replicas starting together then agree on one (e.g. the signing key)."""
    return store.write(_keep_first, key, value)


def _keep_first(w: Writer, key, value) -> str:
    w.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO NOTHING", [key, value])
    return w.one("SELECT value FROM settings WHERE key = ?", [key])[0]
