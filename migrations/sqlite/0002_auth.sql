-- modelctl registry schema, version 2: principals, API and device tokens, role bindings.
-- Migrations are append-only: never edit this file after it has been released; add 0003_… instead.

-- Who can authenticate: people and service accounts (API tokens) and agents (device tokens).
CREATE TABLE principals (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    kind       TEXT    NOT NULL CHECK (kind IN ('user', 'service', 'device')),
    created_by TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

-- Only a SHA-256 of each token's secret is stored; the id is public (it names the token in lists and logs).
CREATE TABLE tokens (
    id           TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    principal_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    secret_hash  BLOB    NOT NULL CHECK (length(secret_hash) = 32),
    description  TEXT    NOT NULL DEFAULT '',
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    revoked_by   TEXT
) WITHOUT ROWID;
CREATE INDEX tokens_by_principal ON tokens (principal_id);

-- A role on the models whose names match a pattern (`*`, `vision-*`, `resnet`); one role per principal and pattern.
CREATE TABLE role_bindings (
    principal_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    pattern      TEXT    NOT NULL CHECK (length(pattern) BETWEEN 1 AND 128),
    role         TEXT    NOT NULL CHECK (role IN ('reader', 'writer', 'promoter', 'admin')),
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (principal_id, pattern)
) WITHOUT ROWID;

-- The models a device may read (the models its deployments point to).
CREATE TABLE device_models (
    principal_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    model_name   TEXT    NOT NULL,
    PRIMARY KEY (principal_id, model_name)
) WITHOUT ROWID;

-- Who has proven to hold a blob's bytes by uploading them in full (the blob store keeps one copy for everyone).
-- A version may only use blobs its committer holds or can read through another model: knowing a digest is not
-- enough to get its content.
CREATE TABLE blob_holders (
    digest    TEXT NOT NULL,
    principal TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (digest, principal)
) WITHOUT ROWID;

-- Append-only trail of token and role changes (model changes are in audit_events).
CREATE TABLE auth_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    details TEXT,
    actor   TEXT    NOT NULL,
    at      TEXT    NOT NULL
);
CREATE TRIGGER auth_events_no_update BEFORE UPDATE ON auth_events
BEGIN
    SELECT RAISE(ABORT, 'auth events are append-only');
END;
CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
BEGIN
    SELECT RAISE(ABORT, 'auth events are append-only');
END;
