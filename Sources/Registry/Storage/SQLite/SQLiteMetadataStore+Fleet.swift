public import AgentProtocol
public import Foundation
import GRDB

extension SQLiteMetadataStore {
    // MARK: Enrollment tokens

    public func createEnrollmentToken(
        _ token: AccessToken,
        labels: [String: String],
        description: String,
        expiresAt: Date,
        actor: Principal
    ) async throws -> EnrollmentTokenRecord {
        let now = clock()
        let labelText = try Self.labelsJSON(labels)
        return try await write { db in
            try db.execute(
                cached: """
                    INSERT INTO enrollment_tokens (id, secret_hash, labels, description, created_by, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [token.id, token.secretHash, labelText, description, actor.id, now, expiresAt]
            )
            try Self.appendAuthEvent(
                db,
                kind: "enrollment_token_created",
                subject: "enrollment:\(token.id)",
                details: "expires \(expiresAt.ISO8601Format()), labels \(labelText)",
                actor: actor,
                at: now
            )
            return EnrollmentTokenRecord(
                id: token.id,
                labels: labels,
                description: description,
                createdBy: actor.id,
                createdAt: now,
                expiresAt: expiresAt
            )
        }
    }

    public func enrollmentTokens() async throws -> [EnrollmentTokenRecord] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM enrollment_tokens ORDER BY created_at, id"))
                .map(Self.enrollmentTokenRecord)
        }
    }

    public func revokeEnrollmentToken(id: String, actor: Principal) async throws -> EnrollmentTokenRecord {
        let now = clock()
        return try await write { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT * FROM enrollment_tokens WHERE id = ?"),
                    arguments: [id]
                )
            else { throw RegistryError.notFound("enrollment token \(Validation.printable(id)) does not exist") }
            var record = try Self.enrollmentTokenRecord(row)
            guard record.revokedAt == nil else { return record }
            try db.execute(cached: "UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ?", arguments: [now, id])
            try Self.appendAuthEvent(
                db,
                kind: "enrollment_token_revoked",
                subject: "enrollment:\(id)",
                details: nil,
                actor: actor,
                at: now
            )
            record.revokedAt = now
            return record
        }
    }

    public func enroll(
        enrollmentToken: AccessToken,
        name: String,
        labels: [String: String],
        deviceToken: AccessToken
    ) async throws -> AgentRecord {
        let now = clock()
        return try await write { db in
            let refused = Authenticator.unauthorized(
                "the enrollment token is unknown, already used, expired or revoked: ask an administrator for a new one (modelctl agent token create)",
                error: "invalid_token"
            )
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT * FROM enrollment_tokens WHERE id = ?"),
                    arguments: [enrollmentToken.id]
                ),
                enrollmentToken.matches(hash: row["secret_hash"])
            else { throw refused }
            let record = try Self.enrollmentTokenRecord(row)
            guard record.status(at: now) == .unused else { throw refused }
            if try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM principals WHERE name = ?)"),
                arguments: [name]
            ) == true {
                throw RegistryError(
                    .alreadyExists,
                    "a principal named '\(name)' exists already: enroll the agent under another name"
                )
            }
            let actor = Principal(id: "enrollment:\(enrollmentToken.id)")
            try db.execute(
                cached: "INSERT INTO principals (name, kind, created_by, created_at) VALUES (?, 'device', ?, ?)",
                arguments: [name, actor.id, now]
            )
            let principalID = db.lastInsertedRowID
            try db.execute(
                cached: """
                    INSERT INTO tokens (id, principal_id, secret_hash, description, created_by, created_at)
                    VALUES (?, ?, ?, 'agent enrollment', ?, ?)
                    """,
                arguments: [deviceToken.id, principalID, deviceToken.secretHash, actor.id, now]
            )
            let merged = labels.merging(record.labels) { _, fixed in fixed }
            try db.execute(
                cached: """
                    INSERT INTO agents (name, principal_id, labels, enrolled_with, enrolled_at, last_seen)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [name, principalID, try Self.labelsJSON(merged), enrollmentToken.id, now, now]
            )
            let agentID = db.lastInsertedRowID
            try db.execute(
                cached: "UPDATE enrollment_tokens SET used_at = ?, used_by = ? WHERE id = ?",
                arguments: [now, name, enrollmentToken.id]
            )
            try Self.appendAuthEvent(
                db,
                kind: "agent_enrolled",
                subject: "device:\(name)",
                details: "token \(deviceToken.id), labels \(try Self.labelsJSON(merged))",
                actor: actor,
                at: now
            )
            return AgentRecord(id: agentID, name: name, labels: merged, enrolledAt: now, lastSeen: now)
        }
    }

    // MARK: Agents

    public func agents() async throws -> [AgentRecord] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM agents ORDER BY name")).map(Self.agentRecord)
        }
    }

    public func agent(named name: String) async throws -> AgentRecord {
        try await read { db in try Self.agentRecord(try Self.agentRow(db, name: name)) }
    }

    public func setAgentLabels(
        named name: String,
        labels: [String: String],
        actor: Principal
    ) async throws
        -> AgentRecord
    {
        let now = clock()
        let text = try Self.labelsJSON(labels)
        return try await write { db in
            var record = try Self.agentRecord(try Self.agentRow(db, name: name))
            try db.execute(cached: "UPDATE agents SET labels = ? WHERE id = ?", arguments: [text, record.id])
            try Self.appendAuthEvent(
                db,
                kind: "agent_labels_set",
                subject: "device:\(name)",
                details: "labels \(try Self.labelsJSON(record.labels)) → \(text)",
                actor: actor,
                at: now
            )
            record.labels = labels
            return record
        }
    }

    public func deleteAgent(named name: String, actor: Principal) async throws {
        let now = clock()
        try await write { db in
            let row = try Self.agentRow(db, name: name)
            try db.execute(cached: "DELETE FROM principals WHERE id = ?", arguments: [row["principal_id"] as Int64])
            try Self.appendAuthEvent(
                db,
                kind: "agent_deleted",
                subject: "device:\(name)",
                details: nil,
                actor: actor,
                at: now
            )
        }
    }

    public func touchAgents(_ seen: [Int64: Date]) async throws {
        guard !seen.isEmpty else { return }
        try await write { db in
            for (id, at) in seen {
                try db.execute(
                    cached: "UPDATE agents SET last_seen = max(coalesce(last_seen, ''), ?) WHERE id = ?",
                    arguments: [at, id]
                )
            }
        }
    }

    // MARK: Deployments

    public func createDeployment(_ new: NewDeployment, actor: Principal) async throws -> Deployment {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: new.model)
            guard let target = try Self.resolve(db, modelID: model.id, new.selector) else {
                throw RegistryError.notFound(
                    "\(new.model)\(new.selector) does not name a READY version: push or promote one first"
                )
            }
            var otherVersion: Int?
            var otherKind: String?
            var otherValue: String?
            if case .ab(_, let other) = new.strategy {
                guard let resolved = try Self.resolve(db, modelID: model.id, other) else {
                    throw RegistryError.notFound(
                        "\(new.model)\(other) (the B side) does not name a READY version"
                    )
                }
                otherVersion = resolved
                otherKind = other.kind
                otherValue = other.value
            }
            try db.execute(
                cached: """
                    INSERT INTO deployments
                        (name, model_id, selector_kind, selector, target, strategy, percent, b_selector_kind,
                         b_selector, health_command, health_timeout, failure_threshold, status, rollout,
                         target_version, b_version, created_by, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 1, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    new.name, model.id, new.selector.kind, new.selector.value, new.target.description,
                    new.strategy.name, new.strategy.percent, otherKind, otherValue, new.healthCheck?.command,
                    new.healthCheck?.timeoutSeconds ?? 60, new.failureThreshold, target, otherVersion, actor.id,
                    now, now,
                ]
            )
            try Self.appendEvent(
                db,
                model: model,
                kind: .deploymentCreated,
                version: target,
                subject: new.name,
                to: Self.summary(new),
                actor: actor,
                revision: model.revision,
                at: now
            )
            return try Self.deployment(db, name: new.name)
        }
    }

    public func deployments() async throws -> [Deployment] {
        try await read { db in try Self.allDeployments(db) }
    }

    public func deployment(named name: String) async throws -> Deployment {
        try await read { db in try Self.deployment(db, name: name) }
    }

    public func changeDeployment(
        named name: String,
        _ change: DeploymentChange,
        actor: Principal
    ) async throws
        -> Deployment
    {
        let now = clock()
        return try await write { db in
            let current = try Self.deployment(db, name: name)
            let model = try Self.modelRow(db, name: current.model)
            let id = try Self.deploymentID(db, name: name)
            switch change {
            case .pause(let reason):
                guard current.status == .active else {
                    throw RegistryError.conflict("deployment '\(name)' is \(current.status.rawValue), not active")
                }
                try Self.pause(db, deploymentID: id, rollout: current.rollout, reason: reason, at: now)
                try Self.appendEvent(
                    db,
                    model: model,
                    kind: .deploymentPaused,
                    version: current.targetVersion,
                    subject: name,
                    from: current.status.rawValue,
                    to: DeploymentStatus.paused.rawValue,
                    actor: actor,
                    comment: reason,
                    revision: model.revision,
                    at: now
                )
            case .resume:
                guard current.status == .paused else {
                    throw RegistryError.conflict(
                        "deployment '\(name)' is \(current.status.rawValue): only a paused deployment resumes"
                    )
                }
                try db.execute(
                    cached:
                        "UPDATE deployments SET status = 'active', status_reason = NULL, updated_at = ? WHERE id = ?",
                    arguments: [now, id]
                )
                try db.execute(cached: "DELETE FROM deployment_members WHERE deployment_id = ?", arguments: [id])
                try Self.appendEvent(
                    db,
                    model: model,
                    kind: .deploymentResumed,
                    version: current.targetVersion,
                    subject: name,
                    from: current.status.rawValue,
                    to: DeploymentStatus.active.rawValue,
                    actor: actor,
                    revision: model.revision,
                    at: now
                )
            case .abort(let reason):
                guard current.status != .aborted else { return current }
                try db.execute(
                    cached: "UPDATE deployments SET status = 'aborted', status_reason = ?, updated_at = ? WHERE id = ?",
                    arguments: [reason, now, id]
                )
                try Self.appendEvent(
                    db,
                    model: model,
                    kind: .deploymentAborted,
                    version: current.baselineVersion,
                    subject: name,
                    from: current.status.rawValue,
                    to: DeploymentStatus.aborted.rawValue,
                    actor: actor,
                    comment: reason,
                    revision: model.revision,
                    at: now
                )
            case .strategy(let strategy):
                var otherKind: String?
                var otherValue: String?
                var otherVersion: Int?
                switch (current.strategy, strategy) {
                case (.ab(_, let old), .ab(_, let new)):
                    guard let resolved = try Self.resolve(db, modelID: model.id, new) else {
                        throw RegistryError.notFound("\(current.model)\(new) does not name a READY version")
                    }
                    if old != new { otherVersion = resolved } else { otherVersion = current.otherVersion }
                    otherKind = new.kind
                    otherValue = new.value
                case (.ab, _), (_, .ab):
                    throw RegistryError.conflict(
                        "deployment '\(name)' is \(current.strategy.name): an A/B split cannot become \(strategy.name) or the other way round; create a new deployment"
                    )
                default:
                    break
                }
                try db.execute(
                    cached: """
                        UPDATE deployments SET strategy = ?, percent = ?, b_selector_kind = ?, b_selector = ?,
                            b_version = ?, updated_at = ?
                        WHERE id = ?
                        """,
                    arguments: [strategy.name, strategy.percent, otherKind, otherValue, otherVersion, now, id]
                )
                try Self.appendEvent(
                    db,
                    model: model,
                    kind: .deploymentUpdated,
                    version: current.targetVersion,
                    subject: name,
                    from: Self.strategyText(current.strategy),
                    to: Self.strategyText(strategy),
                    actor: actor,
                    revision: model.revision,
                    at: now
                )
            }
            return try Self.deployment(db, name: name)
        }
    }

    public func deleteDeployment(named name: String, actor: Principal) async throws {
        let now = clock()
        try await write { db in
            let current = try Self.deployment(db, name: name)
            let model = try Self.modelRow(db, name: current.model)
            try db.execute(cached: "DELETE FROM deployments WHERE name = ?", arguments: [name])
            try Self.appendEvent(
                db,
                model: model,
                kind: .deploymentDeleted,
                subject: name,
                from: current.status.rawValue,
                actor: actor,
                revision: model.revision,
                at: now
            )
        }
    }

    // MARK: Desired-state inputs

    public func fleetGeneration() async throws -> Int64 {
        try await read { db in try Self.generation(db) }
    }

    public func fleetSnapshot() async throws -> FleetSnapshot {
        let stale = try await read { db in try Self.staleDeployments(db) }
        if !stale.isEmpty {
            let now = clock()
            try await write { db in try Self.startRollouts(db, at: now) }
        }
        return try await read { db in try Self.snapshot(db) }
    }

    public func recordReport(agentID: Int64, _ report: AgentReport) async throws -> Deployment? {
        let now = clock()
        return try await write { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql:
                            "SELECT id, rollout, status, failure_threshold, target_version FROM deployments WHERE name = ?"
                    ),
                    arguments: [report.deployment]
                )
            else {
                throw RegistryError.notFound("deployment '\(Validation.printable(report.deployment))' does not exist")
            }
            let deploymentID: Int64 = row["id"]
            try db.execute(
                cached: """
                    INSERT INTO agent_deployments
                        (agent_id, deployment_id, rollout, version, step, bytes_done, bytes_total, error,
                         active_version, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (agent_id, deployment_id) DO UPDATE SET
                        rollout = excluded.rollout,
                        version = iif(\(Self.keepsFailure), version, excluded.version),
                        step = iif(\(Self.keepsFailure), step, excluded.step),
                        bytes_done = iif(\(Self.keepsFailure), bytes_done, excluded.bytes_done),
                        bytes_total = iif(\(Self.keepsFailure), bytes_total, excluded.bytes_total),
                        error = iif(\(Self.keepsFailure), error, excluded.error),
                        active_version = excluded.active_version, updated_at = excluded.updated_at
                    """,
                arguments: [
                    agentID, deploymentID, report.rollout, report.version, report.step.rawValue, report.bytesDone,
                    report.bytesTotal, report.error, report.activeVersion, now,
                ]
            )
            let rollout: Int64 = row["rollout"]
            let targetVersion: Int? = row["target_version"]
            guard report.step.isFailure, report.rollout == rollout, report.version == targetVersion,
                row["status"] as String == "active", let threshold = row["failure_threshold"] as Int?
            else { return nil }
            let counts = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) AS started,
                               coalesce(sum(step IN ('failed', 'rolled_back')), 0) AS failed
                        FROM agent_deployments WHERE deployment_id = ? AND rollout = ? AND version = ?
                        """
                ),
                arguments: [deploymentID, rollout, targetVersion]
            )
            let started: Int = counts?["started"] ?? 0
            let failed: Int = counts?["failed"] ?? 0
            guard started > 0, failed * 100 > threshold * started else { return nil }
            let reason =
                "\(failed) of \(started) agents that started rollout \(rollout) failed, above the threshold of \(threshold) %"
            try Self.pause(db, deploymentID: deploymentID, rollout: rollout, reason: reason, at: now)
            let halted = try Self.deployment(db, name: report.deployment)
            let model = try Self.modelRow(db, name: halted.model)
            try Self.appendEvent(
                db,
                model: model,
                kind: .deploymentHalted,
                version: halted.targetVersion,
                subject: halted.name,
                from: DeploymentStatus.active.rawValue,
                to: DeploymentStatus.paused.rawValue,
                actor: .system,
                comment: reason,
                revision: model.revision,
                at: now
            )
            return halted
        }
    }
}

// MARK: - Helpers inside transactions

extension SQLiteMetadataStore {
    /// A failure of a rollout's version stays recorded when the agent then reports the baseline it went back to
    /// (same rollout, another version): it is what the fleet shows as the last error, and what the failure
    /// threshold and the desired state count. Only `active_version` and the time follow the newer report.
    static let keepsFailure = """
        agent_deployments.step IN ('failed', 'rolled_back') AND agent_deployments.rollout = excluded.rollout
            AND agent_deployments.version <> excluded.version
        """

    static func generation(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT generation FROM fleet_generation WHERE id = 1")) ?? 0
    }

    /// Pauses a deployment, keeping the new version for the agents that started its rollout (reported a step for its
    /// target version) and did not fail.
    static func pause(_ db: Database, deploymentID: Int64, rollout: Int64, reason: String?, at now: Date) throws {
        try db.execute(cached: "DELETE FROM deployment_members WHERE deployment_id = ?", arguments: [deploymentID])
        try db.execute(
            cached: """
                INSERT INTO deployment_members (deployment_id, agent_id)
                SELECT deployment_id, agent_id FROM agent_deployments
                WHERE deployment_id = ?1 AND rollout = ?2 AND step NOT IN ('failed', 'rolled_back')
                  AND version = (SELECT target_version FROM deployments WHERE id = ?1)
                """,
            arguments: [deploymentID, rollout]
        )
        try db.execute(
            cached: "UPDATE deployments SET status = 'paused', status_reason = ?, updated_at = ? WHERE id = ?",
            arguments: [reason, now, deploymentID]
        )
    }

    /// The READY version a selector names now, or nil.
    static func resolve(_ db: Database, modelID: Int64, _ selector: VersionSelector) throws -> Int? {
        switch selector {
        case .version(let number):
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT number FROM versions WHERE model_id = ? AND number = ? AND status = 'READY'"
                ),
                arguments: [modelID, number]
            )
        case .alias(let alias):
            try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT v.number FROM aliases a JOIN versions v ON v.id = a.version_id
                        WHERE a.model_id = ? AND a.alias = ? AND v.status = 'READY'
                        """
                ),
                arguments: [modelID, alias]
            )
        case .stage(let stage):
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT max(number) FROM versions WHERE model_id = ? AND stage = ? AND status = 'READY'"
                ),
                arguments: [modelID, stage.rawValue]
            )
        }
    }

    /// Deployments whose selector (or A/B other side) resolves to another version than the one stored.
    static func staleDeployments(_ db: Database) throws -> [Int64] {
        var stale: [Int64] = []
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM deployments")) {
            let selector = try VersionSelector(kind: row["selector_kind"], value: row["selector"])
            let modelID: Int64 = row["model_id"]
            if let resolved = try resolve(db, modelID: modelID, selector), resolved != row["target_version"] {
                stale.append(row["id"])
                continue
            }
            if let kind = row["b_selector_kind"] as String?, let value = row["b_selector"] as String?,
                let resolved = try resolve(db, modelID: modelID, try VersionSelector(kind: kind, value: value)),
                resolved != row["b_version"]
            {
                stale.append(row["id"])
            }
        }
        return stale
    }

    /// Starts a new rollout for every deployment whose selector moved: the previous target becomes the baseline, the
    /// status goes back to active and the paused members are forgotten. Appends `deployment.rollout` events.
    static func startRollouts(_ db: Database, at now: Date) throws {
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM deployments")) {
            let id: Int64 = row["id"]
            let modelID: Int64 = row["model_id"]
            let name: String = row["name"]
            let selector = try VersionSelector(kind: row["selector_kind"], value: row["selector"])
            let stored: Int? = row["target_version"]
            if let resolved = try resolve(db, modelID: modelID, selector), resolved != stored {
                let rollout: Int64 = row["rollout"] + 1
                try db.execute(
                    cached: """
                        UPDATE deployments SET baseline_version = target_version, target_version = ?, rollout = ?,
                            status = 'active', status_reason = NULL, updated_at = ?
                        WHERE id = ?
                        """,
                    arguments: [resolved, rollout, now, id]
                )
                try db.execute(cached: "DELETE FROM deployment_members WHERE deployment_id = ?", arguments: [id])
                let model = try modelRow(db, id: modelID)
                try appendEvent(
                    db,
                    model: model,
                    kind: .deploymentRollout,
                    version: resolved,
                    subject: name,
                    from: stored.map(String.init),
                    to: String(resolved),
                    actor: .system,
                    comment: "rollout \(rollout): \(model.name)\(selector) is now version \(resolved)",
                    revision: model.revision,
                    at: now
                )
            }
            if let kind = row["b_selector_kind"] as String?, let value = row["b_selector"] as String?,
                let resolved = try resolve(db, modelID: modelID, try VersionSelector(kind: kind, value: value)),
                resolved != row["b_version"]
            {
                try db.execute(
                    cached: "UPDATE deployments SET b_version = ?, updated_at = ? WHERE id = ?",
                    arguments: [resolved, now, id]
                )
            }
        }
    }

    static func modelRow(_ db: Database, id: Int64) throws -> ModelRow {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT name, revision FROM models WHERE id = ?"),
                arguments: [id]
            )
        else { throw RegistryError.notFound("model \(id) does not exist") }
        return ModelRow(id: id, name: row["name"], revision: row["revision"])
    }

    static func snapshot(_ db: Database) throws -> FleetSnapshot {
        let generation = try generation(db)
        let agents = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM agents ORDER BY name")).map(agentRecord)
        let deployments = try allDeployments(db)
        var versions: [String: [Int: DeployableVersion]] = [:]
        for deployment in deployments {
            let numbers = [deployment.targetVersion, deployment.baselineVersion, deployment.otherVersion]
                .compactMap { $0 }
            for number in numbers where versions[deployment.model]?[number] == nil {
                if let version = try deployableVersion(db, model: deployment.model, number: number) {
                    versions[deployment.model, default: [:]][number] = version
                }
            }
        }
        var members: [String: Set<Int64>] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT d.name, m.agent_id FROM deployment_members m JOIN deployments d ON d.id = m.deployment_id"
            )
        ) {
            members[row[0], default: []].insert(row[1])
        }
        var states: [String: [Int64: AgentDeploymentState]] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT s.*, d.name AS deployment_name FROM agent_deployments s JOIN deployments d ON d.id = s.deployment_id"
            )
        ) {
            let state = agentDeploymentState(row)
            states[state.deployment, default: [:]][state.agentID] = state
        }
        return FleetSnapshot(
            generation: generation,
            agents: agents,
            deployments: deployments,
            versions: versions,
            members: members,
            states: states
        )
    }

    static func deployableVersion(_ db: Database, model: String, number: Int) throws -> DeployableVersion? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT v.id, v.label FROM versions v JOIN models m ON m.id = v.model_id
                        WHERE m.name = ? AND v.number = ? AND v.status = 'READY'
                        """
                ),
                arguments: [model, number]
            )
        else { return nil }
        let files = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT path, size, digest FROM version_files WHERE version_id = ? ORDER BY path"),
            arguments: [row["id"] as Int64]
        ).map { DesiredFile(path: $0["path"], size: $0["size"], digest: $0["digest"]) }
        return DeployableVersion(number: number, label: row["label"], files: files)
    }

    static func agentDeploymentState(_ row: Row) -> AgentDeploymentState {
        AgentDeploymentState(
            agentID: row["agent_id"],
            deployment: row["deployment_name"],
            rollout: row["rollout"],
            version: row["version"],
            step: AgentStep(rawValue: row["step"]) ?? .failed,
            bytesDone: row["bytes_done"],
            bytesTotal: row["bytes_total"],
            error: row["error"],
            activeVersion: row["active_version"],
            updatedAt: row["updated_at"]
        )
    }

    static func deploymentID(_ db: Database, name: String) throws -> Int64 {
        guard
            let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM deployments WHERE name = ?"),
                arguments: [name]
            )
        else { throw RegistryError.notFound("deployment '\(Validation.printable(name))' does not exist") }
        return id
    }

    static let deploymentColumns =
        "SELECT d.*, m.name AS model_name FROM deployments d JOIN models m ON m.id = d.model_id"

    static func deployment(_ db: Database, name: String) throws -> Deployment {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: deploymentColumns + " WHERE d.name = ?"),
                arguments: [name]
            )
        else { throw RegistryError.notFound("deployment '\(Validation.printable(name))' does not exist") }
        return try deployment(row)
    }

    static func allDeployments(_ db: Database) throws -> [Deployment] {
        try Row.fetchAll(db.cachedStatement(sql: deploymentColumns + " ORDER BY d.name")).map(deployment)
    }

    static func deployment(_ row: Row) throws -> Deployment {
        let percent: Int = row["percent"]
        let strategy: DeploymentStrategy
        switch row["strategy"] as String {
        case "canary": strategy = .canary(percent: percent)
        case "ab":
            strategy = .ab(
                percent: percent,
                other: try VersionSelector(kind: row["b_selector_kind"], value: row["b_selector"])
            )
        default: strategy = .all
        }
        let command: String? = row["health_command"]
        return Deployment(
            name: row["name"],
            model: row["model_name"],
            selector: try VersionSelector(kind: row["selector_kind"], value: row["selector"]),
            target: (try? LabelSelector(parsing: row["target"])) ?? LabelSelector(),
            strategy: strategy,
            healthCheck: command.map { HealthCheck(command: $0, timeoutSeconds: row["health_timeout"]) },
            failureThreshold: row["failure_threshold"],
            status: DeploymentStatus(rawValue: row["status"]) ?? .paused,
            statusReason: row["status_reason"],
            rollout: row["rollout"],
            targetVersion: row["target_version"],
            baselineVersion: row["baseline_version"],
            otherVersion: row["b_version"],
            createdBy: row["created_by"],
            createdAt: row["created_at"],
            updatedAt: row["updated_at"]
        )
    }

    static func agentRow(_ db: Database, name: String) throws -> Row {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM agents WHERE name = ?"),
                arguments: [name]
            )
        else { throw RegistryError.notFound("agent '\(Validation.printable(name))' is not enrolled") }
        return row
    }

    static func agentRecord(_ row: Row) throws -> AgentRecord {
        AgentRecord(
            id: row["id"],
            name: row["name"],
            labels: try labels(row["labels"]),
            enrolledAt: row["enrolled_at"],
            lastSeen: row["last_seen"]
        )
    }

    static func enrollmentTokenRecord(_ row: Row) throws -> EnrollmentTokenRecord {
        EnrollmentTokenRecord(
            id: row["id"],
            labels: try labels(row["labels"]),
            description: row["description"],
            createdBy: row["created_by"],
            createdAt: row["created_at"],
            expiresAt: row["expires_at"],
            usedAt: row["used_at"],
            usedBy: row["used_by"],
            revokedAt: row["revoked_at"]
        )
    }

    static func labelsJSON(_ labels: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(labels), as: UTF8.self)
    }

    static func labels(_ text: String) throws -> [String: String] {
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw RegistryError(.internal, "stored labels are not a JSON object of strings: \(error)")
        }
    }

    static func strategyText(_ strategy: DeploymentStrategy) -> String {
        switch strategy {
        case .all: "all"
        case .canary(let percent): "canary:\(percent)"
        case .ab(let percent, let other): "ab:\(percent) other \(other)"
        }
    }

    static func summary(_ new: NewDeployment) -> String {
        "\(new.model)\(new.selector) to '\(new.target)' \(strategyText(new.strategy))"
            + (new.failureThreshold.map { ", halt above \($0) % failed" } ?? "")
    }
}
