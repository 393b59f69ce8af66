-- Reports read one table: the session's start kind and its resolution beside
-- its other facts, so a range is one scan of session_facts with no join to
-- sessions (the join was most of the Reports page's time at 1M sessions).
-- Kept with the session: made by the fold from sessions (facts._SESSION_ROWS),
-- resolution changed with sessions' own (facts.set_resolution), recomputed
-- with the rest (facts.RESET).
ALTER TABLE session_facts ADD COLUMN user_initiated BOOLEAN;
ALTER TABLE session_facts ADD COLUMN resolved_at TIMESTAMPTZ;
ALTER TABLE session_facts ADD COLUMN resolved_by INTEGER;
UPDATE session_facts SET user_initiated = s.initiated_by = 'User initiate', resolved_at = s.resolved_at,
                         resolved_by = s.resolved_by
    FROM sessions s WHERE s.id = session_facts.session_id;
