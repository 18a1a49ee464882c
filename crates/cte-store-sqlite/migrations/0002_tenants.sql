-- Netskope tenants (tokens encrypted with the key file beside the database) and pull positions.

CREATE TABLE tenants (
    name               TEXT PRIMARY KEY,
    tenant_name        TEXT NOT NULL,
    v1_token           BLOB,                 -- nonce || ciphertext, or NULL
    v2_token           BLOB NOT NULL,        -- nonce || ciphertext
    initial_range_days INTEGER NOT NULL,
    use_system_proxy   INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE pull_checkpoints (
    configuration TEXT NOT NULL REFERENCES configurations(name) ON DELETE CASCADE,
    alert_type    TEXT NOT NULL,
    phase         TEXT NOT NULL,
    iterator      TEXT NOT NULL,
    start_epoch   INTEGER NOT NULL,
    end_epoch     INTEGER,
    positioned    INTEGER NOT NULL,
    in_flight     INTEGER NOT NULL,
    last_digest   TEXT,
    alerts        INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (configuration, alert_type)
) WITHOUT ROWID;
