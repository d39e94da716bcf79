-- `totalCount` of the unnarrowed key listings without a pass over every key: how many keys
-- there are and how many are enabled, kept in step by triggers; the keys that expired while
-- enabled are subtracted through an index of the keys that expire at all.
CREATE TABLE api_key_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    all_keys INTEGER NOT NULL,
    enabled_keys INTEGER NOT NULL
);
INSERT INTO api_key_counts (id, all_keys, enabled_keys)
    SELECT 1, COUNT(*), COALESCE(SUM(enabled), 0) FROM api_keys;
CREATE TRIGGER api_key_counts_insert AFTER INSERT ON api_keys BEGIN
    UPDATE api_key_counts
        SET all_keys = all_keys + 1, enabled_keys = enabled_keys + new.enabled WHERE id = 1;
END;
CREATE TRIGGER api_key_counts_delete AFTER DELETE ON api_keys BEGIN
    UPDATE api_key_counts
        SET all_keys = all_keys - 1, enabled_keys = enabled_keys - old.enabled WHERE id = 1;
END;
CREATE TRIGGER api_key_counts_update AFTER UPDATE OF enabled ON api_keys BEGIN
    UPDATE api_key_counts SET enabled_keys = enabled_keys + new.enabled - old.enabled WHERE id = 1;
END;
CREATE INDEX api_keys_expiring ON api_keys(expires_at, enabled) WHERE expires_at IS NOT NULL;
