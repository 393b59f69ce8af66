"""Per-session facts for the reports, kept as messages are written.

The reports read ``session_facts`` (one row per session: its chat, channel
and start, and from its messages the first customer message, the first
agent reply and who sent it, message counts, the open wait), ``session_replies``
(replies per agent) and ``waits`` (one row per reply that answered customer
messages) instead of scanning every message. Migration 007 creates them,
defines the one rule that derives them from messages (the ``fact_bursts``
macro) and backfills them; here the writer folds in what was written since.

A session or message is folded once: ``facts_state`` says up to which id. The
writer folds what came in at most every second and when writes stop
(``keep``): a fold costs about 10 ms however few messages it takes, so it
is not paid per webhook or reply. A report folds whatever is left before it
reads (``catch_up``), so its figures always include every message.
"""
from __future__ import annotations

import re

from .store import Store, Writer

_FOLD = (
    # New sessions first: a row each, however few messages they have.
    "INSERT INTO session_facts (session_id, chat_id, channel, started_at)"
    " SELECT s.id, s.chat_id, c.channel, s.started_at FROM sessions s JOIN chats c ON c.id = s.chat_id"
    " WHERE s.id > $sessions_through ORDER BY s.started_at, s.id",
    # A session whose new messages fall before what is folded already is folded again from nothing.
    "DELETE FROM waits WHERE session_id IN (SELECT unnest($redo))",
    "DELETE FROM session_replies WHERE session_id IN (SELECT unnest($redo))",
    "UPDATE session_facts SET first_customer_at = NULL, customer_messages = 0, agent_messages = 0,"
    " first_reply_at = NULL, first_reply_agent_id = NULL, waiting_since = NULL, last_at = NULL, last_reply_at = NULL"
    " WHERE session_id IN (SELECT unnest($redo))",
    "CREATE OR REPLACE TEMP TABLE fold AS SELECT * FROM fact_bursts($through, $sessions, $redo)",
    "INSERT INTO waits SELECT b.session_id, b.reply_id, f.started_at, b.waiting_since, b.reply_at"
    " FROM fold b JOIN (SELECT session_id, started_at FROM session_facts WHERE session_id IN (SELECT unnest($touched)))"
    " f USING (session_id) WHERE b.reply_id IS NOT NULL AND b.waiting_since IS NOT NULL",
    "INSERT INTO session_replies SELECT session_id, agent_id, count(*) FROM fold WHERE reply_id IS NOT NULL"
    " GROUP BY ALL ON CONFLICT (session_id, agent_id) DO UPDATE SET replies = replies + excluded.replies",
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
    " FROM fact_sessions('fold') a WHERE session_facts.session_id = a.session_id",
    "DROP TABLE fold",
)


def fold(w: Writer) -> None:
    """Fold every session and message written since the last fold (in this
    transaction too) into the facts."""
    sessions_through, through = w.one("SELECT sessions_through, folded_through FROM facts_state")
    (new_sessions,) = w.one("SELECT max(id) FROM sessions WHERE id > ?", [sessions_through])
    (top,) = w.one("SELECT max(id) FROM messages WHERE id > ?", [through])
    if new_sessions is None and top is None:
        return
    # Per session of the new messages: its earliest new customer message and reply.
    new = w.all("SELECT session_id, min(sent_at) FILTER (WHERE direction = 'in'),"
                " min(sent_at) FILTER (WHERE direction = 'out' AND sender_agent_id IS NOT NULL AND kind <> 'template')"
                " FROM messages WHERE id > ? AND session_id IS NOT NULL GROUP BY session_id", [through])
    sessions = [row[0] for row in new]
    folded = {sid: (last_at, last_reply) for sid, last_at, last_reply in w.all(
        "SELECT session_id, last_at, last_reply_at FROM session_facts WHERE session_id IN (SELECT unnest(?))",
        [sessions])}
    # Late (a provider's time a little in the past): a customer message at or before
    # a reply already folded, or a reply before a message already folded, changes
    # the bursts before it, so the session is folded again from its messages.
    redo = [sid for sid, first_in, first_reply in new if sid in folded and (
        first_in is not None and folded[sid][1] is not None and first_in <= folded[sid][1]
        or first_reply is not None and folded[sid][0] is not None and first_reply < folded[sid][0])]
    params = {"sessions_through": sessions_through, "through": through, "redo": redo, "touched": sessions,
              "sessions": [x for x in sessions if x not in set(redo)]}  # their open waits carry over
    for sql in _FOLD:
        if "$redo" in sql and "fact_bursts" not in sql and not params["redo"]:
            continue
        w.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)} or None)
    w.execute("UPDATE facts_state SET sessions_through = ?, folded_through = ?",
              [new_sessions or sessions_through, top or through])


FOLD_EVERY_S = 1.0


def keep(store: Store) -> None:
    store.every(FOLD_EVERY_S, fold)


def catch_up(store: Store) -> None:
    """Fold what the writer has not folded yet, before a report reads."""
    if store.one("SELECT (SELECT max(id) FROM sessions) > sessions_through OR (SELECT max(id) FROM messages)"
                 " > folded_through FROM facts_state")[0]:
        store.write(fold)
