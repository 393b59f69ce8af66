"""The data and its rules: the DuckDB store, every chat rule, the channel
parsers and clients. Imports no web framework (no streamlit, no starlette):
anything may import it: ``server``, the pages, scripts, tests, benchmarks."""
from __future__ import annotations

from pathlib import Path

from . import config, facts
from .errors import MaxchatError, NotAllowed, NotFound, ValidationError
from .store import Store

__all__ = ["open_store", "Store", "MaxchatError", "NotAllowed", "NotFound", "ValidationError"]


def open_store(path: str | None = None, media_dir: str | None = None) -> Store:
    """The store at ``MAXCHAT_DB`` (migrated), with media under ``MAXCHAT_MEDIA_DIR``."""
    path = path or config.get("MAXCHAT_DB")
    media_dir = media_dir or config.get("MAXCHAT_MEDIA_DIR") or str(Path(path).parent / "media")
    store = Store(path, media_dir)
    facts.keep(store)
    return store
