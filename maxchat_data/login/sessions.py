"""Which signed sessions still count: logouts (revoked session ids) and each
agent's session epoch, kept in the database so neither is forgotten on a
restart. Read on every script run, so they are held in memory per store and
reloaded only after a commit that touched them (the "logins" topic)."""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..store import Store, Writer, utcnow
from .tokens import Session

TOPIC = "logins"


@dataclass(frozen=True)
class _Book:
    version: int
    revoked: frozenset[str] = frozenset()
    epochs: dict[int, int] = field(default_factory=dict)


_lock = threading.Lock()
_books: "weakref.WeakKeyDictionary[Store, _Book]" = weakref.WeakKeyDictionary()


def _book(store: Store) -> _Book:
    version = store.topic_version(TOPIC)  # read first: a commit after this reloads next time
    book = _books.get(store)
    if book is not None and book.version == version:
        return book
    revoked = frozenset(sid for (sid,) in store.all("SELECT sid FROM revoked_sessions WHERE expires_at > now()"))
    book = _Book(version, revoked, dict(store.all("SELECT agent_id, epoch FROM session_epochs")))
    with _lock:
        _books[store] = book
    return book


def epoch(store: Store, agent_id: int) -> int:
    """The agent's current session epoch: what a new token carries."""
    return _book(store).epochs.get(agent_id, 0)


def is_live(store: Store, session: Session | None) -> bool:
    """Not logged out, and made under the agent's current epoch."""
    if session is None:
        return False
    book = _book(store)
    return session.sid not in book.revoked and session.epoch == book.epochs.get(session.agent_id, 0)


def revoke(store: Store, session: Session) -> None:
    """Logout: this session id is dead until its expiry, restarts included."""
    store.write(_revoke, session.sid, session.agent_id,
                datetime.fromtimestamp(session.expires_at, timezone.utc))


def _revoke(w: Writer, sid, agent_id, expires_at):
    w.execute("DELETE FROM revoked_sessions WHERE expires_at <= ?", [utcnow()])
    w.execute("INSERT INTO revoked_sessions VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [sid, agent_id, expires_at])
    w.touch(TOPIC)


def end_all_sessions(w: Writer, agent_id: int) -> None:
    """Inside a write: every session of the agent ends (password changed,
    account deactivated)."""
    w.execute("INSERT INTO session_epochs VALUES (?, 1)"
              " ON CONFLICT (agent_id) DO UPDATE SET epoch = session_epochs.epoch + 1", [agent_id])
    w.touch(TOPIC)
