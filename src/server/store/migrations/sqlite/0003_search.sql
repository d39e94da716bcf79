-- Substring search of key names and identity descriptions through trigram indexes (FTS5),
-- kept in step with their tables by triggers. Searches shorter than three characters, which
-- trigrams cannot serve, scan instead.
CREATE VIRTUAL TABLE api_keys_search USING fts5(
    description, content = 'api_keys', content_rowid = 'seq', tokenize = 'trigram'
);
INSERT INTO api_keys_search (rowid, description) SELECT seq, description FROM api_keys;
CREATE TRIGGER api_keys_search_insert AFTER INSERT ON api_keys BEGIN
    INSERT INTO api_keys_search (rowid, description) VALUES (new.seq, new.description);
END;
CREATE TRIGGER api_keys_search_delete AFTER DELETE ON api_keys BEGIN
    INSERT INTO api_keys_search (api_keys_search, rowid, description)
        VALUES ('delete', old.seq, old.description);
END;
CREATE TRIGGER api_keys_search_update AFTER UPDATE OF description ON api_keys BEGIN
    INSERT INTO api_keys_search (api_keys_search, rowid, description)
        VALUES ('delete', old.seq, old.description);
    INSERT INTO api_keys_search (rowid, description) VALUES (new.seq, new.description);
END;

CREATE VIRTUAL TABLE identities_search USING fts5(
    description, content = 'identities', content_rowid = 'seq', tokenize = 'trigram'
);
INSERT INTO identities_search (rowid, description) SELECT seq, description FROM identities;
CREATE TRIGGER identities_search_insert AFTER INSERT ON identities BEGIN
    INSERT INTO identities_search (rowid, description) VALUES (new.seq, new.description);
END;
CREATE TRIGGER identities_search_delete AFTER DELETE ON identities BEGIN
    INSERT INTO identities_search (identities_search, rowid, description)
        VALUES ('delete', old.seq, old.description);
END;
CREATE TRIGGER identities_search_update AFTER UPDATE OF description ON identities BEGIN
    INSERT INTO identities_search (identities_search, rowid, description)
        VALUES ('delete', old.seq, old.description);
    INSERT INTO identities_search (rowid, description) VALUES (new.seq, new.description);
END;

-- Listings page by `seq` within these filters.
CREATE INDEX api_keys_enabled_seq ON api_keys(enabled, seq);
CREATE INDEX api_keys_project_seq ON api_keys(project_id, seq);
CREATE INDEX api_keys_owner ON api_keys(owner_id);
