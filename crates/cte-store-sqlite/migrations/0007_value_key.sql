-- Values are looked up by a 32-bit key (src/value_key.rs) instead of a UNIQUE index on the text:
-- at a million IoCs the text index was the largest of the randomly written indexes, and every
-- ingest batch rewrote most of its pages. The table is rebuilt because SQLite cannot drop the
-- index behind a UNIQUE column constraint; ids are kept, so no child row changes. Foreign keys
-- are off while migrations run (see migrate.rs), or dropping the old table would cascade.
--
-- indicator_sources_last_seen goes too: no query uses it (the lastSeen filter is a correlated
-- EXISTS on the primary key, and share candidates come through the by-source index), yet every
-- new source record inserted into it at a random place.

CREATE TABLE indicators_v7 (
    id            INTEGER PRIMARY KEY,
    value         TEXT NOT NULL,
    value_key     INTEGER NOT NULL,             -- cte_value_key(value): 32-bit, not unique
    type          TEXT NOT NULL,
    test          INTEGER NOT NULL,
    safe          INTEGER NOT NULL,
    active        INTEGER NOT NULL,
    expires_at    INTEGER,
    internal_hits INTEGER NOT NULL,
    external_hits INTEGER NOT NULL,
    shared_with   TEXT NOT NULL DEFAULT '[]'    -- JSON array of destination names
);
INSERT INTO indicators_v7 (id, value, value_key, type, test, safe, active, expires_at,
                           internal_hits, external_hits, shared_with)
    SELECT id, value, cte_value_key(value), type, test, safe, active, expires_at,
           internal_hits, external_hits, shared_with
    FROM indicators;
DROP TABLE indicators;
ALTER TABLE indicators_v7 RENAME TO indicators;
CREATE INDEX indicators_value_key ON indicators(value_key);
CREATE INDEX indicators_type ON indicators(type);
CREATE INDEX indicators_expiry ON indicators(expires_at) WHERE active = 1;

DROP INDEX indicator_sources_last_seen;
