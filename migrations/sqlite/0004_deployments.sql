-- modelctl registry schema, version 4: agents, enrollment tokens, deployments and what agents report.
-- Migrations are append-only: never edit this file after it has been released; add 0005_… instead.

-- The fleet generation: one number that grows with every change that can alter an agent's desired state. Signed
-- desired-state documents carry it; agents refuse a document with a lower generation than one they accepted. The
-- triggers below raise it in the same transaction as the change, so no write path can forget it.
CREATE TABLE fleet_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO fleet_generation (id, generation) VALUES (1, 1);

-- One-time tokens that an agent exchanges for its device token. Only a SHA-256 of the secret is stored.
CREATE TABLE enrollment_tokens (
    id          TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    secret_hash BLOB NOT NULL CHECK (length(secret_hash) = 32),
    labels      TEXT NOT NULL DEFAULT '{}',
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT,
    revoked_at  TEXT
) WITHOUT ROWID;

-- An enrolled agent: a device principal with labels and when it was last heard from.
CREATE TABLE agents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    principal_id  INTEGER NOT NULL UNIQUE REFERENCES principals (id) ON DELETE CASCADE,
    labels        TEXT    NOT NULL DEFAULT '{}',
    enrolled_with TEXT    NOT NULL,
    enrolled_at   TEXT    NOT NULL,
    last_seen     TEXT
);

-- A model, a selector of its version, the agents it targets and how the version reaches them.
-- The rollout fields follow the selector: when it resolves to a new version, `rollout` grows, `baseline_version`
-- takes the previous target and `target_version` the new one.
CREATE TABLE deployments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    model_id           INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    selector_kind      TEXT    NOT NULL CHECK (selector_kind IN ('version', 'alias', 'stage')),
    selector           TEXT    NOT NULL,
    target             TEXT    NOT NULL DEFAULT '',
    strategy           TEXT    NOT NULL CHECK (strategy IN ('all', 'canary', 'ab')),
    percent            INTEGER NOT NULL DEFAULT 100 CHECK (percent BETWEEN 0 AND 100),
    b_selector_kind    TEXT    CHECK (b_selector_kind IN ('version', 'alias', 'stage')),
    b_selector         TEXT,
    health_command     TEXT,
    health_timeout     INTEGER NOT NULL DEFAULT 60 CHECK (health_timeout BETWEEN 1 AND 3600),
    failure_threshold  INTEGER CHECK (failure_threshold BETWEEN 0 AND 100),
    status             TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'aborted')),
    status_reason      TEXT,
    rollout            INTEGER NOT NULL DEFAULT 0,
    target_version     INTEGER,
    baseline_version   INTEGER,
    b_version          INTEGER,
    created_by         TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    CHECK ((strategy = 'ab') = (b_selector IS NOT NULL))
);
CREATE INDEX deployments_by_model ON deployments (model_id);

-- The agents that had started the current rollout when a deployment was paused: they keep its version, every other
-- agent keeps the baseline until the deployment resumes.
CREATE TABLE deployment_members (
    deployment_id INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    agent_id      INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (deployment_id, agent_id)
) WITHOUT ROWID;

-- The last step each agent reported for each deployment.
CREATE TABLE agent_deployments (
    agent_id       INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    deployment_id  INTEGER NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    rollout        INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    step           TEXT    NOT NULL CHECK (step IN ('downloading', 'verifying', 'installing', 'health_checking',
                                                    'active', 'failed', 'rolled_back')),
    bytes_done     INTEGER,
    bytes_total    INTEGER,
    error          TEXT,
    active_version INTEGER,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (agent_id, deployment_id)
) WITHOUT ROWID;
CREATE INDEX agent_deployments_by_deployment ON agent_deployments (deployment_id, rollout, step);

-- What raises the generation.
CREATE TRIGGER fleet_alias_inserted AFTER INSERT ON aliases
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_alias_updated AFTER UPDATE OF version_id ON aliases
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_alias_deleted AFTER DELETE ON aliases
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_stage_changed AFTER UPDATE OF stage ON versions WHEN OLD.stage <> NEW.stage
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_version_deleted AFTER DELETE ON versions
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_deployment_inserted AFTER INSERT ON deployments
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_deployment_updated AFTER UPDATE ON deployments
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_deployment_deleted AFTER DELETE ON deployments
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_agent_inserted AFTER INSERT ON agents
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_agent_relabelled AFTER UPDATE OF labels ON agents WHEN OLD.labels <> NEW.labels
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_agent_deleted AFTER DELETE ON agents
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
-- A failure sends that agent back to the baseline.
CREATE TRIGGER fleet_agent_failed AFTER UPDATE OF step ON agent_deployments
WHEN NEW.step IN ('failed', 'rolled_back') AND (OLD.step NOT IN ('failed', 'rolled_back') OR OLD.rollout <> NEW.rollout)
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
CREATE TRIGGER fleet_agent_failed_first AFTER INSERT ON agent_deployments
WHEN NEW.step IN ('failed', 'rolled_back')
BEGIN UPDATE fleet_generation SET generation = generation + 1; END;
