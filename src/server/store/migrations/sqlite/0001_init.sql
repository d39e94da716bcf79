-- Identities: every API key authenticates as its own identity (as in Contember's tenant API).
CREATE TABLE identities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Global roles from the catalog (super_admin, project_admin, monitor).
CREATE TABLE identity_roles (
    identity_id TEXT NOT NULL REFERENCES identities(id),
    role TEXT NOT NULL,
    PRIMARY KEY (identity_id, role)
);

CREATE TABLE projects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Role definitions of a project; `variables` is a JSON array of variable names.
CREATE TABLE project_roles (
    project_id TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    variables TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);

-- One row per (project, identity, role); `variables` is a JSON array of {name, values}.
CREATE TABLE memberships (
    project_id TEXT NOT NULL REFERENCES projects(id),
    identity_id TEXT NOT NULL REFERENCES identities(id),
    role TEXT NOT NULL,
    variables TEXT NOT NULL,
    PRIMARY KEY (project_id, identity_id, role)
);
CREATE INDEX memberships_identity ON memberships(identity_id);

-- Tokens are never stored: only their SHA-256 and a short display prefix.
CREATE TABLE api_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    identity_id TEXT NOT NULL UNIQUE REFERENCES identities(id),
    description TEXT NOT NULL,
    project_id TEXT REFERENCES projects(id),
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    disabled_at INTEGER,
    can_read INTEGER NOT NULL,
    can_write INTEGER NOT NULL,
    visibility TEXT NOT NULL,
    owner_id TEXT REFERENCES identities(id)
);
CREATE INDEX api_keys_scope_name ON api_keys(project_id, description);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    detail TEXT
);
