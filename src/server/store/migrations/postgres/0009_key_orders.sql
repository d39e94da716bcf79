-- Key listings in any order, a page at a time by keyset (`apiKeys(orderBy:)`): each order is
-- an index over (its value, seq). `name_order` is the lowercased name, filled in by the
-- service for keys stored before it (`text::NAME_KEY_VERSION`).
ALTER TABLE api_keys ADD COLUMN name_order TEXT COLLATE "C" NOT NULL DEFAULT '';
-- Each order twice: over all keys, and over the enabled ones (what a listing shows unless
-- asked for more), so that a page in either is read in index order and stops at its limit.
CREATE INDEX api_keys_by_name ON api_keys(name_order, seq);
CREATE INDEX api_keys_enabled_by_name ON api_keys(enabled, name_order, seq);
CREATE INDEX api_keys_by_expiry ON api_keys((COALESCE(expires_at, 9223372036854775807)), seq);
CREATE INDEX api_keys_enabled_by_expiry
    ON api_keys(enabled, (COALESCE(expires_at, 9223372036854775807)), seq);
CREATE INDEX api_keys_by_last_use ON api_keys((COALESCE(last_used_at, -1)), seq);
CREATE INDEX api_keys_enabled_by_last_use
    ON api_keys(enabled, (COALESCE(last_used_at, -1)), seq);
