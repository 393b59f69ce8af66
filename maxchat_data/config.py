"""Configuration from the environment, also readable from
``.streamlit/secrets.toml`` (environment wins)."""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULTS = {
    "MAXCHAT_DB": "data/maxchat.duckdb",
    "MAXCHAT_MEDIA_DIR": "data/media",
    "MAXCHAT_DEMO": "0",  # demo logins and data only when asked for (run.sh asks)
    "MAXCHAT_PORT": "8501",
    "MAXCHAT_TIMEZONE": "Asia/Jakarta",  # the team's timezone: report days and hours, business hours
    "MAXCHAT_ADMIN_USER": "admin",
    "MAXCHAT_ADMIN_PASSWORD": "",
    "WHATSAPP_API_BASE": "https://graph.facebook.com/v21.0",
    "MESSENGER_API_BASE": "https://graph.facebook.com/v21.0",
    "TELEGRAM_API_BASE": "https://api.telegram.org",
}


@lru_cache(maxsize=1)
def _secrets() -> dict:
    path = Path(os.environ.get("MAXCHAT_SECRETS", ".streamlit/secrets.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        data = tomllib.load(f)
    return {k: str(v) for k, v in data.items() if not isinstance(v, dict)}


def get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None:
        value = _secrets().get(name)
    if value is None or value == "":
        return default if default is not None else DEFAULTS.get(name) or None
    return value


def flag(name: str) -> bool:
    return (get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def team_timezone() -> ZoneInfo:
    """MAXCHAT_TIMEZONE as a zone; an unknown name is a clear error at use."""
    name = get("MAXCHAT_TIMEZONE")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"MAXCHAT_TIMEZONE={name!r} is not a timezone name such as 'Asia/Jakarta'.") from None


def number(name: str, default: str, unit: str) -> float:
    """A setting that must be a number; a clear sentence when it is not."""
    raw = get(name, default)
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of {unit}.") from None
