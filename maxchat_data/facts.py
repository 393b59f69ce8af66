"""Per-session facts for the reports, kept as messages are written.

The reports read ``session_facts`` (one row per session: its chat, channel
and start, and from its messages the first customer message, the first
agent reply and who sent it, message counts, the open wait), ``session_replies``
(replies per agent) and ``waits`` (one row per reply that answered customer
messages) instead of scanning every message. Migration 007 creates them and
backfills them; here the writer folds in what was written since, with the
one rule that derives them from messages (``_BURSTS``), on both engines.

A session or message is folded once: ``facts_state`` says up to which
*position* (below). The writer folds what came in at most every second and
when writes stop (``keep``): a fold costs about 10 ms however few messages it
takes, so it is not paid per webhook or reply. A report folds whatever is
left before it reads (``catch_up``), so its figures include every message.

Positions. DuckDB: one writer thread commits in id order, so a row's position
is its id. PostgreSQL: several replicas take ids from the sequences and
commit in any order, so a row with a smaller id may commit after a fold has
passed it; there a row's position is the id of the transaction that inserted
it (column ``xact``, migration postgresql/011), and a fold takes only rows of
transactions older than its snapshot's xmin: all of those have ended, so
nothing can still appear below the mark. Chosen over a time horizon: exact
whatever the clocks of the replicas or the length of a transaction, and a
report need not wait 30 s. Two folds at once (every replica's writer folds)
queue on the ``facts_state`` row (FOR UPDATE), the second then starts from
where the first stopped.
"""
from __future__ import annotations

import logging
import re
import time

from .store import Store, Writer

log = logging.getLogger(__name__)

POSITION = {"duckdb": "id", "postgresql": "xact"}
# DuckDB has no FOR UPDATE (and needs none: one writer per file).
_LOCK = {"duckdb": "", "postgresql": " FOR UPDATE"}
# Messages as "bursts": per session, in time order, the customer messages
# since the previous agent reply and the reply that answers them (NULL while
# none has); at the same instant a customer message comes first, as a reply
# sent then answers it. Read: the messages in (from, to], and every message
# of the sessions in ``redo`` up to ``from`` (folded again from nothing). The
# open wait of each of ``sessions`` is carried over into its first burst.
_BURSTS = """
WITH m AS (
    SELECT session_id, id, sent_at, direction = 'in' AS customer,
           CASE WHEN direction = 'out' THEN sender_agent_id END AS agent_id, FALSE AS carried
    FROM (SELECT * FROM messages WHERE {pos} > $from AND {pos} <= $to
          UNION ALL SELECT * FROM messages WHERE session_id IN (SELECT unnest($redo::BIGINT[])) AND {pos} <= $from
         ) AS picked
    WHERE session_id IS NOT NULL
      AND (direction = 'in' OR (direction = 'out' AND sender_agent_id IS NOT NULL AND kind <> 'template'))),
open_wait AS (
    SELECT session_id, 0::BIGINT AS id, waiting_since AS sent_at, TRUE AS customer, NULL::INTEGER AS agent_id,
           TRUE AS carried
    FROM session_facts WHERE session_id IN (SELECT unnest($sessions::BIGINT[])) AND waiting_since IS NOT NULL),
numbered AS (
    SELECT *, count(agent_id) OVER (PARTITION BY session_id ORDER BY sent_at, agent_id IS NOT NULL, id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS burst
    FROM (SELECT * FROM m UNION ALL SELECT * FROM open_wait) AS both_kinds)
SELECT session_id, burst,
       count(*) FILTER (WHERE customer AND NOT carried) AS customer_messages,
       min(sent_at) FILTER (WHERE customer AND NOT carried) AS first_customer_at,
       min(sent_at) FILTER (WHERE customer) AS waiting_since,
       max(id) FILTER (WHERE agent_id IS NOT NULL) AS reply_id,
       max(sent_at) FILTER (WHERE agent_id IS NOT NULL) AS reply_at,
       max(agent_id) AS agent_id,
       max(sent_at) AS last_at
FROM numbered GROUP BY session_id, burst"""

# The bursts in table ``fold`` summed up per session.
_PER_SESSION = (
    "SELECT session_id, min(first_customer_at) AS first_customer_at, sum(customer_messages) AS customer_messages,"
    " count(reply_id) AS agent_messages, min(reply_at) AS first_reply_at,"
    " (array_agg(agent_id ORDER BY reply_at, reply_id) FILTER (WHERE reply_id IS NOT NULL))[1] AS first_reply_agent_id,"
    " min(waiting_since) FILTER (WHERE reply_id IS NULL) AS waiting_since, max(last_at) AS last_at,"
    " max(reply_at) AS last_reply_at FROM fold GROUP BY session_id")

# A session whose new messages fall before what is folded already is folded again from nothing.
_REDO = (
    "DELETE FROM waits WHERE session_id IN (SELECT unnest($redo::BIGINT[]))",
    "DELETE FROM session_replies WHERE session_id IN (SELECT unnest($redo::BIGINT[]))",
    "UPDATE session_facts SET first_customer_at = NULL, customer_messages = 0, agent_messages = 0,"
    " first_reply_at = NULL, first_reply_agent_id = NULL, waiting_since = NULL, last_at = NULL, last_reply_at = NULL"
    " WHERE session_id IN (SELECT unnest($redo::BIGINT[]))",
)

# New sessions: a row each, however few messages they have (a session's
# row may already be there: see ``fold``).
_NEW_SESSIONS = (
    "INSERT INTO session_facts (session_id, chat_id, channel, started_at)"
    " SELECT s.id, s.chat_id, c.channel, s.started_at FROM sessions s JOIN chats c ON c.id = s.chat_id"
    " WHERE {where} ORDER BY s.started_at, s.id ON CONFLICT (session_id) DO NOTHING")

_FOLD = (
    "CREATE TEMP TABLE fold AS " + _BURSTS,
    "INSERT INTO waits SELECT b.session_id, b.reply_id, f.started_at, b.waiting_since, b.reply_at"
    " FROM fold b JOIN (SELECT session_id, started_at FROM session_facts"
    " WHERE session_id IN (SELECT unnest($touched::BIGINT[]))) f ON f.session_id = b.session_id"
    " WHERE b.reply_id IS NOT NULL AND b.waiting_since IS NOT NULL",
    "INSERT INTO session_replies SELECT session_id, agent_id, count(*) FROM fold WHERE reply_id IS NOT NULL"
    " GROUP BY session_id, agent_id ON CONFLICT (session_id, agent_id)"
    " DO UPDATE SET replies = session_replies.replies + excluded.replies",
    # The bursts' open wait already includes the one carried over, so it replaces it.
    "UPDATE session_facts SET"
    " first_customer_at = least(session_facts.first_customer_at, a.first_customer_at),"
    " customer_messages = session_facts.customer_messages + a.customer_messages,"
    " agent_messages = session_facts.agent_messages + a.agent_messages,"
    " first_reply_agent_id = CASE WHEN session_facts.first_reply_at IS NULL"
    "  OR a.first_reply_at < session_facts.first_reply_at"
    "  THEN a.first_reply_agent_id ELSE session_facts.first_reply_agent_id END,"
    " first_reply_at = least(session_facts.first_reply_at, a.first_reply_at),"
    " waiting_since = a.waiting_since,"
    " last_at = greatest(session_facts.last_at, a.last_at),"
    " last_reply_at = greatest(session_facts.last_reply_at, a.last_reply_at)"
    " FROM (" + _PER_SESSION + ") a WHERE session_facts.session_id = a.session_id",
    "DROP TABLE fold",
)


def _execute(w: Writer, sql: str, params: dict) -> None:
    w.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)} or None)


def _horizon(w: Writer, sessions_from: int, messages_from: int) -> tuple[int, int]:
    """Up to which positions of sessions and messages a fold may take now."""
    if w.dialect == "postgresql":
        (x,) = w.one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::BIGINT - 1")
        return max(x, sessions_from), max(x, messages_from)
    return w.one("SELECT coalesce((SELECT max(id) FROM sessions WHERE id > ?), ?),"
                 " coalesce((SELECT max(id) FROM messages WHERE id > ?), ?)",
                 [sessions_from, sessions_from, messages_from, messages_from])


def fold(w: Writer) -> None:
    """Fold every session and message written since the last fold (in this
    transaction too, on DuckDB) into the facts."""
    pos = POSITION[w.dialect]
    sessions_from, messages_from = w.one("SELECT sessions_through, folded_through FROM facts_state"
                                         + _LOCK[w.dialect])
    sessions_to, messages_to = _horizon(w, sessions_from, messages_from)
    if (sessions_to, messages_to) == (sessions_from, messages_from):
        return
    w.execute(_NEW_SESSIONS.format(where=f"s.{pos} > ? AND s.{pos} <= ?"), [sessions_from, sessions_to])
    # Per session of the new messages: its earliest new customer message and reply.
    new = w.all("SELECT session_id, min(sent_at) FILTER (WHERE direction = 'in'),"
                " min(sent_at) FILTER (WHERE direction = 'out' AND sender_agent_id IS NOT NULL AND kind <> 'template')"
                f" FROM messages WHERE {pos} > ? AND {pos} <= ? AND session_id IS NOT NULL GROUP BY session_id",
                [messages_from, messages_to])
    sessions = [row[0] for row in new]
    folded = {sid: (last_at, last_reply) for sid, last_at, last_reply in w.all(
        "SELECT session_id, last_at, last_reply_at FROM session_facts"
        " WHERE session_id IN (SELECT unnest(?::BIGINT[]))", [sessions])}
    # On PostgreSQL a message's transaction may end before its session's (a
    # session made by another replica, used as soon as it committed, while an
    # older transaction held the horizon back): the session's row is made now.
    orphans = [sid for sid in sessions if sid not in folded]
    if orphans:
        w.execute(_NEW_SESSIONS.format(where="s.id IN (SELECT unnest(?::BIGINT[]))"), [orphans])
    # Late (a provider's time a little in the past): a customer message at or before
    # a reply already folded, or a reply before a message already folded, changes
    # the bursts before it, so the session is folded again from its messages.
    redo = [sid for sid, first_in, first_reply in new if sid in folded and (
        first_in is not None and folded[sid][1] is not None and first_in <= folded[sid][1]
        or first_reply is not None and folded[sid][0] is not None and first_reply < folded[sid][0])]
    params = {"from": messages_from, "to": messages_to, "redo": redo, "touched": sessions,
              "sessions": [x for x in sessions if x not in set(redo)]}  # their open waits carry over
    for sql in _REDO if redo else ():
        _execute(w, sql, params)
    for sql in _FOLD:
        _execute(w, sql.replace("{pos}", pos), params)
    w.execute("UPDATE facts_state SET sessions_through = ?, folded_through = ?", [sessions_to, messages_to])


FOLD_EVERY_S = 1.0
SETTLE_S = 10.0  # the longest a report waits for other replicas' transactions to end


def keep(store: Store) -> None:
    store.every(FOLD_EVERY_S, fold)


def _settle(store: Store) -> None:
    """PostgreSQL: wait until every transaction begun before now has ended
    (a few ms: the writers' transactions are short), so the fold below may
    take everything committed so far."""
    (target,) = store.one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::BIGINT")
    deadline = time.monotonic() + SETTLE_S
    while store.one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::BIGINT")[0] < target:
        if time.monotonic() > deadline:
            log.warning("a transaction has been open for over %g s: the report may miss its last messages", SETTLE_S)
            return
        time.sleep(0.005)


def catch_up(store: Store) -> None:
    """Fold what the writer has not folded yet, before a report reads."""
    if store.dialect == "postgresql":
        _settle(store)
    pos = POSITION[store.dialect]
    if store.one(f"SELECT (SELECT max({pos}) FROM sessions) > sessions_through"
                 f" OR (SELECT max({pos}) FROM messages) > folded_through FROM facts_state")[0]:
        store.write(fold)
