-- Where a facts fold stands on PostgreSQL (facts.py): several replicas take
-- ids from the sequences and commit in any order, so a fold cannot say "up
-- to this id". It says "up to this transaction": each session and message
-- keeps the id of the transaction that inserted it (never changed by an
-- update), and a fold takes the rows of transactions older than its
-- snapshot's xmin, which have all ended. DuckDB (one writer, commits in id
-- order) needs no such column.
ALTER TABLE sessions ADD COLUMN xact BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::BIGINT);
ALTER TABLE messages ADD COLUMN xact BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::BIGINT);
CREATE INDEX sessions_by_xact ON sessions (xact);
CREATE INDEX messages_by_xact ON messages (xact);
-- The marks now count transactions: whatever was folded by id is folded again.
DELETE FROM waits;
DELETE FROM session_replies;
DELETE FROM session_facts;
UPDATE facts_state SET sessions_through = 0, folded_through = 0;
