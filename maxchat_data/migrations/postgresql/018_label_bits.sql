-- Each chat's labels 1-62 also as the bits of one number (engine.py,
-- label_bits), as on DuckDB, whose finder reads it instead of the list; both
-- engines keep the same columns so that a database copies across.
ALTER TABLE chats ADD COLUMN label_bits BIGINT NOT NULL DEFAULT 0;
UPDATE chats SET label_bits = coalesce((SELECT bit_or(1::BIGINT << i) FROM unnest(label_ids) AS i
                                        WHERE i BETWEEN 1 AND 62), 0)
WHERE cardinality(label_ids) > 0;
