import Foundation
import GRDB

extension SQLiteMetadataStore {
    public func createModel(
        name: String,
        description: String,
        tags: [String: String],
        actor: Principal
    ) async throws
        -> Model
    {
        let now = clock()
        do {
            return try await write { db in
                try db.execute(
                    cached: "INSERT INTO models (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    arguments: [name, description, now, now]
                )
                let model = ModelRow(id: db.lastInsertedRowID, name: name, revision: 1)
                try Self.applyTags(db, table: "model_tags", owner: "model_id", id: model.id, set: tags, remove: [])
                try Self.appendEvent(db, model: model, kind: .modelCreated, actor: actor, revision: 1, at: now)
                return try Self.fetchModel(db, id: model.id)
            }
        } catch let error as RegistryError where error.code == .alreadyExists {
            throw RegistryError(.alreadyExists, "model '\(name)' already exists")
        }
    }

    public func model(named name: String) async throws -> Model {
        try await read { db in try Self.fetchModel(db, id: Self.modelRow(db, name: name).id) }
    }

    public func models(matching query: ModelQuery) async throws -> Page<Model> {
        let after = try query.pageToken.map { try Self.decodePageToken($0) }
        return try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let prefix = query.namePrefix, !prefix.isEmpty {
                conditions.append("substr(name, 1, ?) = ?")
                _ = arguments.append(contentsOf: [prefix.unicodeScalars.count, prefix])
            }
            for tag in query.tags {
                if let value = tag.value {
                    conditions.append(
                        "EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = models.id AND t.key = ? AND t.value = ?)"
                    )
                    _ = arguments.append(contentsOf: [tag.key, value])
                } else {
                    conditions.append("EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = models.id AND t.key = ?)")
                    _ = arguments.append(contentsOf: [tag.key])
                }
            }
            if let visible = query.visibleTo {
                // Only the models the caller may read: its patterns (GLOB: model names cannot hold GLOB's other
                // special characters) or, for a device, its names.
                var allowed = visible.patterns.map { _ in "name GLOB ?" }
                _ = arguments.append(contentsOf: StatementArguments(visible.patterns.map(\.text)))
                if !visible.names.isEmpty {
                    allowed.append("name IN (\(visible.names.map { _ in "?" }.joined(separator: ", ")))")
                    _ = arguments.append(contentsOf: StatementArguments(visible.names.sorted()))
                }
                conditions.append(allowed.isEmpty ? "0" : "(" + allowed.joined(separator: " OR ") + ")")
            }
            if let after {
                conditions.append("name > ?")
                _ = arguments.append(contentsOf: [after])
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            _ = arguments.append(contentsOf: [query.limit + 1])
            let ids = try Int64.fetchAll(
                db,
                sql: "SELECT id FROM models \(whereClause) ORDER BY name LIMIT ?",
                arguments: arguments
            )
            var models = try ids.prefix(query.limit).map { try Self.fetchModel(db, id: $0) }
            models = Array(models)
            let next = ids.count > query.limit ? models.last.map { Self.encodePageToken($0.name) } : nil
            return Page(items: models, nextPageToken: next)
        }
    }

    public func updateModel(
        named name: String,
        _ update: MetadataUpdate,
        expectedRevision: Int64?,
        actor: Principal
    )
        async throws -> Model
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            if let description = update.description {
                try db.execute(
                    cached: "UPDATE models SET description = ? WHERE id = ?",
                    arguments: [description, model.id]
                )
            }
            try Self.applyTags(
                db,
                table: "model_tags",
                owner: "model_id",
                id: model.id,
                set: update.setTags,
                remove: update.removeTags
            )
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            try Self.appendEvent(
                db,
                model: model,
                kind: .modelUpdated,
                details: Self.describe(update),
                actor: actor,
                revision: revision,
                at: now
            )
            return try Self.fetchModel(db, id: model.id)
        }
    }

    public func deleteModel(named name: String, force: Bool, expectedRevision: Int64?, actor: Principal) async throws {
        let now = clock()
        try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            if !force {
                let aliases = try String.fetchAll(
                    db.cachedStatement(sql: "SELECT alias FROM aliases WHERE model_id = ? ORDER BY alias"),
                    arguments: [model.id]
                )
                let staged = try Row.fetchAll(
                    db.cachedStatement(
                        sql:
                            "SELECT number, stage FROM versions WHERE model_id = ? AND stage IN ('Staging', 'Production') ORDER BY number"
                    ),
                    arguments: [model.id]
                ).map { "version \($0["number"] as Int) is in \($0["stage"] as String)" }
                let holders = aliases.map { "alias '\($0)'" } + staged
                if !holders.isEmpty {
                    throw RegistryError.conflict(
                        "model '\(name)' is still in use (\(holders.joined(separator: ", "))): move them first or delete with force"
                    )
                }
            }
            try Self.appendEvent(
                db,
                model: model,
                kind: .modelDeleted,
                details: force ? "force" : nil,
                actor: actor,
                revision: model.revision + 1,
                at: now
            )
            try db.execute(cached: "DELETE FROM models WHERE id = ?", arguments: [model.id])
        }
    }

    // MARK: Helpers

    static func fetchModel(_ db: Database, id: Int64) throws -> Model {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM models WHERE id = ?"), arguments: [id])
        else {
            throw RegistryError(.internal, "model #\(id) vanished inside a transaction")
        }
        var aliases: [String: Int] = [:]
        for alias in try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT a.alias, v.number FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model_id = ?"
            ),
            arguments: [id]
        ) {
            aliases[alias["alias"]] = alias["number"]
        }
        // The highest number still there (a deleted version's number is never reused, but is not the latest).
        let lastNumber =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(number) FROM versions WHERE model_id = ?"),
                arguments: [id]
            ) ?? 0
        return Model(
            name: row["name"],
            description: row["description"],
            tags: try keyValues(db, table: "model_tags", owner: "model_id", id: id),
            revision: row["revision"],
            latestVersion: lastNumber > 0 ? lastNumber : nil,
            aliases: aliases,
            createdAt: row["created_at"],
            updatedAt: row["updated_at"]
        )
    }

    /// A short, deterministic summary of a metadata change for the audit trail.
    static func describe(_ update: MetadataUpdate) -> String {
        var parts: [String] = []
        if update.description != nil { parts.append("description") }
        if !update.setTags.isEmpty { parts.append("set tags " + update.setTags.keys.sorted().joined(separator: ",")) }
        if !update.removeTags.isEmpty {
            parts.append("removed tags " + update.removeTags.sorted().joined(separator: ","))
        }
        if !update.setMetrics.isEmpty {
            parts.append("set metrics " + update.setMetrics.keys.sorted().joined(separator: ","))
        }
        return parts.joined(separator: "; ")
    }
}

extension SQLiteMetadataStore {
    public func renameModel(named name: String, to newName: String, actor: Principal) async throws -> Model {
        let now = clock()
        do {
            return try await write { db in
                let model = try Self.modelRow(db, name: name)
                try db.execute(cached: "UPDATE models SET name = ? WHERE id = ?", arguments: [newName, model.id])
                // Devices given this model by name keep it under its new name (and get nothing created later under
                // the old one).
                try db.execute(
                    cached: "UPDATE OR IGNORE device_models SET model_name = ? WHERE model_name = ?",
                    arguments: [newName, name]
                )
                try db.execute(cached: "DELETE FROM device_models WHERE model_name = ?", arguments: [name])
                let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
                try Self.appendEvent(
                    db,
                    model: ModelRow(id: model.id, name: newName, revision: revision),
                    kind: .modelRenamed,
                    from: name,
                    to: newName,
                    actor: actor,
                    revision: revision,
                    at: now
                )
                return try Self.fetchModel(db, id: model.id)
            }
        } catch let error as RegistryError where error.code == .alreadyExists {
            throw RegistryError(.alreadyExists, "cannot rename model '\(name)': model '\(newName)' already exists")
        }
    }

    public func deleteVersion(model name: String, number: Int, actor: Principal) async throws {
        let now = clock()
        try await write { db in
            let model = try Self.modelRow(db, name: name)
            let versionID = try Self.versionID(db, model: model, number: number)
            let aliases = try String.fetchAll(
                db.cachedStatement(sql: "SELECT alias FROM aliases WHERE version_id = ? ORDER BY alias"),
                arguments: [versionID]
            )
            let stage = try String.fetchOne(
                db.cachedStatement(sql: "SELECT stage FROM versions WHERE id = ?"),
                arguments: [versionID]
            )
            try db.execute(cached: "DELETE FROM versions WHERE id = ?", arguments: [versionID])
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            // Each alias that pointed to it is deleted with its own event, so alias history and rollback stay exact.
            for alias in aliases {
                try Self.appendEvent(
                    db,
                    model: model,
                    kind: .aliasDeleted,
                    version: number,
                    subject: alias,
                    from: String(number),
                    details: "version \(number) deleted",
                    actor: actor,
                    revision: revision,
                    at: now
                )
            }
            var details = stage.map { "stage \($0)" } ?? ""
            if !aliases.isEmpty { details += "; aliases removed: " + aliases.joined(separator: ",") }
            try Self.appendEvent(
                db,
                model: model,
                kind: .versionDeleted,
                version: number,
                details: details,
                actor: actor,
                revision: revision,
                at: now
            )
        }
    }
}
