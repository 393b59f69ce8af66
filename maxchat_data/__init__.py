"""The data and its rules: the store (a DuckDB file, or PostgreSQL for
several replicas), every chat rule, the channel
parsers and clients. Imports no web framework (no streamlit, no starlette):
anything may import it: ``server``, the pages, scripts, tests, benchmarks."""
from __future__ import annotations

from pathlib import Path

from . import config, facts
from .errors import MaxchatError, NotAllowed, NotFound, ValidationError
from .store import Store, is_database_url
from .store import open_store as _open

__all__ = ["open_store", "Store", "MaxchatError", "NotAllowed", "NotFound", "ValidationError"]


def open_store(path: str | None = None, media_dir: str | None = None) -> Store:
    """The store at ``MAXCHAT_DATABASE_URL`` (PostgreSQL) or else the file
    ``MAXCHAT_DB`` (migrated), with media under ``MAXCHAT_MEDIA_DIR``."""
    path = path or config.get("MAXCHAT_DATABASE_URL") or config.get("MAXCHAT_DB")
    if not media_dir:
        media_dir = config.get("MAXCHAT_MEDIA_DIR") if is_database_url(path) else (
            config.get("MAXCHAT_MEDIA_DIR") or str(Path(path).parent / "media"))
    store = _open(path, media_dir)
    facts.keep(store)
    return store
