"""The outbound queue the delivery worker drains. A message is written with
status ``pending`` and an outbox row in one transaction; the send ends as
``sent`` (with the provider's id, the row goes) or ``failed`` (with a human
reason; the row stays with its progress, so a retry by hand resumes at the
step that failed).

A send is a list of provider calls (``channels.base.Step``); ``step`` counts
those done. Before a call that puts something in front of the customer the
row is committed as ``sending``: a row still ``sending`` when the process
starts is one we cannot tell was sent (see ``unsure_after_restart``)."""
from __future__ import annotations

from datetime import datetime

from .store import Store, Writer, utcnow

UNSURE_AFTER_RESTART = ("Not sure it was sent (the server stopped while sending): "
                        "check with the customer, then retry")


def unsure(detail: str) -> str:
    return f"Not sure it was sent ({detail}): check with the customer, then retry"


def due(store: Store, limit: int = 50, now: datetime | None = None, channel: str | None = None,
        broadcast_id: int | None = None) -> list[dict]:
    """Messages whose next attempt is due, oldest first, with what a sender
    needs: agents' messages, or (with ``broadcast_id``) that broadcast's,
    which the lane takes only as fast as the broadcast's rate allows."""
    return store.dicts(
        "SELECT o.message_id, o.broadcast_id, o.attempts, o.step, o.upload_id, o.provider_message_id AS first_part_id,"
        " m.chat_id, m.channel, m.kind, m.body, m.caption, m.template_id,"
        " m.template_params, c.channel_user_id, f.path AS attachment_path, f.mime, f.filename, f.kind AS attachment_kind,"
        " t.name AS template_name, t.language AS template_language"
        " FROM outbox o JOIN messages m ON m.id = o.message_id JOIN chats c ON c.id = m.chat_id"
        " LEFT JOIN attachments f ON f.id = m.attachment_id LEFT JOIN templates t ON t.id = m.template_id"
        " WHERE o.state = 'queued' AND o.next_attempt_at <= ? AND (? IS NULL OR m.channel = ?)"
        " AND o.broadcast_id IS NOT DISTINCT FROM ?"
        " ORDER BY o.next_attempt_at, o.message_id LIMIT ?",
        [now or utcnow(), channel, channel, broadcast_id, limit])


def agents_due(store: Store, now: datetime | None = None) -> bool:
    """Is any agent's message (any channel) due? Reads the outbox alone: a
    lane asks this on every round of a broadcast before the costlier ``due``."""
    return store.one("SELECT count(*) > 0 FROM outbox WHERE state = 'queued' AND broadcast_id IS NULL"
                     " AND next_attempt_at <= ?", [now or utcnow()])[0]


def next_due(store: Store, channel: str) -> datetime | None:
    """When the channel's earliest waiting agent's message comes due (None:
    nothing waits); broadcasts are paced by the lane itself."""
    return store.one("SELECT min(o.next_attempt_at) FROM outbox o JOIN messages m ON m.id = o.message_id"
                     " WHERE o.state = 'queued' AND m.channel = ? AND o.broadcast_id IS NULL", [channel])[0]


def pending_count(store: Store) -> int:
    return store.one("SELECT count(*) FROM outbox WHERE state <> 'failed'")[0]


def sending(store: Store, message_id: int) -> bool:
    """Durably say a send call is about to be made (before making it). False
    when the row is no longer waiting (a cancelled broadcast): do not send."""
    return store.write(_sending, message_id)


def _sending(w: Writer, message_id):
    return bool(w.all("UPDATE outbox SET state = 'sending' WHERE message_id = ? AND state = 'queued' RETURNING 1",
                      [message_id]))


def step_done(store: Store, message_id: int, upload_id: str | None, part_id: str | None) -> None:
    """One provider call of a multi-call send is done: the next one gets its own tries."""
    store.write(_step_done, message_id, upload_id, part_id)


def _step_done(w: Writer, message_id, upload_id, part_id):
    w.execute("UPDATE outbox SET step = step + 1, state = 'queued', attempts = 0, last_error = NULL,"
              " upload_id = coalesce(?, upload_id), provider_message_id = coalesce(provider_message_id, ?)"
              " WHERE message_id = ?", [upload_id, part_id, message_id])


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
    w.execute("UPDATE outbox SET state = 'failed', last_error = ? WHERE message_id = ?", [reason, message_id])


def reschedule(store: Store, message_id: int, when: datetime, error: str) -> None:
    """A temporary failure (429, 5xx, a timeout): try again at ``when``."""
    store.write(_reschedule, message_id, when, error)


def _reschedule(w: Writer, message_id, when, error):
    w.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, state = 'queued'"
              " WHERE message_id = ?", [when, error, message_id])


def hold(store: Store, message_ids: list[int], when: datetime) -> None:
    """Postpone without counting an attempt (they were not tried)."""
    store.write(_hold, message_ids, when)


def _hold(w: Writer, message_ids, when):
    w.execute("UPDATE outbox SET next_attempt_at = greatest(next_attempt_at, ?) WHERE message_id IN (SELECT unnest(?))",
              [when, message_ids])


def unsure_after_restart(store: Store) -> list[int]:
    """At start, before any sending: sends interrupted in flight end failed
    for a person to check, never resent blindly. Returns their message ids."""
    return store.write(_unsure_after_restart)


def _unsure_after_restart(w: Writer):
    ids = [i for (i,) in w.all("SELECT message_id FROM outbox WHERE state = 'sending'")]
    for message_id in ids:
        _mark_failed(w, message_id, UNSURE_AFTER_RESTART)
    return ids
