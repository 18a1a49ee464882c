-- The by-source index keyed by (source, last_seen) took an insert at a random place for every new
-- source record, since reports do not arrive in lastSeen order; at 1,000,000 IoCs those random
-- inserts are what ingest waits for. Keyed by source alone (a WITHOUT ROWID index appends the
-- primary key, so it is (source, indicator_id)) it grows at the end of each source's range, and
-- still serves the by-source filter, in list order. lastSeen ranges keep their own index.
DROP INDEX indicator_sources_source;
CREATE INDEX indicator_sources_by_source ON indicator_sources(source);
