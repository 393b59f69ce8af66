-- "First response" had two meanings: sessions.first_response_at (set by any
-- send, a template's too) and session_facts.first_reply_at (a human agent's
-- reply, never a template, BOT message or activity line). One is kept: the
-- facts' (reports.DEFINITIONS), named first_response_at, made by facts.py's
-- fold and read by the Monitor, auto-assignment, Reports and the console.
-- The stored values do not change (the facts' rule is the one kept), so no
-- recompute is needed here; a migration that changes the rule resets the
-- facts as facts.RESET does, and the next fold rebuilds them.
DROP VIEW console.sessions;
ALTER TABLE sessions DROP COLUMN first_response_at;
ALTER TABLE session_facts RENAME COLUMN first_reply_at TO first_response_at;
ALTER TABLE session_facts RENAME COLUMN first_reply_agent_id TO first_response_agent_id;
-- The console's sessions with the figures Reports shows (D2, D4), from the facts.
CREATE VIEW console.sessions AS
    SELECT s.id, s.chat_id, s.initiated_by, s.started_at, f.first_customer_at, f.first_response_at,
           f.first_response_agent_id,
           CASE WHEN s.initiated_by = 'User initiate'
                THEN (epoch_us(f.first_response_at) - epoch_us(f.first_customer_at))::DOUBLE / 1e6
           END AS first_response_s,
           s.resolved_at, s.resolved_by
    FROM main.sessions s LEFT JOIN main.session_facts f ON f.session_id = s.id;
