-- Facts (facts.py): the fold's rule is SQL built in Python for DuckDB and
-- PostgreSQL alike, so the table macros of migration 007 go.
DROP MACRO TABLE fact_sessions;
DROP MACRO TABLE fact_bursts;

-- Ids below a fold's mark that it did not see: on PostgreSQL, where several
-- replicas take ids from the sequences and commit in any order, a session or
-- message with a smaller id may still commit after a fold went past it; the
-- next folds take it then. An id that never commits (its transaction rolled
-- back) is let go after an hour. Always empty on DuckDB (one writer commits
-- in id order); here so both engines have the same tables.
CREATE TABLE facts_pending (
    kind    VARCHAR NOT NULL,        -- sessions | messages
    id      BIGINT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,    -- when a fold first missed it
    PRIMARY KEY (kind, id)
);
