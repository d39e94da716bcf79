-- A statement's value at a round is its latest sample at or before that round: found by one
-- index seek per statement on (database, statement, round) instead of grouping every sample
-- of the epoch. Samples name their database so that the same queryid in two databases (a
-- statement that reads no table has one queryid everywhere) stays two statements.
ALTER TABLE stats_samples ADD COLUMN database_id BIGINT NOT NULL DEFAULT 0;
UPDATE stats_samples SET database_id =
    (SELECT r.database_id FROM stats_rounds r WHERE r.id = stats_samples.round_id);
CREATE INDEX stats_samples_by_statement ON stats_samples (database_id, query_id, round_id);
DROP INDEX stats_samples_by_query;
