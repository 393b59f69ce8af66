"""The one store of the running server, shared by pages, webhook routes and
workers (DuckDB allows one read-write process per file, so one process owns
it). Opened on first use: the first admin and, in demo mode, demo data."""
from __future__ import annotations

import logging
import secrets
import sys
import threading

from maxchat_data import MaxchatError, accounts, config, demo, open_store
from maxchat_data.i18n import _
from maxchat_data.store import Store

log = logging.getLogger(__name__)
_lock = threading.Lock()
_store: Store | None = None


class UnsafeStart(MaxchatError):
    """The server would open with a password anyone can read in the README."""


def store() -> Store:
    global _store
    with _lock:
        if _store is None:
            opened = open_store()
            try:
                _prepare(opened)
            except BaseException:
                opened.close()
                raise
            _store = opened
        return _store


def _prepare(s: Store) -> None:
    username = config.get("MAXCHAT_ADMIN_USER")
    password = config.get("MAXCHAT_ADMIN_PASSWORD")
    made_up = False
    if not password:
        # Never a known password outside demo mode: a random one, shown once.
        password = demo.DEMO_ADMIN_PASSWORD if demo_mode() else secrets.token_urlsafe(12)
        made_up = not demo_mode()
    if accounts.bootstrap_admin(s, username, password):
        if made_up:
            _say(_("Maxchat Inbox: created the first admin {username!r} with the password {password!r}."
                   " It is shown only this once: log in and change it on the Agents page,"
                   " or set {setting} before the first start.").format(username=username, password=password,
                                                                      setting="MAXCHAT_ADMIN_PASSWORD"))
        else:
            log.info("created admin %s", username)
    if demo_mode():
        if demo.seed_if_empty(s):
            log.info("seeded demo data into %s", s.path)
        return
    left = demo.known_logins_left(s)
    if left:
        raise UnsafeStart(_(
            "{path} holds demo data, and these accounts still log in with the demo passwords: {accounts}. Start with"
            " {demo} to keep using it as a demo, set new passwords ({command}), or point {setting} at a new file"
            " for real use.").format(path=s.path, accounts=", ".join(left), demo="MAXCHAT_DEMO=1",
                                     command="python -m maxchat_data set-password USERNAME", setting="MAXCHAT_DB"))


def _say(line: str) -> None:
    # Straight to stderr: the log configuration of the host process may drop INFO.
    print(line, file=sys.stderr, flush=True)


def demo_mode() -> bool:
    return config.flag("MAXCHAT_DEMO")


def close() -> None:
    """Stop the writer and close the file (tests and shutdown)."""
    global _store
    with _lock:
        if _store is not None:
            _store.close()
            _store = None
