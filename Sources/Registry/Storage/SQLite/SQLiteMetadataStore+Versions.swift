import Foundation
import GRDB
public import Packager

extension SQLiteMetadataStore {
    public func createVersion(model name: String, _ new: NewVersion, actor: Principal) async throws -> ModelVersion {
        try await createVersion(model: name, new, committedAs: nil, actor: actor)
    }

    public func createVersion(
        model name: String,
        _ new: NewVersion,
        committedAs format: ModelFormat?,
        actor: Principal
    ) async throws -> ModelVersion {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            if let label = new.label,
                let existing = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT number FROM versions WHERE model_id = ? AND label = ?"),
                    arguments: [model.id, label]
                )
            {
                throw RegistryError(
                    .alreadyExists,
                    "model '\(name)' already has a version labelled '\(label)' (version \(existing))"
                )
            }
            let number =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: "UPDATE models SET last_number = last_number + 1 WHERE id = ? RETURNING last_number"
                    ),
                    arguments: [model.id]
                ) ?? 0
            try db.execute(
                cached: """
                    INSERT INTO versions
                        (model_id, number, label, status, format, description, run_id, source, git_commit, dataset_digest,
                         created_by, created_at, updated_at, mlflow_model_id)
                    VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    model.id, number, new.label, new.format, new.description, new.lineage.runID, new.lineage.source,
                    new.lineage.gitCommit, new.lineage.datasetDigest, actor.id, now, now, new.lineage.loggedModelID,
                ]
            )
            let versionID = db.lastInsertedRowID
            for file in new.files {
                try db.execute(
                    cached: "INSERT INTO version_files (version_id, path, size, digest, role) VALUES (?, ?, ?, ?, ?)",
                    arguments: [versionID, file.path, file.size, file.digest.description, file.role.rawValue]
                )
            }
            for (key, value) in new.metrics {
                try db.execute(
                    cached: "INSERT INTO version_metrics (version_id, key, value) VALUES (?, ?, ?)",
                    arguments: [versionID, key, value]
                )
            }
            for (key, value) in new.params {
                try db.execute(
                    cached: "INSERT INTO version_params (version_id, key, value) VALUES (?, ?, ?)",
                    arguments: [versionID, key, value]
                )
            }
            try Self.applyTags(db, table: "version_tags", owner: "version_id", id: versionID, set: new.tags, remove: [])
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            try Self.appendEvent(
                db,
                model: model,
                kind: .versionCreated,
                version: number,
                to: VersionStatus.pending.rawValue,
                actor: actor,
                revision: revision,
                at: now
            )
            if let format {
                try Self.markReady(db, model: model, versionID: versionID, number: number, format: format, actor, now)
            }
            return try Self.fetchVersion(db, model: model, where: "v.id = ?", [versionID])
        }
    }

    public func version(model name: String, number: Int) async throws -> ModelVersion {
        try await read { db in
            let model = try Self.modelRow(db, name: name)
            return try Self.fetchVersion(
                db,
                model: model,
                where: "v.model_id = ? AND v.number = ?",
                [model.id, number]
            ) {
                "model '\(name)' has no version \(number)" + Self.latestHint(db, model: model)
            }
        }
    }

    public func version(model name: String, label: String) async throws -> ModelVersion {
        try await read { db in
            let model = try Self.modelRow(db, name: name)
            return try Self.fetchVersion(db, model: model, where: "v.model_id = ? AND v.label = ?", [model.id, label]) {
                "model '\(name)' has no version labelled '\(Validation.printable(label))'"
            }
        }
    }

    public func version(model name: String, alias: String) async throws -> ModelVersion {
        try await read { db in
            let model = try Self.modelRow(db, name: name)
            return try Self.fetchVersion(
                db,
                model: model,
                where: "v.id = (SELECT version_id FROM aliases WHERE model_id = ? AND alias = ?)",
                [model.id, alias]
            ) {
                let aliases =
                    (try? String.fetchAll(
                        db.cachedStatement(sql: "SELECT alias FROM aliases WHERE model_id = ? ORDER BY alias"),
                        arguments: [model.id]
                    )) ?? []
                let known = aliases.isEmpty ? "it has no aliases" : "aliases: " + aliases.joined(separator: ", ")
                return "model '\(name)' has no alias '\(Validation.printable(alias))' (\(known))"
            }
        }
    }

    public func version(model name: String, stage: Stage) async throws -> ModelVersion {
        try await read { db in
            let model = try Self.modelRow(db, name: name)
            return try Self.fetchVersion(
                db,
                model: model,
                where: "v.id = (SELECT id FROM versions WHERE model_id = ? AND stage = ? ORDER BY number DESC LIMIT 1)",
                [model.id, stage.rawValue]
            ) {
                "model '\(name)' has no version in stage \(stage.rawValue)"
            }
        }
    }

    public func versions(matching query: VersionQuery) async throws -> Page<ModelVersion> {
        let after = try query.pageToken.map { token throws -> Int in
            guard let number = Int(try Self.decodePageToken(token)) else {
                throw RegistryError.invalid(
                    "invalid page_token '\(Validation.printable(token))': pass the value of next_page_token unchanged"
                )
            }
            return number
        }
        return try await read { db in
            let model = try Self.modelRow(db, name: query.model)
            var conditions = ["v.model_id = ?"]
            var arguments: StatementArguments = [model.id]
            if let stage = query.stage {
                conditions.append("v.stage = ?")
                _ = arguments.append(contentsOf: [stage.rawValue])
            }
            if let status = query.status {
                conditions.append("v.status = ?")
                _ = arguments.append(contentsOf: [status.rawValue])
            }
            if let label = query.label {
                conditions.append("v.label = ?")
                _ = arguments.append(contentsOf: [label])
            }
            for tag in query.tags {
                if let value = tag.value {
                    conditions.append(
                        "EXISTS (SELECT 1 FROM version_tags t WHERE t.version_id = v.id AND t.key = ? AND t.value = ?)"
                    )
                    _ = arguments.append(contentsOf: [tag.key, value])
                } else {
                    conditions.append("EXISTS (SELECT 1 FROM version_tags t WHERE t.version_id = v.id AND t.key = ?)")
                    _ = arguments.append(contentsOf: [tag.key])
                }
            }
            for metric in query.metrics {
                conditions.append(
                    "EXISTS (SELECT 1 FROM version_metrics m WHERE m.version_id = v.id AND m.key = ? AND m.value \(metric.comparison.rawValue) ?)"
                )
                _ = arguments.append(contentsOf: [metric.key, metric.value])
            }
            if let after {
                conditions.append(query.ascending ? "v.number > ?" : "v.number < ?")
                _ = arguments.append(contentsOf: [after])
            }
            _ = arguments.append(contentsOf: [query.limit + 1])
            let ids = try Int64.fetchAll(
                db,
                sql:
                    "SELECT v.id FROM versions v WHERE \(conditions.joined(separator: " AND ")) ORDER BY v.number \(query.ascending ? "ASC" : "DESC") LIMIT ?",
                arguments: arguments
            )
            let versions = try ids.prefix(query.limit).map {
                try Self.fetchVersion(db, model: model, where: "v.id = ?", [$0])
            }
            let next = ids.count > query.limit ? versions.last.map { Self.encodePageToken(String($0.number)) } : nil
            return Page(items: versions, nextPageToken: next)
        }
    }

    public func updateVersion(
        model name: String,
        number: Int,
        _ update: MetadataUpdate,
        actor: Principal
    ) async throws
        -> ModelVersion
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            let versionID = try Self.versionID(db, model: model, number: number)
            if let description = update.description {
                try db.execute(
                    cached: "UPDATE versions SET description = ?, updated_at = ? WHERE id = ?",
                    arguments: [description, now, versionID]
                )
            }
            try Self.applyTags(
                db,
                table: "version_tags",
                owner: "version_id",
                id: versionID,
                set: update.setTags,
                remove: update.removeTags
            )
            for (key, value) in update.setMetrics {
                try db.execute(
                    cached:
                        "INSERT INTO version_metrics (version_id, key, value) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                    arguments: [versionID, key, value]
                )
            }
            try db.execute(cached: "UPDATE versions SET updated_at = ? WHERE id = ?", arguments: [now, versionID])
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            try Self.appendEvent(
                db,
                model: model,
                kind: .versionUpdated,
                version: number,
                details: Self.describe(update),
                actor: actor,
                revision: revision,
                at: now
            )
            return try Self.fetchVersion(db, model: model, where: "v.id = ?", [versionID])
        }
    }

    public func commitVersion(
        model name: String,
        number: Int,
        format: ModelFormat,
        actor: Principal
    ) async throws
        -> ModelVersion
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            let versionID = try Self.versionID(db, model: model, number: number)
            let status = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM versions WHERE id = ?"),
                arguments: [versionID]
            )
            switch status.flatMap(VersionStatus.init(rawValue:)) {
            case .ready:
                return try Self.fetchVersion(db, model: model, where: "v.id = ?", [versionID])
            case .failed:
                throw RegistryError.conflict(
                    "version \(number) of model '\(name)' has FAILED and cannot be committed; create a new version"
                )
            case .pending, nil:
                break
            }
            try Self.markReady(db, model: model, versionID: versionID, number: number, format: format, actor, now)
            return try Self.fetchVersion(db, model: model, where: "v.id = ?", [versionID])
        }
    }

    /// PENDING → READY inside a transaction, with its `version.committed` event.
    static func markReady(
        _ db: Database,
        model: ModelRow,
        versionID: Int64,
        number: Int,
        format: ModelFormat,
        _ actor: Principal,
        _ now: Date
    ) throws {
        try db.execute(
            cached: "UPDATE versions SET status = 'READY', format = ?, updated_at = ? WHERE id = ?",
            arguments: [format.rawValue, now, versionID]
        )
        let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
        try Self.appendEvent(
            db,
            model: model,
            kind: .versionCommitted,
            version: number,
            from: VersionStatus.pending.rawValue,
            to: VersionStatus.ready.rawValue,
            actor: actor,
            revision: revision,
            at: now
        )
    }

    public func failVersion(
        model name: String,
        number: Int,
        reason: String,
        actor: Principal
    ) async throws
        -> ModelVersion
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            let versionID = try Self.versionID(db, model: model, number: number)
            let status = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM versions WHERE id = ?"),
                arguments: [versionID]
            )
            guard status == VersionStatus.pending.rawValue else {
                throw RegistryError.conflict(
                    "version \(number) of model '\(name)' is \(status ?? "?"): only a PENDING version can be marked FAILED"
                )
            }
            try db.execute(
                cached: "UPDATE versions SET status = 'FAILED', failure_reason = ?, updated_at = ? WHERE id = ?",
                arguments: [reason, now, versionID]
            )
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            try Self.appendEvent(
                db,
                model: model,
                kind: .versionFailed,
                version: number,
                from: VersionStatus.pending.rawValue,
                to: VersionStatus.failed.rawValue,
                actor: actor,
                comment: reason,
                revision: revision,
                at: now
            )
            return try Self.fetchVersion(db, model: model, where: "v.id = ?", [versionID])
        }
    }

    // MARK: Helpers

    static func versionID(_ db: Database, model: ModelRow, number: Int) throws -> Int64 {
        guard
            let id = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM versions WHERE model_id = ? AND number = ?"),
                arguments: [model.id, number]
            )
        else {
            throw RegistryError.notFound(
                "model '\(model.name)' has no version \(number)" + latestHint(db, model: model)
            )
        }
        return id
    }

    static func latestHint(_ db: Database, model: ModelRow) -> String {
        let latest =
            (try? Int.fetchOne(
                db.cachedStatement(sql: "SELECT last_number FROM models WHERE id = ?"),
                arguments: [model.id]
            )) ?? 0
        return latest == 0 ? " (it has no versions yet)" : " (latest is \(latest))"
    }

    static let versionColumns = """
        v.id, v.number, v.label, v.status, v.stage, v.format, v.run_id, v.source, v.git_commit, v.dataset_digest,
        v.description, v.failure_reason, v.created_by, v.created_at, v.updated_at, v.mlflow_model_id
        """

    /// Loads one version with its files and metadata in three cached statements (version row, files, and the
    /// metrics, params, tags and aliases together). Columns are read by position: this is the hot path of every
    /// resolve.
    static func fetchVersion(
        _ db: Database,
        model: ModelRow,
        where condition: String,
        _ arguments: StatementArguments,
        notFound: () -> String = { "version not found" }
    ) throws -> ModelVersion {
        let statement = try db.cachedStatement(sql: "SELECT \(versionColumns) FROM versions v WHERE \(condition)")
        guard let row = try Row.fetchOne(statement, arguments: arguments) else {
            throw RegistryError.notFound(notFound())
        }
        let id: Int64 = row[0]
        let files = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT path, size, digest, role FROM version_files WHERE version_id = ? ORDER BY path"
            ),
            arguments: [id]
        ).map { file in
            VersionFile(
                path: file[0],
                size: file[1],
                digest: Digest(validatedHex: String((file[2] as String).dropFirst(7))),
                role: FileRole(rawValue: file[3]) ?? .other
            )
        }
        var metrics: [String: Double] = [:]
        var params: [String: String] = [:]
        var tags: [String: String] = [:]
        var aliases: [String] = []
        let details = try db.cachedStatement(
            sql: """
                SELECT 0, key, value FROM version_metrics WHERE version_id = ?1
                UNION ALL SELECT 1, key, value FROM version_params WHERE version_id = ?1
                UNION ALL SELECT 2, key, value FROM version_tags WHERE version_id = ?1
                UNION ALL SELECT 3, alias, NULL FROM aliases WHERE version_id = ?1
                """
        )
        let cursor = try Row.fetchCursor(details, arguments: [id])
        while let detail = try cursor.next() {
            switch detail[0] as Int {
            case 0: metrics[detail[1]] = detail[2]
            case 1: params[detail[1]] = detail[2]
            case 2: tags[detail[1]] = detail[2]
            default: aliases.append(detail[1])
            }
        }
        let format: String? = row[5]
        return ModelVersion(
            model: model.name,
            number: row[1],
            label: row[2],
            status: VersionStatus(rawValue: row[3]) ?? .failed,
            stage: Stage(rawValue: row[4]) ?? .none,
            aliases: aliases.sorted(),
            format: format.flatMap(ModelFormat.init(rawValue:)),
            files: files,
            metrics: metrics,
            params: params,
            tags: tags,
            lineage: Lineage(
                runID: row[6],
                source: row[7],
                gitCommit: row[8],
                datasetDigest: row[9],
                loggedModelID: row[15]
            ),
            description: row[10],
            failureReason: row[11],
            createdBy: row[12],
            createdAt: row[13],
            updatedAt: row[14]
        )
    }
}
