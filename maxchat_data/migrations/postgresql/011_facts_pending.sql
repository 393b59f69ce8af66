-- DuckDB migration 011 (its macros are not on PostgreSQL): ids below a
-- fold's mark that it did not see (facts.py), folded when they commit.
CREATE TABLE facts_pending (
    kind    VARCHAR NOT NULL,        -- sessions | messages
    id      BIGINT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,    -- when a fold first missed it
    PRIMARY KEY (kind, id)
);
