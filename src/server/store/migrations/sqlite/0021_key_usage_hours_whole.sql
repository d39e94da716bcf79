-- Hour rows are now written with every flush, beside the minute rows, so that an hour's row
-- is whole while its minutes are still kept (a reader takes a whole hour from one row).
-- Until now only the hourly upkeep wrote them, from the minute rows it deleted: the minutes
-- still stored are added to their hours once here, and every hour row is whole from now on.
INSERT INTO key_usage_hours (key_id, bucket, requests, refused)
SELECT key_id, bucket - (bucket % 3600), SUM(requests), SUM(refused)
FROM key_usage_minutes WHERE true
GROUP BY key_id, bucket - (bucket % 3600)
ON CONFLICT (key_id, bucket) DO UPDATE SET
    requests = key_usage_hours.requests + excluded.requests,
    refused = key_usage_hours.refused + excluded.refused;
