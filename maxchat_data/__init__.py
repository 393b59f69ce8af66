"""Maxchat Inbox data and rules: the DuckDB store and every chat rule of
SPEC.md §1-§8. Imports no streamlit: usable from the app, webhooks, scripts,
tests and benchmarks alike."""
from __future__ import annotations

from pathlib import Path

from . import config
from .errors import MaxchatError, NotAllowed, NotFound, ValidationError
from .store import Store

__all__ = ["open_store", "Store", "MaxchatError", "NotAllowed", "NotFound", "ValidationError"]


def open_store(path: str | None = None, media_dir: str | None = None) -> Store:
    """The store at ``MAXCHAT_DB`` (migrated), with media under ``MAXCHAT_MEDIA_DIR``."""
    path = path or config.get("MAXCHAT_DB")
    media_dir = media_dir or config.get("MAXCHAT_MEDIA_DIR") or str(Path(path).parent / "media")
    return Store(path, media_dir)
