"""Per-session facts for the reports, kept as messages are written.

The reports read ``session_facts`` (first customer message, first agent
reply and who sent it, message counts, the open wait), ``session_replies``
(replies per agent) and ``waits`` (one row per reply that answered customer
messages) instead of scanning every message. Migration 007 creates them,
defines the one rule that derives them from messages (the ``fact_bursts``
macro) and backfills them; here the writer folds in what was written since.

A message is folded once: ``facts_state`` says up to which message id. The
writer folds what came in at most every second and when writes stop
(``keep``): a fold costs about 10 ms however few messages it takes, so it
is not paid per webhook or reply. A report folds whatever is left before it
reads (``catch_up``), so its figures always include every message.
"""
from __future__ import annotations

from .store import Store, Writer

_FOLD = (
    "CREATE OR REPLACE TEMP TABLE fold AS SELECT * FROM fact_bursts($through, $sessions)",
    "INSERT INTO waits SELECT session_id, reply_id, waiting_since, reply_at FROM fold"
    " WHERE reply_id IS NOT NULL AND waiting_since IS NOT NULL",
    "INSERT INTO session_replies SELECT session_id, agent_id, count(*) FROM fold WHERE reply_id IS NOT NULL"
    " GROUP BY ALL ON CONFLICT (session_id, agent_id) DO UPDATE SET replies = replies + excluded.replies",
    # The bursts' open wait already includes the one carried over, so it replaces it.
    "INSERT INTO session_facts"
    " SELECT session_id, min(first_customer_at), sum(customer_messages), count(reply_id), min(reply_at),"
    "  arg_min(agent_id, (reply_at, reply_id)) FILTER (WHERE reply_id IS NOT NULL),"
    "  min(waiting_since) FILTER (WHERE reply_id IS NULL)"
    " FROM fold GROUP BY session_id"
    " ON CONFLICT (session_id) DO UPDATE SET"
    "  first_customer_at = least(session_facts.first_customer_at, excluded.first_customer_at),"
    "  customer_messages = session_facts.customer_messages + excluded.customer_messages,"
    "  agent_messages = session_facts.agent_messages + excluded.agent_messages,"
    "  first_reply_agent_id = CASE WHEN session_facts.first_reply_at IS NULL"
    "   OR excluded.first_reply_at < session_facts.first_reply_at"
    "   THEN excluded.first_reply_agent_id ELSE session_facts.first_reply_agent_id END,"
    "  first_reply_at = least(session_facts.first_reply_at, excluded.first_reply_at),"
    "  waiting_since = excluded.waiting_since",
    "DROP TABLE fold",
)


def fold(w: Writer) -> None:
    """Fold every message written since the last fold (in this transaction
    too) into the facts."""
    (through,) = w.one("SELECT folded_through FROM facts_state")
    top, sessions = w.one("SELECT max(id), list(DISTINCT session_id) FILTER (WHERE session_id IS NOT NULL)"
                          " FROM messages WHERE id > ?", [through])
    if top is None:
        return
    for sql in _FOLD:
        w.execute(sql, {"through": through, "sessions": sessions or []} if "$through" in sql else None)
    w.execute("UPDATE facts_state SET folded_through = ?", [top])


FOLD_EVERY_S = 1.0


def keep(store: Store) -> None:
    store.every(FOLD_EVERY_S, fold)


def catch_up(store: Store) -> None:
    """Fold messages written past the writer's own paths before reading."""
    through, top = store.one("SELECT (SELECT folded_through FROM facts_state), (SELECT max(id) FROM messages)")
    if top is not None and top > through:
        store.write(fold)
