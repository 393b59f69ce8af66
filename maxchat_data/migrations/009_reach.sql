-- Reaching customers first (SPEC §12 N1-N3).

-- N2: a broadcast sends one initiate template to many contacts through the
-- outbox (each recipient a message in its own chat), paced by its rate.
-- state: running | paused | cancelled (finished = running with nothing left
-- in the outbox, read from the rows, not stored).
CREATE TABLE broadcasts (
    id              BIGINT PRIMARY KEY,
    template_id     INTEGER NOT NULL,
    channel         VARCHAR NOT NULL,
    audience        VARCHAR NOT NULL,            -- how the recipients were chosen, in words
    rate            DOUBLE NOT NULL,             -- messages per second
    state           VARCHAR NOT NULL CHECK (state IN ('running', 'paused', 'cancelled')),
    total           INTEGER NOT NULL,
    skipped_blocked INTEGER NOT NULL DEFAULT 0,
    created_by      INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ
);

-- One row per recipient; the per-recipient status is its message's status.
CREATE TABLE broadcast_recipients (
    broadcast_id BIGINT NOT NULL,
    message_id   BIGINT NOT NULL,
    chat_id      BIGINT NOT NULL,
    line         INTEGER                          -- the CSV line it came from
);

-- A broadcast's outbox rows are paced by its rate and go after agents' replies.
ALTER TABLE outbox ADD COLUMN broadcast_id BIGINT;

-- N3: templates synchronised with the WhatsApp account. A template deleted
-- on WhatsApp stays listed (old messages name it) but can no longer be sent.
ALTER TABLE templates ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE templates ADD COLUMN provider_status VARCHAR;   -- WhatsApp's own word (APPROVED, PAUSED …)
ALTER TABLE templates ADD COLUMN synced_at TIMESTAMPTZ;
