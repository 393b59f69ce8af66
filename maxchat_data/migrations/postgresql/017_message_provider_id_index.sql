-- The lookup by provider id filters on the id alone (DuckDB uses its index
-- only so: migrations/017), which the (channel, provider_message_id) index
-- cannot serve here.
CREATE INDEX IF NOT EXISTS messages_provider_id ON messages (provider_message_id);
