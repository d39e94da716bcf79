-- Usage over time: per key, the requests it authenticated and the ones refused to it, per
-- minute (kept a day) and per hour (kept `--usage-retention`, 90 days by default). Written by
-- the batched flush of lastUsedAt, adding to what is stored (replicas on one database add
-- up); the hourly maintenance moves minute rows older than a day into hour rows.
CREATE TABLE key_usage_minutes (
    key_id TEXT NOT NULL,
    -- Start of the minute, Unix seconds.
    bucket BIGINT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, bucket)
);
CREATE INDEX key_usage_minutes_by_bucket ON key_usage_minutes(bucket);

CREATE TABLE key_usage_hours (
    key_id TEXT NOT NULL,
    -- Start of the hour, Unix seconds.
    bucket BIGINT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, bucket)
);
CREATE INDEX key_usage_hours_by_bucket ON key_usage_hours(bucket);
