-- Refusals by one actor of one action with one outcome are one row per minute, counted, so a
-- key that is refused a thousand times a minute adds one row, not a thousand.
ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
CREATE INDEX audit_log_refusals ON audit_log(actor_id, action, outcome, at);
