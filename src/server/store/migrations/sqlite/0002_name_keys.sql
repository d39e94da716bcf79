-- Key names are compared trimmed, NFC-normalised and case-insensitively (`text::name_key`),
-- personal names per owner and org-wide names per scope. Rows from before keep an
-- approximation (SQLite cannot normalise); new and re-enabled keys get the exact form.
ALTER TABLE api_keys ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET name_key = lower(trim(description));
CREATE INDEX api_keys_name_key ON api_keys(name_key, project_id, visibility);
