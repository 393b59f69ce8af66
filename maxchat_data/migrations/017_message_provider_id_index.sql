-- Delivery ticks, fetched media and customers' edits find a message by the id
-- its channel gave it. The UNIQUE (channel, provider_message_id) index is
-- never used by DuckDB for a lookup (a scan of every message instead: 5 ms at
-- 2M messages); an index on the id alone is, when it is the scan's only
-- filter (common.message_by_provider_id).
CREATE INDEX IF NOT EXISTS messages_provider_id ON messages (provider_message_id);
