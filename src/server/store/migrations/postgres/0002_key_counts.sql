-- `totalCount` of the unnarrowed key listings without a pass over every key (sqlite/0004 in
-- PostgreSQL's terms): how many keys there are and how many are enabled, kept in step by a
-- trigger in the writing transaction; the keys that expired while enabled are subtracted
-- through an index of the keys that expire at all.
CREATE TABLE api_key_counts (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    all_keys BIGINT NOT NULL,
    enabled_keys BIGINT NOT NULL
);
INSERT INTO api_key_counts (id, all_keys, enabled_keys)
    SELECT 1, COUNT(*), COALESCE(SUM(enabled), 0) FROM api_keys;
CREATE FUNCTION api_key_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE api_key_counts
            SET all_keys = all_keys + 1, enabled_keys = enabled_keys + NEW.enabled WHERE id = 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE api_key_counts
            SET all_keys = all_keys - 1, enabled_keys = enabled_keys - OLD.enabled WHERE id = 1;
    ELSIF NEW.enabled <> OLD.enabled THEN
        UPDATE api_key_counts SET enabled_keys = enabled_keys + NEW.enabled - OLD.enabled
            WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER api_key_counts_follow AFTER INSERT OR DELETE OR UPDATE OF enabled ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_key_counts_follow();
CREATE INDEX api_keys_expiring ON api_keys(expires_at, enabled) WHERE expires_at IS NOT NULL;
