-- Initial schema: tokens, configurations, tags, indicators with per-source history.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    client_id       TEXT PRIMARY KEY,
    secret_hash     TEXT NOT NULL,
    description     TEXT NOT NULL,
    scopes          TEXT NOT NULL,              -- comma-separated scope names
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,                    -- NULL: never
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER
) WITHOUT ROWID;

CREATE TABLE access_grants (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_tokens(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_grants_expiry ON access_grants(expires_at);
CREATE INDEX access_grants_client ON access_grants(client_id);

CREATE TABLE configurations (
    name                    TEXT PRIMARY KEY,
    plugin                  TEXT NOT NULL,
    active                  INTEGER NOT NULL,
    tenant                  TEXT,
    ssl_validation          INTEGER NOT NULL,
    poll_interval           INTEGER NOT NULL,
    poll_interval_unit      TEXT NOT NULL,
    reputation              INTEGER NOT NULL,
    age_after_days          INTEGER NOT NULL,
    parameters              TEXT NOT NULL,      -- JSON object
    tags_aggregate_strategy TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    pull_last_run_at        INTEGER,
    pull_success            INTEGER,
    pull_message            TEXT,
    share_last_run_at       INTEGER,
    share_success           INTEGER,
    share_message           TEXT
) WITHOUT ROWID;

CREATE TABLE tags (
    name  TEXT PRIMARY KEY,
    color TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE indicators (
    id            INTEGER PRIMARY KEY,
    value         TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    test          INTEGER NOT NULL,
    safe          INTEGER NOT NULL,
    active        INTEGER NOT NULL,
    expires_at    INTEGER,
    internal_hits INTEGER NOT NULL,
    external_hits INTEGER NOT NULL,
    shared_with   TEXT NOT NULL DEFAULT '[]'    -- JSON array of destination names
);
CREATE INDEX indicators_type ON indicators(type);
CREATE INDEX indicators_expiry ON indicators(expires_at) WHERE active = 1;

CREATE TABLE indicator_sources (
    indicator_id         INTEGER NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,
    source               TEXT NOT NULL,
    seq                  INTEGER NOT NULL,      -- order in which sources reported the value
    first_seen           INTEGER NOT NULL,
    last_seen            INTEGER NOT NULL,
    reputation           INTEGER NOT NULL,
    severity             INTEGER NOT NULL,      -- 0 unknown .. 4 critical
    comments             TEXT NOT NULL,
    extended_information TEXT NOT NULL,
    internal_hits        INTEGER NOT NULL,
    external_hits        INTEGER NOT NULL,
    retracted            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (indicator_id, source)
) WITHOUT ROWID;
CREATE INDEX indicator_sources_source ON indicator_sources(source, last_seen);
CREATE INDEX indicator_sources_last_seen ON indicator_sources(last_seen);

CREATE TABLE source_tags (
    indicator_id INTEGER NOT NULL,
    source       TEXT NOT NULL,
    tag          TEXT NOT NULL REFERENCES tags(name) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, source, tag),
    FOREIGN KEY (indicator_id, source) REFERENCES indicator_sources(indicator_id, source) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX source_tags_tag ON source_tags(tag, indicator_id);

CREATE TABLE source_destinations (
    indicator_id INTEGER NOT NULL,
    source       TEXT NOT NULL,
    destination  TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT,
    PRIMARY KEY (indicator_id, source, destination),
    FOREIGN KEY (indicator_id, source) REFERENCES indicator_sources(indicator_id, source) ON DELETE CASCADE
) WITHOUT ROWID;
