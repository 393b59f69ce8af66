-- Supervisors and analysts (SPEC §10).

-- 1. The analyst role. DuckDB cannot alter a CHECK constraint, so the role
--    column is rebuilt; accounts.py checks the role against roles.ROLES.
--    (Copied aside first: DuckDB refuses to drop a column of an indexed table
--    with updates outstanding in the same transaction.)
CREATE TEMP TABLE agent_roles AS SELECT id, role FROM agents;
ALTER TABLE agents DROP COLUMN role;
ALTER TABLE agents ADD COLUMN role VARCHAR NOT NULL DEFAULT 'agent';
UPDATE agents SET role = r.role FROM agent_roles r WHERE r.id = agents.id;
DROP TABLE agent_roles;

-- 2. The SQL console's documented views (D4): the only names a console query
--    may read. No password hashes, no session or settings secrets, no
--    provider ids or file paths.
CREATE SCHEMA console;
CREATE VIEW console.chats AS
    SELECT id, contact_id, channel, channel_user_id, contact_name, status, assignee_id, archived, blocked,
           label_ids, unread, last_message_at, last_direction, last_inbound_at, session_id, created_at
    FROM main.chats;
CREATE VIEW console.sessions AS
    SELECT id, chat_id, initiated_by, started_at, first_response_at, resolved_at, resolved_by FROM main.sessions;
CREATE VIEW console.messages AS
    SELECT id, chat_id, session_id, channel, direction, sender_agent_id, kind, body, caption, template_id,
           status, error, sent_at, created_at
    FROM main.messages;
CREATE VIEW console.events AS
    SELECT id, chat_id, actor_id, action, details, created_at FROM main.events;
CREATE VIEW console.labels AS
    SELECT id, name, color, created_at FROM main.labels;
CREATE VIEW console.agents AS
    SELECT id, username, display_name, role, active, created_at FROM main.agents;
