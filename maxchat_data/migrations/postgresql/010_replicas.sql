-- What several replicas must share (issue 13), the same on DuckDB and
-- PostgreSQL (migrations/postgresql/010_replicas.sql).

-- Presence (W1) in the database, not in one process's memory: an agent's
-- browser may poll any replica. The latest beat of any of the agent's tabs,
-- written at most every quarter presence timeout per agent (team.py).
ALTER TABLE agents ADD COLUMN seen_at TIMESTAMPTZ;

-- A broadcast's pace (N2) kept per database, not per process: the time its
-- next message may go (a token bucket as one timestamp, server/broadcaster.py),
-- so two replicas together still send at the broadcast's rate.
ALTER TABLE broadcasts ADD COLUMN paced_until TIMESTAMPTZ;
