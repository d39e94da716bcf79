-- Who disabled a key, and with which authority over it (OWNER, PROJECT_ADMIN, SUPER_ADMIN):
-- a key disabled with more authority than its owner's is enabled only with that authority.
ALTER TABLE api_keys ADD COLUMN disabled_by TEXT;
ALTER TABLE api_keys ADD COLUMN disabled_as TEXT;
