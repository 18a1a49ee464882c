-- Sharing: the list content each tenant was last acknowledged to hold, the outbox of pushes
-- (written before a push is sent, acknowledged after), and leases so that two workers do not share
-- at once.

CREATE TABLE share_state (
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,                   -- url | file
    list       TEXT NOT NULL,                   -- list name, ASCII lower case
    content    TEXT NOT NULL,                   -- JSON array: the acknowledged entries
    rejected   TEXT NOT NULL DEFAULT '[]',      -- JSON array of [value, reason] the tenant refused
    generation INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, list)
) WITHOUT ROWID;

CREATE TABLE share_outbox (
    id             INTEGER PRIMARY KEY,
    tenant         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    list           TEXT NOT NULL,
    destination    TEXT NOT NULL,
    generation     INTEGER NOT NULL,
    payload_sha256 TEXT NOT NULL,               -- of the wanted content, as JSON
    created_at     INTEGER NOT NULL,
    acked_at       INTEGER                      -- NULL while the push is unconfirmed
);
CREATE INDEX share_outbox_pending ON share_outbox(tenant, kind, list) WHERE acked_at IS NULL;

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
