-- Several replicas (PostgreSQL) each run the delivery lanes. A lane claims
-- due rows for itself ('claimed', claimed_by) in one transaction, so each
-- reply is sent by exactly one sender; 'sending' keeps its meaning (the call
-- to the customer may have started). A sender holding rows says it is alive
-- in senders.seen_at; the rows of one gone silent are settled by the others
-- (outbox.settle_orphans).
ALTER TABLE outbox ADD COLUMN claimed_by VARCHAR;
CREATE TABLE senders (id VARCHAR PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL);
