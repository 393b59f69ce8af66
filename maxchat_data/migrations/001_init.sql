-- Maxchat Inbox schema. Ids are handed out by the writer thread.
-- Indexes: primary keys and the unique keys idempotency needs, nothing else
-- (DuckDB's ART indexes slow ORDER BY ... LIMIT and joins; zone maps serve ranges).

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    username      VARCHAR NOT NULL UNIQUE,      -- stored lower-case
    display_name  VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    role          VARCHAR NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    notify        BOOLEAN NOT NULL DEFAULT TRUE, -- L7 bell, per agent
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE contacts (
    id         BIGINT PRIMARY KEY,
    name       VARCHAR NOT NULL,
    email      VARCHAR,
    company    VARCHAR,
    phone      VARCHAR,
    blocked    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

-- One row per contact + channel (C1), carrying everything the list shows so
-- the finder reads this one table.
CREATE TABLE chats (
    id              BIGINT PRIMARY KEY,
    contact_id      BIGINT NOT NULL,
    channel         VARCHAR NOT NULL CHECK (channel IN ('whatsapp', 'messenger', 'telegram')),
    channel_user_id VARCHAR NOT NULL,
    contact_name    VARCHAR NOT NULL,
    search_name     VARCHAR NOT NULL,            -- lower-case, accents stripped
    status          VARCHAR NOT NULL CHECK (status IN ('Open', 'Answered', 'Resolved')),
    assignee_id     INTEGER,
    archived        BOOLEAN NOT NULL DEFAULT FALSE,
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    label_ids       INTEGER[] NOT NULL DEFAULT [],
    unread          INTEGER NOT NULL DEFAULT 0,
    last_message_at TIMESTAMPTZ,
    last_preview    VARCHAR,
    last_direction  VARCHAR,
    last_inbound_at TIMESTAMPTZ,                 -- provider time: the T4 window
    session_id      BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (channel, channel_user_id)
);

CREATE TABLE sessions (
    id                BIGINT PRIMARY KEY,
    chat_id           BIGINT NOT NULL,
    initiated_by      VARCHAR NOT NULL CHECK (initiated_by IN ('User initiate', 'Business initiate')),
    started_at        TIMESTAMPTZ NOT NULL,
    first_response_at TIMESTAMPTZ,
    resolved_at       TIMESTAMPTZ,
    resolved_by       INTEGER
);

CREATE TABLE attachments (
    id         BIGINT PRIMARY KEY,
    sha256     VARCHAR NOT NULL,
    filename   VARCHAR NOT NULL,
    mime       VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL CHECK (kind IN ('image', 'video', 'document')),
    size       BIGINT NOT NULL,
    path       VARCHAR NOT NULL,                 -- relative to MAXCHAT_MEDIA_DIR
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE messages (
    id                  BIGINT PRIMARY KEY,
    chat_id             BIGINT NOT NULL,
    session_id          BIGINT,
    channel             VARCHAR NOT NULL,
    direction           VARCHAR NOT NULL CHECK (direction IN ('in', 'out', 'activity')),
    sender_agent_id     INTEGER,                 -- NULL on 'out' = BOT
    kind                VARCHAR NOT NULL CHECK (kind IN ('text', 'image', 'video', 'document', 'template', 'activity', 'unsupported')),
    body                VARCHAR,
    caption             VARCHAR,
    attachment_id       BIGINT,
    template_id         INTEGER,
    template_params     VARCHAR[],
    provider_message_id VARCHAR,
    status              VARCHAR NOT NULL CHECK (status IN ('received', 'pending', 'sent', 'delivered', 'read', 'failed')),
    error               VARCHAR,
    notify              BOOLEAN NOT NULL DEFAULT FALSE, -- inbound that should raise a toast
    sent_at             TIMESTAMPTZ NOT NULL,    -- provider time for inbound
    created_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (channel, provider_message_id)
);

-- Messages waiting for the delivery worker; the row goes when the send ends.
CREATE TABLE outbox (
    message_id      BIGINT PRIMARY KEY,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      VARCHAR
);

CREATE TABLE labels (
    id         INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    name_key   VARCHAR NOT NULL UNIQUE,          -- lower(name): unique case-insensitively
    color      VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE contact_labels (
    contact_id BIGINT NOT NULL,
    label_id   INTEGER NOT NULL,
    PRIMARY KEY (contact_id, label_id)
);

CREATE TABLE notes (
    id         BIGINT PRIMARY KEY,
    contact_id BIGINT NOT NULL,
    chat_id    BIGINT,
    author_id  INTEGER NOT NULL,
    body       VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- WhatsApp templates wait for Meta's review (M2); other channels accept on save.
CREATE TABLE templates (
    id                   INTEGER PRIMARY KEY,
    channel              VARCHAR NOT NULL CHECK (channel IN ('whatsapp', 'messenger', 'telegram')),
    name                 VARCHAR NOT NULL,
    language             VARCHAR NOT NULL,
    category             VARCHAR NOT NULL CHECK (category IN ('MARKETING', 'UTILITY', 'AUTHENTICATION')),
    body                 VARCHAR NOT NULL,
    variables            INTEGER NOT NULL,
    status               VARCHAR NOT NULL CHECK (status IN ('Pending', 'Accepted', 'Rejected')),
    initiate             BOOLEAN NOT NULL DEFAULT FALSE, -- "Set as Initiate Message"
    provider_template_id VARCHAR,
    status_reason        VARCHAR,
    created_by           INTEGER,
    created_at           TIMESTAMPTZ NOT NULL,
    UNIQUE (channel, name, language)
);

CREATE TABLE events (
    id         BIGINT PRIMARY KEY,
    chat_id    BIGINT,
    actor_id   INTEGER,                          -- NULL = BOT / the system
    action     VARCHAR NOT NULL,
    details    VARCHAR,
    created_at TIMESTAMPTZ NOT NULL
);

-- Small settings the workers keep across restarts (e.g. Telegram's offset).
CREATE TABLE settings (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
