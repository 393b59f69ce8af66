-- Channel work that must not happen inside a webhook request: inbound media
-- is fetched, and Messenger profiles are looked up, by a background worker.
-- Keyed by the provider ids, so a repeated webhook adds nothing.
CREATE TABLE pending_media (
    channel             VARCHAR NOT NULL,
    provider_message_id VARCHAR NOT NULL,
    ref                 VARCHAR NOT NULL,   -- WhatsApp media id, Messenger URL, Telegram file_id
    filename            VARCHAR,
    mime                VARCHAR,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMPTZ NOT NULL,
    last_error          VARCHAR,
    PRIMARY KEY (channel, provider_message_id)
);

CREATE TABLE pending_profiles (
    channel         VARCHAR NOT NULL,
    channel_user_id VARCHAR NOT NULL,
    done            BOOLEAN NOT NULL DEFAULT FALSE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, channel_user_id)
);
