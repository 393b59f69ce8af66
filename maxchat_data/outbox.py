"""The outbound queue the delivery worker drains. A message is written with
status ``pending`` and an outbox row in one transaction; the send ends as
``sent`` (with the provider's id, the row goes) or ``failed`` (with a human
reason; the row stays with its progress, so a retry by hand resumes at the
step that failed).

A row's ``state``: ``queued`` (waiting), ``claimed`` (one sender took it:
``claimed_by``), ``sending`` (the call that puts it in front of the customer
may have started), ``failed``. Several replicas each run the lanes, so a
sender *claims* due rows in one transaction (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so two replicas never take the same row) and only then sends them.

A send is a list of provider calls (``channels.base.Step``); ``step`` counts
those done. Before a call that puts something in front of the customer the
row is committed as ``sending``. A ``sending`` row whose sender is gone is one
we cannot tell was sent: it ends failed for a person to check, never resent
(``settle_orphans``). "Gone": on DuckDB (one process per file) every sender
but this run's is gone when the worker starts; on PostgreSQL a sender
holding rows beats every ``BEAT`` and is gone once silent for ``STALE``, so a
replica starting (or restarting) never touches rows another live one is
sending, and a replica that died has its rows settled by the others. A gone
sender's ``claimed`` rows simply go back to the queue (nothing reached the
customer; uploads are repeated freely)."""
from __future__ import annotations

from datetime import datetime, timedelta

from .i18n import later
from .store import Store, Writer, utcnow

# The failure reasons below are stored on the message for agents to read,
# as ``i18n.later`` says: each agent reads them in their own language.
UNSURE_AFTER_RESTART = later._("Not sure it was sent (the server stopped while sending): "
                               "check with the customer, then retry")
BEAT = 5.0                        # seconds between a busy sender's "alive"
STALE = timedelta(seconds=60)     # silent this long: the sender is gone


def unsure(detail: str) -> str:
    return later._("Not sure it was sent ({detail}): check with the customer, then retry", detail=detail)


# What a sender needs to send a row.
_ROWS = ("SELECT o.message_id, o.broadcast_id, o.attempts, o.step, o.upload_id, o.provider_message_id AS first_part_id,"
         " m.chat_id, m.channel, m.kind, m.body, m.caption, m.template_id,"
         " m.template_params, c.channel_user_id, f.path AS attachment_path, f.mime, f.filename, f.kind AS attachment_kind,"
         " t.name AS template_name, t.language AS template_language"
         " FROM outbox o JOIN messages m ON m.id = o.message_id JOIN chats c ON c.id = m.chat_id"
         " LEFT JOIN attachments f ON f.id = m.attachment_id LEFT JOIN templates t ON t.id = m.template_id")
# Due, oldest first: agents' messages, or (with a broadcast id) that broadcast's.
# Parameters: now, channel, channel, broadcast id.
_DUE = ("o.state = 'queued' AND o.next_attempt_at <= ? AND (?::VARCHAR IS NULL OR m.channel = ?)"
        " AND o.broadcast_id IS NOT DISTINCT FROM ?::BIGINT")
_OLDEST_FIRST = " ORDER BY o.next_attempt_at, o.message_id"


def due(store: Store, limit: int = 50, now: datetime | None = None, channel: str | None = None,
        broadcast_id: int | None = None) -> list[dict]:
    """Messages whose next attempt is due, oldest first (a look: sending
    takes them with ``claim``)."""
    return store.dicts(f"{_ROWS} WHERE {_DUE}{_OLDEST_FIRST} LIMIT ?",
                       [now or utcnow(), channel, channel, broadcast_id, limit])


def claim(store: Store, sender: str, limit: int = 50, channel: str | None = None,
          broadcast_id: int | None = None) -> list[dict]:
    """Take up to ``limit`` due rows for ``sender``, oldest first: agents'
    messages, or (with ``broadcast_id``) that broadcast's, which the lane
    takes only as fast as the broadcast's rate allows. A row is taken by one
    sender only, also with several replicas claiming at once."""
    ids = store.write(_claim, sender, limit, utcnow(), channel, broadcast_id)
    if not ids:
        return []
    return store.dicts(f"{_ROWS} WHERE o.message_id IN (SELECT unnest(?::BIGINT[])){_OLDEST_FIRST}", [ids])


def _claim(w: Writer, sender, limit, now, channel, broadcast_id) -> list[int]:
    return claim_rows(w, sender, _DUE, [now, channel, channel, broadcast_id], limit)


def claim_rows(w: Writer, sender: str, where: str, params: list, limit: int) -> list[int]:
    """Claim for ``sender`` up to ``limit`` rows matching ``where`` (over
    outbox ``o`` and messages ``m``), oldest first. Returns their ids.

    A chat with a row in flight (claimed or being sent, by anyone) is left
    alone: its later messages must not overtake it at another replica. So
    that a claim sees the others' claims, claims take turns (PostgreSQL: a
    transaction lock; DuckDB's one writer already does)."""
    w.serialize("outbox claim")
    ids = [i for (i,) in w.all(
        "UPDATE outbox SET state = 'claimed', claimed_by = ? WHERE state = 'queued' AND message_id IN"
        f" (SELECT o.message_id FROM outbox o LEFT JOIN messages m ON m.id = o.message_id WHERE {where}"
        " AND NOT EXISTS (SELECT 1 FROM outbox b JOIN messages f ON f.id = b.message_id"
        "   WHERE b.state IN ('claimed', 'sending') AND f.chat_id = m.chat_id)"
        f"{_OLDEST_FIRST} LIMIT ?{w.engine.lock(skip_locked=True, of='o')}) RETURNING message_id",
        [sender, *params, limit])]
    if ids:
        _alive(w, sender, utcnow())
    return ids


def alive(store: Store, sender: str) -> None:
    """The sender holds rows and is working on them (see ``STALE``)."""
    store.write(_alive, sender, utcnow())


def _alive(w: Writer, sender, now) -> None:
    w.execute("INSERT INTO senders (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
              [sender, now])


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


def sending(store: Store, message_id: int, sender: str) -> bool:
    """Durably say a send call is about to be made (before making it). False
    when the row is no longer this sender's to send (a cancelled broadcast,
    or settled while this sender looked gone): do not send."""
    return store.write(_sending, message_id, sender)


def _sending(w: Writer, message_id, sender):
    return bool(w.all("UPDATE outbox SET state = 'sending' WHERE message_id = ? AND state = 'claimed'"
                      " AND claimed_by = ? RETURNING 1", [message_id, sender]))


def step_done(store: Store, message_id: int, upload_id: str | None, part_id: str | None) -> None:
    """One provider call of a multi-call send is done: the next one gets its own tries."""
    store.write(_step_done, message_id, upload_id, part_id)


def _step_done(w: Writer, message_id, upload_id, part_id):
    # Still the sender's: it goes on with the next step.
    w.execute("UPDATE outbox SET step = step + 1, state = 'claimed', attempts = 0, last_error = NULL,"
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
    store.write(_mark_failed, [message_id], reason)


def _mark_failed(w: Writer, message_ids: list[int], reason: str) -> None:
    w.execute("UPDATE messages SET status = 'failed', error = ? WHERE id IN (SELECT unnest(?::BIGINT[]))",
              [reason, message_ids])
    w.execute("UPDATE outbox SET state = 'failed', last_error = ? WHERE message_id IN (SELECT unnest(?::BIGINT[]))",
              [reason, message_ids])


def reschedule(store: Store, message_id: int, when: datetime, error: str) -> None:
    """A temporary failure (429, 5xx, a timeout): back in the queue, tried again at ``when``."""
    store.write(_reschedule, message_id, when, error)


def _reschedule(w: Writer, message_id, when, error):
    w.execute("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, state = 'queued',"
              " claimed_by = NULL WHERE message_id = ?", [when, error, message_id])


def hold(store: Store, message_ids: list[int], when: datetime) -> None:
    """Give claimed rows back to the queue, not before ``when``, without
    counting an attempt (they were not tried)."""
    store.write(_hold, message_ids, when)


def _hold(w: Writer, message_ids, when):
    w.execute("UPDATE outbox SET next_attempt_at = greatest(next_attempt_at, ?), state = 'queued', claimed_by = NULL"
              " WHERE message_id IN (SELECT unnest(?::BIGINT[])) AND state = 'claimed'", [when, message_ids])


# Rows of a gone sender (parameters: this sender, seen after). A row
# 'sending' from before claims existed has no sender: gone too.
_ORPHAN = ("claimed_by IS DISTINCT FROM ? AND NOT EXISTS"
           " (SELECT 1 FROM senders s WHERE s.id = outbox.claimed_by AND s.seen_at > ?)")


def orphans(store: Store, sender: str) -> int:
    """How many rows gone senders left (a cheap look before ``settle_orphans``)."""
    return store.one(f"SELECT count(*) FROM outbox WHERE state IN ('claimed', 'sending') AND {_ORPHAN}",
                     [sender, utcnow() - STALE])[0]


def settle_orphans(store: Store, sender: str, at_start: bool = False) -> list[int]:
    """Rows gone senders left: a claimed one back to the queue; one being
    sent ends failed for a person to check, never resent blindly. Returns
    the ids of those. ``at_start``: before this worker sends anything."""
    return store.write(_settle_orphans, sender, at_start)


def _settle_orphans(w: Writer, sender, at_start):
    now = utcnow()
    # DuckDB: one process per file, so at start every other sender is a
    # past run of this server; PostgreSQL: one silent for STALE is gone.
    seen_after = now if at_start and w.engine.one_process else now - STALE
    w.execute(f"UPDATE outbox SET state = 'queued', claimed_by = NULL WHERE state = 'claimed' AND {_ORPHAN}",
              [sender, seen_after])
    ids = [i for (i,) in w.all(f"SELECT message_id FROM outbox WHERE state = 'sending' AND {_ORPHAN}"
                               f" ORDER BY message_id{w.engine.lock()}", [sender, seen_after])]
    if ids:
        _mark_failed(w, ids, UNSURE_AFTER_RESTART)
    w.execute("DELETE FROM senders WHERE seen_at <= ? AND id <> ?", [seen_after, sender])
    w.touch("outbox")
    return ids
