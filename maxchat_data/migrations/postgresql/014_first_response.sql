-- DuckDB migration 014: one "first response", the facts' (a human agent's
-- reply, never a template), named first_response_at; the console's sessions
-- show it with the seconds Reports counts (its epoch µs arithmetic).
DROP VIEW console.sessions;
ALTER TABLE sessions DROP COLUMN first_response_at;
ALTER TABLE session_facts RENAME COLUMN first_reply_at TO first_response_at;
ALTER TABLE session_facts RENAME COLUMN first_reply_agent_id TO first_response_agent_id;
CREATE VIEW console.sessions AS
    SELECT s.id, s.chat_id, s.initiated_by, s.started_at, f.first_customer_at, f.first_response_at,
           f.first_response_agent_id,
           CASE WHEN s.initiated_by = 'User initiate'
                THEN (round(date_part('epoch', f.first_response_at) * 1000000)::BIGINT
                      - round(date_part('epoch', f.first_customer_at) * 1000000)::BIGINT)::DOUBLE PRECISION / 1e6
           END AS first_response_s,
           s.resolved_at, s.resolved_by
    FROM public.sessions s LEFT JOIN public.session_facts f ON f.session_id = s.id;
