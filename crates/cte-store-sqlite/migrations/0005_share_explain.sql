-- "Why is X on list Y": each share status belongs to one tenant list and remembers the rule of the
-- push that set it and when that push was acknowledged. The list is part of the key, so that two
-- sharing configurations of one source and destination writing two lists keep separate statuses.
-- Rows from before this migration (none are written by a share before it) get an empty list key.

CREATE TABLE source_destinations_v5 (
    indicator_id INTEGER NOT NULL,
    source       TEXT NOT NULL,
    destination  TEXT NOT NULL,
    list_tenant  TEXT NOT NULL DEFAULT '',
    list_kind    TEXT NOT NULL DEFAULT '',
    list_name    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    reason       TEXT,
    rule         TEXT,
    updated_at   INTEGER,
    PRIMARY KEY (indicator_id, source, destination, list_tenant, list_kind, list_name),
    FOREIGN KEY (indicator_id, source) REFERENCES indicator_sources(indicator_id, source) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO source_destinations_v5 (indicator_id, source, destination, status, reason)
    SELECT indicator_id, source, destination, status, reason FROM source_destinations;
DROP TABLE source_destinations;
ALTER TABLE source_destinations_v5 RENAME TO source_destinations;
CREATE INDEX source_destinations_list ON source_destinations(source, destination, list_tenant, list_kind, list_name);
