-- Business rules and their sharing configurations (reference §4.7).
-- A rule's filters and exceptions are kept as CE writes them (text and JSON); each sharing
-- configuration (sharedWith[source][destination]) is its own row, so that the share cycle can
-- find the rules of one destination by index, later tables (outbox, per-target state) can refer
-- to one sharing configuration, and deleting a configuration removes it from every rule
-- (CE's DELETE /api/cte/configuration does the same) through the foreign keys.

CREATE TABLE business_rules (
    id            INTEGER PRIMARY KEY,          -- creation order, for listings
    name          TEXT NOT NULL UNIQUE,
    filters_query TEXT NOT NULL,                -- the UI query language
    filters_mongo TEXT NOT NULL,                -- CE's Mongo-style JSON, as a string
    exceptions    TEXT NOT NULL DEFAULT '[]',   -- JSON array of {name, filters, tags}
    muted         INTEGER NOT NULL DEFAULT 0,
    unmute_at     INTEGER                       -- NULL unless muted
);
CREATE INDEX business_rules_unmute ON business_rules(unmute_at) WHERE muted = 1;

CREATE TABLE sharing_configurations (
    rule_id     INTEGER NOT NULL REFERENCES business_rules(id) ON DELETE CASCADE,
    source      TEXT NOT NULL REFERENCES configurations(name) ON DELETE CASCADE,
    destination TEXT NOT NULL REFERENCES configurations(name) ON DELETE CASCADE,
    actions     TEXT NOT NULL,                  -- JSON array of {label, value, parameters}
    PRIMARY KEY (rule_id, source, destination)
) WITHOUT ROWID;
CREATE INDEX sharing_configurations_destination ON sharing_configurations(destination, rule_id);
CREATE INDEX sharing_configurations_source ON sharing_configurations(source);
