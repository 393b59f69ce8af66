-- More kinds of customer message (voice notes and audio, stickers,
-- locations, shared contacts), and what happens to a message after it
-- arrived: the customer's reaction, edits and deletion.

-- 1. messages.kind and attachments.kind lose their CHECK: ingest.KINDS and
--    media.sniff decide the kinds now. DuckDB can neither alter a CHECK nor
--    drop a column that precedes an indexed one, so messages is rebuilt
--    (same columns, same order, plus the new ones at the end) and
--    attachments.kind is copied aside, dropped and added again.
CREATE TABLE messages_rebuilt (
    id                  BIGINT PRIMARY KEY,
    chat_id             BIGINT NOT NULL,
    session_id          BIGINT,
    channel             VARCHAR NOT NULL,
    direction           VARCHAR NOT NULL CHECK (direction IN ('in', 'out', 'activity')),
    sender_agent_id     INTEGER,
    kind                VARCHAR NOT NULL,
    body                VARCHAR,
    caption             VARCHAR,
    attachment_id       BIGINT,
    template_id         INTEGER,
    template_params     VARCHAR[],
    provider_message_id VARCHAR,
    status              VARCHAR NOT NULL CHECK (status IN ('received', 'pending', 'sent', 'delivered', 'read', 'failed')),
    error               VARCHAR,
    notify              BOOLEAN NOT NULL DEFAULT FALSE,
    sent_at             TIMESTAMPTZ NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    -- 2. What a kind needs beyond text (JSON): a location's coordinates, name
    --    and address; a shared contact's names, phones and emails; a voice
    --    note's duration; a sticker's emoji.
    details             VARCHAR,
    -- The customer's reaction (emoji; NULL when taken back) and its time, so
    -- a late duplicate of an older reaction changes nothing.
    reaction            VARCHAR,
    reacted_at          TIMESTAMPTZ,
    edited_at           TIMESTAMPTZ,
    deleted_at          TIMESTAMPTZ,             -- deleted by the customer; the text is kept for the team
    UNIQUE (channel, provider_message_id)
);
INSERT INTO messages_rebuilt (id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption,
                              attachment_id, template_id, template_params, provider_message_id, status, error,
                              notify, sent_at, created_at)
    SELECT id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption, attachment_id,
           template_id, template_params, provider_message_id, status, error, notify, sent_at, created_at
    FROM messages;
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;

CREATE TEMP TABLE attachment_kinds AS SELECT id, kind FROM attachments;
ALTER TABLE attachments DROP COLUMN kind;
ALTER TABLE attachments ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'document';
UPDATE attachments SET kind = k.kind FROM attachment_kinds k WHERE k.id = attachments.id;
DROP TABLE attachment_kinds;

-- 3. Every edit and deletion, with the text it replaced. Keyed by the
--    provider's id of the change, so a repeated webhook changes nothing.
CREATE TABLE message_changes (
    channel    VARCHAR NOT NULL,
    change_id  VARCHAR NOT NULL,
    message_id BIGINT NOT NULL,
    change     VARCHAR NOT NULL,        -- edited | deleted
    old_body   VARCHAR,
    old_caption VARCHAR,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, change_id)
);
