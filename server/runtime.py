"""The one store of the running server, shared by pages, webhook routes and
workers (DuckDB allows one read-write process per file, so one process owns
it). Opened on first use: bootstrap admin and, in demo mode, demo data."""
from __future__ import annotations

import logging
import threading

from maxchat_data import accounts, config, demo, open_store
from maxchat_data.store import Store

log = logging.getLogger(__name__)
_lock = threading.Lock()
_store: Store | None = None


def store() -> Store:
    global _store
    with _lock:
        if _store is None:
            _store = open_store()
            _prepare(_store)
        return _store


def _prepare(s: Store) -> None:
    password = config.get("MAXCHAT_ADMIN_PASSWORD")
    if not password and demo_mode():
        password = "admin1234"  # the README's demo login; set MAXCHAT_ADMIN_PASSWORD in production
    if accounts.bootstrap_admin(s, config.get("MAXCHAT_ADMIN_USER"), password):
        log.info("created admin %s", config.get("MAXCHAT_ADMIN_USER"))
    if demo_mode() and demo.seed_if_empty(s):
        log.info("seeded demo data into %s", s.path)


def demo_mode() -> bool:
    return config.flag("MAXCHAT_DEMO")


def close() -> None:
    """Stop the writer and close the file (tests and shutdown)."""
    global _store
    with _lock:
        if _store is not None:
            _store.close()
            _store = None
