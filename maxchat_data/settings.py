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
    store.write(_set, key, value)


def _set(w: Writer, key, value):
    w.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])
