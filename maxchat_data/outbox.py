"""The outbound queue the delivery worker drains. A message is written with
status ``pending`` and an outbox row in one transaction; the send ends as
``sent`` (with the provider's id) or ``failed`` (with a human reason)."""
from __future__ import annotations

from datetime import datetime

from .store import Store, Writer, utcnow


def due(store: Store, limit: int = 50, now: datetime | None = None) -> list[dict]:
    """Messages whose next attempt is due, oldest first, with what a sender needs."""
    return store.dicts(
        "SELECT o.message_id, o.attempts, m.chat_id, m.channel, m.kind, m.body, m.caption, m.template_id,"
        " m.template_params, c.channel_user_id, f.path AS attachment_path, f.mime, f.filename, f.kind AS attachment_kind,"
        " t.name AS template_name, t.language AS template_language"
        " FROM outbox o JOIN messages m ON m.id = o.message_id JOIN chats c ON c.id = m.chat_id"
        " LEFT JOIN attachments f ON f.id = m.attachment_id LEFT JOIN templates t ON t.id = m.template_id"
        " WHERE o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.message_id LIMIT ?",
        [now or utcnow(), limit])


def pending_count(store: Store) -> int:
    return store.one("SELECT count(*) FROM outbox")[0]


def mark_sent(store: Store, message_id: int, provider_message_id: str | None) -> None:
    store.write(_mark_sent, message_id, provider_message_id)


def _mark_sent(w: Writer, message_id, provider_message_id):
    # A status webhook may have beaten us to it: never move ticks backwards.
    w.execute("UPDATE messages SET status = CASE WHEN status IN ('delivered', 'read') THEN status ELSE 'sent' END,"
              " provider_message_id = coalesce(?, provider_message_id), error = NULL WHERE id = ?",
              [provider_message_id, message_id])
    w.execute("DELETE FROM outbox WHERE message_id = ?", [message_id])


def mark_failed(store: Store, message_id: int, reason: str) -> None:
    store.write(_mark_failed, message_id, reason)


def _mark_failed(w: Writer, message_id, reason):
    w.execute("UPDATE messages SET status = 'failed', error = ? WHERE id = ?", [reason, message_id])
    w.execute("DELETE FROM outbox WHERE message_id = ?", [message_id])


def reschedule(store: Store, message_id: int, when: datetime, error: str) -> None:
    """A temporary failure (429, 5xx, a timeout): try again at ``when``."""
    store.write(_reschedule, message_id, when, error)


def _reschedule(w: Writer, message_id, when, error):
    w.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE message_id = ?",
              [when, error, message_id])
