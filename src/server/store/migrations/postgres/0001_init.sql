-- The whole schema of the SQLite migrations (sqlite/0001–0003), in PostgreSQL's terms:
-- integers are BIGINT throughout (flags too), so the store decodes every column the same way
-- on both backends; identifiers compare and sort bytewise (COLLATE "C"), as on SQLite.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Identities: every API key authenticates as its own identity (as in Contember's tenant API).
CREATE TABLE identities (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Global roles from the catalog (super_admin, project_admin, monitor).
CREATE TABLE identity_roles (
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities(id),
    role TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (identity_id, role)
);

CREATE TABLE projects (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    slug TEXT COLLATE "C" NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Role definitions of a project; `variables` is a JSON array of variable names.
CREATE TABLE project_roles (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    name TEXT COLLATE "C" NOT NULL,
    variables TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- One row per (project, identity, role); `variables` is a JSON array of {name, values}.
CREATE TABLE memberships (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    identity_id TEXT COLLATE "C" NOT NULL REFERENCES identities(id),
    role TEXT COLLATE "C" NOT NULL,
    variables TEXT NOT NULL,
    PRIMARY KEY (project_id, identity_id, role)
);
CREATE INDEX memberships_identity ON memberships(identity_id);

-- Tokens are never stored: only their SHA-256 and a short display prefix. Key names are
-- compared by `name_key` (trimmed, NFC, lowercase: `text::name_key`).
CREATE TABLE api_keys (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    identity_id TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES identities(id),
    description TEXT NOT NULL,
    project_id TEXT COLLATE "C" REFERENCES projects(id),
    token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    token_prefix TEXT,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    disabled_at BIGINT,
    can_read BIGINT NOT NULL,
    can_write BIGINT NOT NULL,
    visibility TEXT COLLATE "C" NOT NULL,
    owner_id TEXT COLLATE "C" REFERENCES identities(id),
    name_key TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX api_keys_scope_name ON api_keys(project_id, description);
CREATE INDEX api_keys_name_key ON api_keys(name_key, project_id, visibility);
-- Listings page by `seq` within these filters.
CREATE INDEX api_keys_enabled_seq ON api_keys(enabled, seq);
CREATE INDEX api_keys_project_seq ON api_keys(project_id, seq);
CREATE INDEX api_keys_owner ON api_keys(owner_id);
-- Substring search (`ILIKE '%…%'`) of key names and identity descriptions.
CREATE INDEX api_keys_description_trgm ON api_keys USING gin (description gin_trgm_ops);
CREATE INDEX identities_description_trgm ON identities USING gin (description gin_trgm_ops);

CREATE TABLE audit_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    detail TEXT
);

-- Bumped by every write transaction that changes keys, identities, roles or memberships
-- (with a NOTIFY on keydeck_changes): what a replica polls while it cannot listen.
CREATE TABLE changes (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO changes (id, n) VALUES (1, 0);
