-- The facts rule (bursts of messages, summed per session) is SQL built in
-- facts.py for DuckDB and PostgreSQL alike; the table macros of migration
-- 007 (DuckDB only) are no longer used.
DROP MACRO TABLE fact_sessions;
DROP MACRO TABLE fact_bursts;
