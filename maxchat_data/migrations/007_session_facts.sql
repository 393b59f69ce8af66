-- Per-session facts the reports read instead of scanning messages (SPEC D2, D3).
-- Kept by the writer as messages are written (facts.fold), backfilled here.
-- Definitions: reports.DEFINITIONS. A customer message is an inbound one; an
-- agent reply is outbound, sent by an agent, not a template.

-- One row per session, in order of start (so a range of days reads only its
-- part of the table): what never changes about it, and what its messages say.
CREATE TABLE session_facts (
    session_id           BIGINT PRIMARY KEY,
    chat_id              BIGINT NOT NULL,
    channel              VARCHAR NOT NULL,
    started_at           TIMESTAMPTZ NOT NULL,
    first_customer_at    TIMESTAMPTZ,              -- the session's first customer message
    customer_messages    INTEGER NOT NULL DEFAULT 0,
    agent_messages       INTEGER NOT NULL DEFAULT 0, -- agent replies
    first_reply_at       TIMESTAMPTZ,              -- the first agent reply (by time, then id)
    first_reply_agent_id INTEGER,                  -- who sent it
    waiting_since        TIMESTAMPTZ,              -- oldest customer message no reply has answered yet
    last_at              TIMESTAMPTZ,              -- the latest customer message or reply folded in
    last_reply_at        TIMESTAMPTZ               -- the latest reply folded in
);

-- Agent replies per (session, agent): "Replies sent" per agent.
CREATE TABLE session_replies (
    session_id BIGINT NOT NULL,
    agent_id   INTEGER NOT NULL,
    replies    INTEGER NOT NULL,
    PRIMARY KEY (session_id, agent_id)
);

-- One row per agent reply that answered customer messages: the reply minus
-- the oldest of them is the customer's waiting time.
-- With the session's start, so a range reads only its part of the table.
CREATE TABLE waits (
    session_id    BIGINT NOT NULL,
    reply_id      BIGINT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    waiting_since TIMESTAMPTZ NOT NULL,
    reply_at      TIMESTAMPTZ NOT NULL
);

-- Sessions and messages up to these ids are folded into the tables above.
CREATE TABLE facts_state (sessions_through BIGINT NOT NULL, folded_through BIGINT NOT NULL);

-- Messages as "bursts": per session, in time order, the customer messages
-- since the previous agent reply and the reply that answers them (NULL while
-- none has); at the same instant a customer message comes first, as a reply
-- sent then answers it. Read: the messages after ``through``, and every
-- message of the sessions in ``redo`` (folded again from nothing). The open
-- wait of each of ``sessions`` (a list, so the lookup uses the key) is
-- carried over from before ``through`` into its first burst.
CREATE MACRO fact_bursts(through, sessions, redo) AS TABLE
WITH m AS (
    SELECT session_id, id, sent_at, direction = 'in' AS customer,
           CASE WHEN direction = 'out' THEN sender_agent_id END AS agent_id, FALSE AS carried
    FROM (SELECT * FROM messages WHERE id > through
          UNION ALL SELECT * FROM messages WHERE session_id IN (SELECT unnest(redo)) AND id <= through)
    WHERE session_id IS NOT NULL
      AND (direction = 'in' OR (direction = 'out' AND sender_agent_id IS NOT NULL AND kind <> 'template'))),
open_wait AS (
    SELECT session_id, 0::BIGINT AS id, waiting_since AS sent_at, TRUE AS customer, NULL::INTEGER AS agent_id,
           TRUE AS carried
    FROM session_facts WHERE session_id IN (SELECT unnest(sessions)) AND waiting_since IS NOT NULL),
numbered AS (
    SELECT *, count(agent_id) OVER (PARTITION BY session_id ORDER BY sent_at, agent_id IS NOT NULL, id
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS burst
    FROM (SELECT * FROM m UNION ALL SELECT * FROM open_wait))
SELECT session_id, burst,
       count(*) FILTER (WHERE customer AND NOT carried) AS customer_messages,
       min(sent_at) FILTER (WHERE customer AND NOT carried) AS first_customer_at,
       min(sent_at) FILTER (WHERE customer) AS waiting_since,
       max(id) FILTER (WHERE agent_id IS NOT NULL) AS reply_id,
       max(sent_at) FILTER (WHERE agent_id IS NOT NULL) AS reply_at,
       max(agent_id) AS agent_id,
       max(sent_at) AS last_at
FROM numbered GROUP BY session_id, burst;

-- Bursts (a table's name) summed up per session.
CREATE MACRO fact_sessions(bursts) AS TABLE
SELECT session_id, min(first_customer_at) AS first_customer_at, sum(customer_messages) AS customer_messages,
       count(reply_id) AS agent_messages, min(reply_at) AS first_reply_at,
       arg_min(agent_id, (reply_at, reply_id)) FILTER (WHERE reply_id IS NOT NULL) AS first_reply_agent_id,
       min(waiting_since) FILTER (WHERE reply_id IS NULL) AS waiting_since, max(last_at) AS last_at,
       max(reply_at) AS last_reply_at
FROM query_table(bursts) GROUP BY session_id;

-- Backfill: every session and message so far (what facts.fold does, in one
-- pass: no open wait to carry over yet).
CREATE TEMP TABLE fold AS SELECT * FROM fact_bursts(-1, []::BIGINT[], []::BIGINT[]);
INSERT INTO waits SELECT b.session_id, b.reply_id, s.started_at, b.waiting_since, b.reply_at
    FROM fold b JOIN sessions s ON s.id = b.session_id
    WHERE b.reply_id IS NOT NULL AND b.waiting_since IS NOT NULL ORDER BY s.started_at, b.session_id, b.reply_id;
INSERT INTO session_replies SELECT session_id, agent_id, count(*) FROM fold WHERE reply_id IS NOT NULL
    GROUP BY ALL ORDER BY session_id;
INSERT INTO session_facts
    SELECT s.id, s.chat_id, c.channel, s.started_at, f.first_customer_at, coalesce(f.customer_messages, 0),
           coalesce(f.agent_messages, 0), f.first_reply_at, f.first_reply_agent_id, f.waiting_since, f.last_at,
           f.last_reply_at
    FROM sessions s JOIN chats c ON c.id = s.chat_id LEFT JOIN fact_sessions('fold') f ON f.session_id = s.id
    ORDER BY s.started_at, s.id;
INSERT INTO facts_state SELECT (SELECT coalesce(max(id), 0) FROM sessions), (SELECT coalesce(max(id), 0) FROM messages);
DROP TABLE fold;
