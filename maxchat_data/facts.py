"""Per-session facts, kept as messages are written: the one home of what an
agent reply is (``AGENT_REPLY``) and of the figures made from it.

A session's *first response* is its first agent reply: a message sent by a
human agent (outbound, an agent as sender, not a template). BOT messages,
templates (a broadcast, a Send Template) and activity lines are not
responses, as in Chatwoot's first response time. It is stored once,
``session_facts.first_response_at`` (with ``first_response_agent_id``), and
read by Reports, the Monitor and auto-assignment (``waiting_since``: a
customer waits from the oldest message no agent reply has answered) and the
SQL console's ``sessions`` view.

The reports read ``session_facts`` (one row per session: its chat, channel
and start, who started it and its resolution - copied from ``sessions`` so
a report never joins it, written by ``set_resolution`` - and from its
messages the first customer message, the first agent reply and who sent
it, message counts, the open wait), ``session_replies``
(replies per agent) and ``waits`` (one row per reply that answered customer
messages) instead of scanning every message. Migration 007 creates and
backfills them; here the writer folds in what was written since, with the
one rule that derives them from messages (``_BURSTS``), on both engines.

A session or message is folded once: ``facts_state`` says up to which id.
The writer folds what came in at most every second and when writes stop
(``keep``): a fold costs about 10 ms however few messages it takes, so it is
not paid per webhook or reply. A report folds whatever is left before it
reads (``catch_up``), so its figures include every message committed.

Several replicas (PostgreSQL): every replica's writer folds. Two folds at
once queue on the ``facts_state`` row (FOR UPDATE), so the second starts
where the first stopped. Ids come from sequences and are not in commit
order: a message with a smaller id may commit after a fold went past it.
So a fold reads what it takes once (table ``picked``: one snapshot), and
the ids below its new mark that it did not see go to ``facts_pending``; each
later fold takes those of them that have committed since. Chosen over
folding only rows older than a time horizon: exact whatever the replicas'
clocks or the length of a transaction, and a report includes every message
committed without waiting out the horizon. On DuckDB one writer commits in
id order, so nothing is ever pending there.

When a definition changes (``AGENT_REPLY``, ``_BURSTS``), the stored figures
are made again from the messages: ``recompute`` (``python -m maxchat_data
recompute-facts``, or a migration running the statements of ``RESET``, after
which the writer's next fold rebuilds everything).
"""
from __future__ import annotations

import re
from datetime import timedelta

from .store import Store, Writer, utcnow

KINDS = ("sessions", "messages")
PENDING_FOR = timedelta(hours=1)  # an id missing this long was never committed (rolled back)

# An agent reply, in SQL over a message row: what answers a customer.
AGENT_REPLY = "direction = 'out' AND sender_agent_id IS NOT NULL AND kind <> 'template'"

# Messages as "bursts": per session, in time order, the customer messages
# since the previous agent reply and the reply that answers them (NULL while
# none has); at the same instant a customer message comes first, as a reply
# sent then answers it. Read: the messages ``picked`` by this fold, and every
# message of the sessions in ``redo`` folded before (folded again from
# nothing). The open wait of each of ``sessions`` is carried over into its
# first burst.
_BURSTS = f"""
WITH m AS (
    SELECT session_id, id, sent_at, direction = 'in' AS customer,
           CASE WHEN direction = 'out' THEN sender_agent_id END AS agent_id, FALSE AS carried
    FROM (SELECT session_id, id, sent_at, direction, sender_agent_id, kind FROM picked
          UNION ALL
          SELECT session_id, id, sent_at, direction, sender_agent_id, kind FROM messages
          WHERE session_id IN (SELECT unnest($redo::BIGINT[])) AND id <= $through
            AND id NOT IN (SELECT unnest($pending::BIGINT[]))) AS read
    WHERE session_id IS NOT NULL
      AND (direction = 'in' OR ({AGENT_REPLY}))),
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
    " count(reply_id) AS agent_messages, min(reply_at) AS first_response_at,"
    " (array_agg(agent_id ORDER BY reply_at, reply_id) FILTER (WHERE reply_id IS NOT NULL))[1]"
    " AS first_response_agent_id,"
    " min(waiting_since) FILTER (WHERE reply_id IS NULL) AS waiting_since, max(last_at) AS last_at,"
    " max(reply_at) AS last_reply_at FROM fold GROUP BY session_id")

# A session's row, however few messages it has; made once, whichever comes
# first: the session or (PostgreSQL) a message of it whose transaction ended first.
# With what Reports read of the session itself (who started it, its
# resolution), so they never join sessions.
_SESSION_ROWS = (
    "INSERT INTO session_facts (session_id, chat_id, channel, started_at, user_initiated, resolved_at, resolved_by)"
    " SELECT s.id, s.chat_id, c.channel, s.started_at, s.initiated_by = 'User initiate', s.resolved_at,"
    " s.resolved_by FROM sessions s JOIN chats c ON c.id = s.chat_id"
    " WHERE {where} ORDER BY s.started_at, s.id ON CONFLICT (session_id) DO NOTHING")


def set_resolution(w: Writer, session_id: int, resolved_at, resolved_by: int | None) -> None:
    """Resolve a session (or with None, None reopen it): the session and its
    facts row together, the one place a resolution is written. On PostgreSQL
    it first queues on the ``facts_state`` row as a fold does, so a fold of
    another replica making this session's row either ends before (and the
    facts row is updated here) or starts after (and copies the new values)."""
    if not w.engine.one_process:
        w.one("SELECT 1 FROM facts_state" + w.engine.lock())
    for table, key in (("sessions", "id"), ("session_facts", "session_id")):
        w.execute(f"UPDATE {table} SET resolved_at = ?, resolved_by = ? WHERE {key} = ?",
                  [resolved_at, resolved_by, session_id])

# A session whose new messages fall before what is folded already is folded again from nothing.
_REDO = (
    "DELETE FROM waits WHERE session_id IN (SELECT unnest($redo::BIGINT[]))",
    "DELETE FROM session_replies WHERE session_id IN (SELECT unnest($redo::BIGINT[]))",
    "UPDATE session_facts SET first_customer_at = NULL, customer_messages = 0, agent_messages = 0,"
    " first_response_at = NULL, first_response_agent_id = NULL, waiting_since = NULL, last_at = NULL,"
    " last_reply_at = NULL"
    " WHERE session_id IN (SELECT unnest($redo::BIGINT[]))",
)

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
    " first_response_agent_id = CASE WHEN session_facts.first_response_at IS NULL"
    "  OR a.first_response_at < session_facts.first_response_at"
    "  THEN a.first_response_agent_id ELSE session_facts.first_response_agent_id END,"
    " first_response_at = least(session_facts.first_response_at, a.first_response_at),"
    " waiting_since = a.waiting_since,"
    " last_at = greatest(session_facts.last_at, a.last_at),"
    " last_reply_at = greatest(session_facts.last_reply_at, a.last_reply_at)"
    " FROM (" + _PER_SESSION + ") a WHERE session_facts.session_id = a.session_id",
    "DROP TABLE fold",
)


def _new(through: int, pending: list[int], alias: str = "") -> tuple[str, list]:
    """The rows past the mark, and those pending that have committed since
    (the OR only when there are: it would cost DuckDB its range scan)."""
    if not pending:
        return f"{alias}id > ?", [through]
    return f"({alias}id > ? OR {alias}id IN (SELECT unnest(?::BIGINT[])))", [through, pending]


def _execute(w: Writer, sql: str, params: dict) -> None:
    w.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)} or None)


def fold(w: Writer) -> None:
    """Fold every session and message committed since the last fold (and
    those of this transaction) into the facts."""
    sessions_from, messages_from = w.one("SELECT sessions_through, folded_through FROM facts_state"
                                         + w.engine.lock())
    pending: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for kind, i in w.all("SELECT kind, id FROM facts_pending"):
        pending[kind].append(i)
    # What this fold takes, each read once: what was not committed then is pending below.
    where, args = _new(sessions_from, pending["sessions"])
    new_sessions = [i for (i,) in w.all(f"SELECT id FROM sessions WHERE {where}", args)]
    where, args = _new(messages_from, pending["messages"])
    w.execute("CREATE TEMP TABLE picked AS SELECT session_id, id, sent_at, direction, sender_agent_id, kind"
              f" FROM messages WHERE {where}", args)
    # Per session of the new messages: its earliest new customer message and reply.
    new = w.all("SELECT session_id, min(sent_at) FILTER (WHERE direction = 'in'),"
                f" min(sent_at) FILTER (WHERE {AGENT_REPLY}),"
                " max(id) FROM picked GROUP BY session_id")
    if not new_sessions and not new:
        w.execute("DROP TABLE picked")
        return
    sessions_to = max([sessions_from, *new_sessions])
    messages_to = max([messages_from, *(row[3] for row in new)])
    new = [row[:3] for row in new if row[0] is not None]
    if new_sessions:
        # (Read again: a session committed since is made too, and stays pending until a fold picks it.)
        where, args = _new(sessions_from, pending["sessions"], "s.")
        w.execute(_SESSION_ROWS.format(where=where), args)
    sessions = [row[0] for row in new]
    folded = {sid: (last_at, last_reply) for sid, last_at, last_reply in w.all(
        "SELECT session_id, last_at, last_reply_at FROM session_facts"
        " WHERE session_id IN (SELECT unnest(?::BIGINT[]))", [sessions])}
    orphans = [sid for sid in sessions if sid not in folded]  # their session is still pending
    if orphans:
        w.execute(_SESSION_ROWS.format(where="s.id IN (SELECT unnest(?::BIGINT[]))"), [orphans])
    # Late (a provider's time a little in the past): a customer message at or before
    # a reply already folded, or a reply before a message already folded, changes
    # the bursts before it, so the session is folded again from its messages.
    redo = [sid for sid, first_in, first_reply in new if sid in folded and (
        first_in is not None and folded[sid][1] is not None and first_in <= folded[sid][1]
        or first_reply is not None and folded[sid][0] is not None and first_reply < folded[sid][0])]
    params = {"through": messages_from, "pending": pending["messages"], "redo": redo, "touched": sessions,
              "sessions": [x for x in sessions if x not in set(redo)]}  # their open waits carry over
    for sql in _REDO if redo else ():
        _execute(w, sql, params)
    for sql in _FOLD:
        _execute(w, sql, params)
    if not w.engine.one_process:  # ids commit out of order only with several writers
        _keep_pending(w, pending, new_sessions, sessions_from, sessions_to, messages_from, messages_to)
    w.execute("DROP TABLE picked")
    w.execute("UPDATE facts_state SET sessions_through = ?, folded_through = ?", [sessions_to, messages_to])


def _keep_pending(w: Writer, pending: dict, new_sessions: list[int], sessions_from: int, sessions_to: int,
                  messages_from: int, messages_to: int) -> None:
    """Forget the pending ids this fold took and those missing for too long;
    add the ids below the new marks it did not see."""
    now = utcnow()
    w.execute("DELETE FROM facts_pending WHERE kind = 'sessions' AND id IN (SELECT unnest(?::BIGINT[]))"
              " OR kind = 'messages' AND id IN (SELECT id FROM picked) OR seen_at < ?",
              [new_sessions, now - PENDING_FOR])
    w.execute("INSERT INTO facts_pending SELECT 'sessions', g, ? FROM generate_series(?::BIGINT, ?::BIGINT) AS s(g)"
              " WHERE g NOT IN (SELECT unnest(?::BIGINT[])) ON CONFLICT (kind, id) DO NOTHING",
              [now, sessions_from + 1, sessions_to, new_sessions])
    w.execute("INSERT INTO facts_pending SELECT 'messages', g, ? FROM generate_series(?::BIGINT, ?::BIGINT) AS s(g)"
              " WHERE g NOT IN (SELECT id FROM picked) ON CONFLICT (kind, id) DO NOTHING",
              [now, messages_from + 1, messages_to])


FOLD_EVERY_S = 1.0


def keep(store: Store) -> None:
    store.every(FOLD_EVERY_S, fold)


def catch_up(store: Store) -> bool:
    """Fold what the writers have not folded yet, before a report reads.
    True when there was something (a commit of its own)."""
    if store.one("SELECT (SELECT max(id) FROM sessions) > sessions_through"
                 " OR (SELECT max(id) FROM messages) > folded_through"
                 " OR EXISTS (SELECT 1 FROM facts_pending p JOIN sessions s ON s.id = p.id WHERE p.kind = 'sessions')"
                 " OR EXISTS (SELECT 1 FROM facts_pending p JOIN messages m ON m.id = p.id WHERE p.kind = 'messages')"
                 " FROM facts_state")[0]:
        store.write(fold)
        return True
    return False


# Every fact forgotten and the marks back to nothing: the next fold makes
# them again from every session and message.
RESET = ("DELETE FROM waits", "DELETE FROM session_replies", "DELETE FROM session_facts",
         "DELETE FROM facts_pending", "UPDATE facts_state SET sessions_through = 0, folded_through = 0")


def recompute(w: Writer) -> None:
    """Make every stored figure again from the messages, in one transaction
    (readers see the old figures until it commits): after a definition changed."""
    w.one("SELECT 1 FROM facts_state" + w.engine.lock())  # a fold of another replica waits for this
    for sql in RESET:
        w.execute(sql)
    fold(w)
