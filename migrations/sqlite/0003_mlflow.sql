-- modelctl registry schema, version 3: the tracking data of the MLflow-compatible API (experiments, runs, logged
-- models) and the artifact tree of its `mlflow-artifacts` proxy. Model versions stay in `versions`: an MLflow model
-- version is a modelctl version.
-- Times here are milliseconds since the epoch, as MLflow exchanges them.

-- The logged model a version was registered from (`models:/m-…`), as MLflow reports it.
ALTER TABLE versions ADD COLUMN mlflow_model_id TEXT;

-- AUTOINCREMENT: artifact paths embed the id, so an id is never given to a second experiment.
CREATE TABLE mlflow_experiments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 500),
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- MLflow clients log to experiment 0 when none is set.
INSERT INTO mlflow_experiments (id, name, created_by, created_at, updated_at)
VALUES (0, 'Default', 'system',
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

CREATE TABLE mlflow_experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES mlflow_experiments (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

CREATE TABLE mlflow_runs (
    id              TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    experiment_id   INTEGER NOT NULL REFERENCES mlflow_experiments (id),
    name            TEXT    NOT NULL DEFAULT '',
    user_id         TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'RUNNING'
                    CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
    start_time      INTEGER,
    end_time        INTEGER,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
    created_by      TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX mlflow_runs_by_experiment ON mlflow_runs (experiment_id, start_time);

-- Parameters are written once: logging the same key again with another value is refused.
CREATE TABLE mlflow_run_params (
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- Every logged metric value (the history); a run reports the latest per key.
CREATE TABLE mlflow_run_metrics (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    TEXT    NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     REAL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mlflow_run_metrics_by_key ON mlflow_run_metrics (run_id, key, step, timestamp);

CREATE TABLE mlflow_run_tags (
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE mlflow_logged_models (
    id             TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 34 AND substr(id, 1, 2) = 'm-'),
    experiment_id  INTEGER NOT NULL REFERENCES mlflow_experiments (id),
    name           TEXT    NOT NULL,
    source_run_id  TEXT    REFERENCES mlflow_runs (id),
    model_type     TEXT,
    status         TEXT    NOT NULL DEFAULT 'LOGGED_MODEL_PENDING'
                   CHECK (status IN ('LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED')),
    status_message TEXT,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mlflow_logged_models_by_run ON mlflow_logged_models (source_run_id, name);
CREATE INDEX mlflow_logged_models_by_experiment ON mlflow_logged_models (experiment_id, created_at);

CREATE TABLE mlflow_logged_model_tags (
    model_id TEXT NOT NULL REFERENCES mlflow_logged_models (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE mlflow_logged_model_params (
    model_id TEXT NOT NULL REFERENCES mlflow_logged_models (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

-- Models a run produced (`runs/outputs`).
CREATE TABLE mlflow_run_outputs (
    run_id   TEXT    NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    model_id TEXT    NOT NULL REFERENCES mlflow_logged_models (id) ON DELETE CASCADE,
    step     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, model_id)
) WITHOUT ROWID;

-- The artifact tree of the `mlflow-artifacts` proxy: one row per file, its bytes a blob of the content-addressed
-- store. Directories are implied by the paths. Paths are validated relative paths (`1/<run>/artifacts/model/MLmodel`).
CREATE TABLE mlflow_artifacts (
    path       TEXT    NOT NULL PRIMARY KEY CHECK (length(path) BETWEEN 1 AND 4096),
    digest     TEXT    NOT NULL CHECK (length(digest) = 71 AND substr(digest, 1, 7) = 'sha256:'),
    size       INTEGER NOT NULL CHECK (size >= 0),
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mlflow_artifacts_by_digest ON mlflow_artifacts (digest);
