-- Query statistics over time: the monitored databases' stable ids, and samples of their
-- pg_stat_statements. Written in SQL that PostgreSQL accepts as well (BIGINT, no SQLite-only
-- functions), so that the PostgreSQL store is a mechanical port.

-- Every name ever monitored, with its id: ids are never deleted, so never reused.
CREATE TABLE monitored_databases (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    first_seen_ms BIGINT NOT NULL
);

-- One sampling round of one database. A reset epoch is (postmaster_start_s, stats_reset_s):
-- counters only grow inside one, and start again from zero in the next.
CREATE TABLE stats_rounds (
    id INTEGER PRIMARY KEY,
    database_id BIGINT NOT NULL REFERENCES monitored_databases (id),
    taken_ms BIGINT NOT NULL,
    stats_reset_s BIGINT,
    postmaster_start_s BIGINT NOT NULL
);
CREATE INDEX stats_rounds_by_time ON stats_rounds (database_id, taken_ms);

-- A statement's text, once per database and queryid.
CREATE TABLE stats_statements (
    database_id BIGINT NOT NULL REFERENCES monitored_databases (id),
    query_id BIGINT NOT NULL,
    query TEXT NOT NULL,
    PRIMARY KEY (database_id, query_id)
);

-- A statement's cumulative counters at a round, stored only when they changed since the
-- statement's previous sample in the same epoch: its value at a round is its latest sample at
-- or before that round in the round's epoch (zero when none).
CREATE TABLE stats_samples (
    round_id BIGINT NOT NULL REFERENCES stats_rounds (id) ON DELETE CASCADE,
    query_id BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    total_time_ms DOUBLE PRECISION NOT NULL,
    blks_hit BIGINT NOT NULL,
    blks_read BIGINT NOT NULL,
    io_time_ms DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (round_id, query_id)
);
CREATE INDEX stats_samples_by_query ON stats_samples (query_id, round_id);
