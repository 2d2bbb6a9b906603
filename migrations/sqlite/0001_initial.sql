-- modelctl registry schema, version 1.
-- Migrations are append-only: never edit this file after it has been released; add 0002_… instead.

CREATE TABLE models (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
    description TEXT    NOT NULL DEFAULT '',
    revision    INTEGER NOT NULL DEFAULT 1 CHECK (revision > 0),
    last_number INTEGER NOT NULL DEFAULT 0 CHECK (last_number >= 0),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

CREATE TABLE model_tags (
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    key      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id       INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL CHECK (number > 0),
    label          TEXT,
    status         TEXT    NOT NULL CHECK (status IN ('PENDING', 'READY', 'FAILED')),
    stage          TEXT    NOT NULL DEFAULT 'None' CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
    format         TEXT,
    description    TEXT    NOT NULL DEFAULT '',
    run_id         TEXT,
    source         TEXT,
    git_commit     TEXT,
    dataset_digest TEXT,
    failure_reason TEXT,
    created_by     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (model_id, number),
    UNIQUE (model_id, label),
    -- Only READY versions can hold a stage.
    CHECK (stage = 'None' OR status = 'READY')
);
CREATE INDEX versions_by_stage ON versions (model_id, stage, number);
CREATE INDEX versions_by_run ON versions (run_id) WHERE run_id IS NOT NULL;

-- A READY version never goes back, and a FAILED one never comes back.
CREATE TRIGGER versions_lifecycle BEFORE UPDATE OF status ON versions
WHEN OLD.status <> NEW.status AND OLD.status <> 'PENDING'
BEGIN
    SELECT RAISE(ABORT, 'version status can only change from PENDING');
END;

CREATE TABLE version_files (
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    path       TEXT    NOT NULL CHECK (length(path) BETWEEN 1 AND 1024),
    size       INTEGER NOT NULL CHECK (size >= 0),
    digest     TEXT    NOT NULL CHECK (length(digest) = 71 AND substr(digest, 1, 7) = 'sha256:'),
    role       TEXT    NOT NULL,
    PRIMARY KEY (version_id, path)
) WITHOUT ROWID;
CREATE INDEX version_files_by_digest ON version_files (digest);

-- The files of a version are fixed at creation.
CREATE TRIGGER version_files_immutable_update BEFORE UPDATE ON version_files
BEGIN
    SELECT RAISE(ABORT, 'the files of a version cannot be changed');
END;
CREATE TRIGGER version_files_immutable_insert BEFORE INSERT ON version_files
WHEN (SELECT status FROM versions WHERE id = NEW.version_id) <> 'PENDING'
BEGIN
    SELECT RAISE(ABORT, 'files can only be added to a PENDING version');
END;

CREATE TABLE version_metrics (
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      REAL    NOT NULL,
    PRIMARY KEY (version_id, key)
) WITHOUT ROWID;
CREATE INDEX version_metrics_by_key ON version_metrics (key, value);

CREATE TABLE version_params (
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (version_id, key)
) WITHOUT ROWID;

CREATE TABLE version_tags (
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (version_id, key)
) WITHOUT ROWID;

CREATE TABLE aliases (
    model_id   INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias      TEXT    NOT NULL,
    version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (model_id, alias)
) WITHOUT ROWID;
CREATE INDEX aliases_by_version ON aliases (version_id);

-- Index of stored blobs: the files under blobs/ are the truth; a row is added after a blob is in place.
CREATE TABLE blobs (
    digest     TEXT    NOT NULL PRIMARY KEY,
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_at TEXT    NOT NULL
) WITHOUT ROWID;

-- Append-only audit trail. Rows outlive their model (no foreign key), so a deleted model's history stays.
CREATE TABLE audit_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id         INTEGER NOT NULL,
    model_name       TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    version          INTEGER,
    subject          TEXT,
    from_value       TEXT,
    to_value         TEXT,
    details          TEXT,
    actor            TEXT    NOT NULL,
    comment          TEXT,
    reverts_event_id INTEGER REFERENCES audit_events (id),
    revision         INTEGER NOT NULL,
    at               TEXT    NOT NULL
);
CREATE INDEX audit_events_by_model ON audit_events (model_id, id);
CREATE INDEX audit_events_by_subject ON audit_events (model_id, kind, subject, id);
CREATE UNIQUE INDEX audit_events_reverted_once ON audit_events (reverts_event_id) WHERE reverts_event_id IS NOT NULL;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
