-- Team (SPEC §11): availability, auto-assignment, quick replies.

-- What each agent chose in the sidebar. Whether their browser is still
-- there is kept in the server's memory (maxchat_data/team.py): a chosen
-- `Online` counts only while a browser of theirs polls.
ALTER TABLE agents ADD COLUMN availability VARCHAR DEFAULT 'Offline';
-- When auto-assignment last gave this agent a chat: round robin's turn and
-- least busy's tie-break.
ALTER TABLE agents ADD COLUMN last_assigned_at TIMESTAMPTZ;

-- The agent who last held the chat before it was resolved: a returning
-- customer goes back to them when they are Online and under capacity.
ALTER TABLE chats ADD COLUMN last_agent_id INTEGER;
UPDATE chats SET last_agent_id = m.agent
FROM (SELECT chat_id, arg_max(sender_agent_id, id) AS agent FROM messages
      WHERE direction = 'out' AND sender_agent_id IS NOT NULL GROUP BY chat_id) m
WHERE chats.id = m.chat_id;

-- Saved answers: shared (owner_id NULL, admins manage them) or personal.
CREATE TABLE quick_replies (
    id         INTEGER PRIMARY KEY,
    shortcut   VARCHAR NOT NULL,               -- lower-case, without the '/'
    body       VARCHAR NOT NULL,
    owner_id   INTEGER,                        -- NULL = shared
    created_by INTEGER,
    created_at TIMESTAMPTZ NOT NULL
);
