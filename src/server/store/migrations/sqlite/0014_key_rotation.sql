-- Rotation (`rotateApiKey`): a key names the key that replaced it and the key it replaced.
-- A key with a successor keeps working until its grace period ends (its `expires_at`), and
-- no longer holds its name: the successor has it (`name_taken` skips rotated keys).
ALTER TABLE api_keys ADD COLUMN rotated_from TEXT;
ALTER TABLE api_keys ADD COLUMN rotated_to TEXT;
