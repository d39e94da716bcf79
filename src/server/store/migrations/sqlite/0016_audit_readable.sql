-- The audit log, readable (`auditLog(filter:)`): what each entry is about, kept as it was at
-- the time, and an index per filter so a filtered page costs the same at any size of the log.
--   project_id  the project the entry is about (a project key's, a membership's, a project's)
--   key_id      the key the entry is about: the key itself, or the key of the identity named
--   owner_id    that key's owner (the identity that created it)
--   target_kind KEY, IDENTITY or PROJECT: what `target` names
--   target_name the key's, identity's or project's name at the time
--   actor_name  the acting identity's description at the time
-- Who may read an entry follows from project_id, key_id, owner_id and actor_id.
ALTER TABLE audit_log ADD COLUMN project_id TEXT;
ALTER TABLE audit_log ADD COLUMN key_id TEXT;
ALTER TABLE audit_log ADD COLUMN owner_id TEXT;
ALTER TABLE audit_log ADD COLUMN target_kind TEXT;
ALTER TABLE audit_log ADD COLUMN target_name TEXT;
ALTER TABLE audit_log ADD COLUMN actor_name TEXT;

-- Older entries: filled where the store still knows (keys, identities and projects are never
-- deleted; the names are today's, the closest there is to the time's).
UPDATE audit_log SET
    key_id = COALESCE(
        (SELECT k.id FROM api_keys k WHERE k.id = audit_log.target),
        (SELECT k.id FROM api_keys k WHERE k.identity_id = audit_log.target)),
    target_kind = CASE
        WHEN EXISTS (SELECT 1 FROM api_keys k WHERE k.id = audit_log.target) THEN 'KEY'
        WHEN EXISTS (SELECT 1 FROM identities i WHERE i.id = audit_log.target) THEN 'IDENTITY'
        WHEN EXISTS (SELECT 1 FROM projects p WHERE p.id = audit_log.target
                     OR p.slug = audit_log.target) THEN 'PROJECT'
    END,
    actor_name = (SELECT i.description FROM identities i WHERE i.id = audit_log.actor_id)
WHERE target IS NOT NULL OR actor_id IS NOT NULL;
UPDATE audit_log SET
    project_id = COALESCE(
        (SELECT k.project_id FROM api_keys k WHERE k.id = audit_log.key_id),
        (SELECT p.id FROM projects p WHERE p.id = audit_log.target),
        (SELECT p.id FROM projects p WHERE p.slug = audit_log.target)),
    owner_id = (SELECT k.owner_id FROM api_keys k WHERE k.id = audit_log.key_id),
    target_name = COALESCE(
        (SELECT k.description FROM api_keys k WHERE k.id = audit_log.key_id),
        (SELECT i.description FROM identities i WHERE i.id = audit_log.target),
        (SELECT p.name FROM projects p WHERE p.id = audit_log.target),
        (SELECT p.name FROM projects p WHERE p.slug = audit_log.target))
WHERE target IS NOT NULL;

-- Newest first within each filter and each reader's scope.
CREATE INDEX audit_log_target_seq ON audit_log(target, seq);
CREATE INDEX audit_log_key_seq ON audit_log(key_id, seq);
CREATE INDEX audit_log_actor_seq ON audit_log(actor_id, seq);
CREATE INDEX audit_log_action_seq ON audit_log(action, seq);
CREATE INDEX audit_log_outcome_seq ON audit_log(outcome, seq);
CREATE INDEX audit_log_project_seq ON audit_log(project_id, seq);
CREATE INDEX audit_log_owner_seq ON audit_log(owner_id, seq);
CREATE INDEX audit_log_at ON audit_log(at);
