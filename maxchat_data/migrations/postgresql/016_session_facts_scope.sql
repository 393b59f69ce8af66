-- DuckDB migration 016: the session's start kind and its resolution kept in
-- session_facts, so Reports read a range without joining sessions.
ALTER TABLE session_facts ADD COLUMN user_initiated BOOLEAN;
ALTER TABLE session_facts ADD COLUMN resolved_at TIMESTAMPTZ;
ALTER TABLE session_facts ADD COLUMN resolved_by INTEGER;
UPDATE session_facts SET user_initiated = s.initiated_by = 'User initiate', resolved_at = s.resolved_at,
                         resolved_by = s.resolved_by
    FROM sessions s WHERE s.id = session_facts.session_id;
