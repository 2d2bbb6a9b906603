import Foundation
import GRDB

extension SQLiteMetadataStore {
    public func setStage(
        model name: String,
        number: Int,
        stage: Stage,
        archiveExisting: Bool,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    ) async throws -> StageChange {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            let versionID = try Self.versionID(db, model: model, number: number)
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT status, stage FROM versions WHERE id = ?"),
                arguments: [versionID]
            )!
            let status: String = row["status"]
            if stage != .none, status != VersionStatus.ready.rawValue {
                throw RegistryError.conflict(
                    "version \(number) of model '\(name)' is \(status): only READY versions can be moved to a stage"
                )
            }
            let current = Stage(rawValue: row["stage"]) ?? .none
            let before = try Self.holders(db, modelID: model.id, stage: stage)
            var moves = [StageMove(version: number, from: current, to: stage)]
            if archiveExisting, stage != .archived, stage != .none {
                moves += before.filter { $0 != number }.map { StageMove(version: $0, from: stage, to: .archived) }
            }
            try Self.apply(db, modelID: model.id, moves: moves, at: now)
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            let eventID = try Self.appendEvent(
                db,
                model: model,
                kind: .stageChanged,
                version: number,
                subject: stage.rawValue,
                from: current.rawValue,
                to: stage.rawValue,
                details: try Self.encode(moves),
                actor: actor,
                comment: comment,
                revision: revision,
                at: now
            )
            return StageChange(
                model: name,
                stage: stage,
                holdersBefore: before,
                holdersAfter: try Self.holders(db, modelID: model.id, stage: stage),
                moves: moves,
                revision: revision,
                eventID: eventID
            )
        }
    }

    public func rollbackStage(
        model name: String,
        stage: Stage,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> StageChange
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            guard
                let event = try Self.lastUnrevertedEvent(
                    db,
                    modelID: model.id,
                    kinds: [.stageChanged],
                    subject: stage.rawValue
                )
            else {
                throw RegistryError.conflict(
                    "model '\(name)' has no stage change to \(stage.rawValue) left to roll back"
                )
            }
            let eventID: Int64 = event["id"]
            let moves = try JSONDecoder().decode(
                [StageMove].self,
                from: Data((event["details"] as String? ?? "[]").utf8)
            )
            for move in moves {
                let currentStage = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT stage FROM versions WHERE model_id = ? AND number = ?"),
                    arguments: [model.id, move.version]
                )
                guard currentStage == move.to.rawValue else {
                    throw RegistryError.conflict(
                        "cannot roll back \(stage.rawValue) of model '\(name)': version \(move.version) was moved to \(move.to.rawValue) by event #\(eventID) but is now \(currentStage ?? "deleted"); change the stage explicitly instead"
                    )
                }
            }
            let before = try Self.holders(db, modelID: model.id, stage: stage)
            let inverse = moves.map { StageMove(version: $0.version, from: $0.to, to: $0.from) }
            try Self.apply(db, modelID: model.id, moves: inverse, at: now)
            let after = try Self.holders(db, modelID: model.id, stage: stage)
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            let rollbackID = try Self.appendEvent(
                db,
                model: model,
                kind: .stageRolledBack,
                version: event["version"],
                subject: stage.rawValue,
                from: Self.list(before),
                to: Self.list(after),
                details: try Self.encode(inverse),
                actor: actor,
                comment: comment,
                revertsEventID: eventID,
                revision: revision,
                at: now
            )
            return StageChange(
                model: name,
                stage: stage,
                holdersBefore: before,
                holdersAfter: after,
                moves: inverse,
                revision: revision,
                eventID: rollbackID
            )
        }
    }

    public func setAlias(
        model name: String,
        alias: String,
        number: Int,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    ) async throws -> AliasChange {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            let versionID = try Self.versionID(db, model: model, number: number)
            let status = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM versions WHERE id = ?"),
                arguments: [versionID]
            )
            guard status == VersionStatus.ready.rawValue else {
                throw RegistryError.conflict(
                    "version \(number) of model '\(name)' is \(status ?? "?"): only READY versions can carry an alias"
                )
            }
            let previous = try Self.aliasTarget(db, modelID: model.id, alias: alias)
            try Self.point(db, modelID: model.id, alias: alias, to: versionID, at: now)
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            let eventID = try Self.appendEvent(
                db,
                model: model,
                kind: .aliasSet,
                version: number,
                subject: alias,
                from: previous.map(String.init),
                to: String(number),
                actor: actor,
                comment: comment,
                revision: revision,
                at: now
            )
            return AliasChange(
                model: name,
                alias: alias,
                from: previous,
                to: number,
                revision: revision,
                eventID: eventID
            )
        }
    }

    public func deleteAlias(
        model name: String,
        alias: String,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> AliasChange
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            guard let previous = try Self.aliasTarget(db, modelID: model.id, alias: alias) else {
                throw RegistryError.notFound("model '\(name)' has no alias '\(alias)'")
            }
            try db.execute(
                cached: "DELETE FROM aliases WHERE model_id = ? AND alias = ?",
                arguments: [model.id, alias]
            )
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            let eventID = try Self.appendEvent(
                db,
                model: model,
                kind: .aliasDeleted,
                version: previous,
                subject: alias,
                from: String(previous),
                actor: actor,
                comment: comment,
                revision: revision,
                at: now
            )
            return AliasChange(model: name, alias: alias, from: previous, to: nil, revision: revision, eventID: eventID)
        }
    }

    public func rollbackAlias(
        model name: String,
        alias: String,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> AliasChange
    {
        let now = clock()
        return try await write { db in
            let model = try Self.modelRow(db, name: name)
            try Self.checkRevision(model, expected: expectedRevision)
            guard
                let event = try Self.lastUnrevertedEvent(
                    db,
                    modelID: model.id,
                    kinds: [.aliasSet, .aliasDeleted],
                    subject: alias
                )
            else {
                throw RegistryError.conflict("alias '\(alias)' of model '\(name)' has no change left to roll back")
            }
            let eventID: Int64 = event["id"]
            let eventFrom = (event["from_value"] as String?).flatMap { Int($0) }
            let eventTo = (event["to_value"] as String?).flatMap { Int($0) }
            let current = try Self.aliasTarget(db, modelID: model.id, alias: alias)
            guard current == eventTo else {
                throw RegistryError.conflict(
                    "cannot roll back alias '\(alias)' of model '\(name)': it points to \(current.map { "version \($0)" } ?? "nothing") but event #\(eventID) left it at \(eventTo.map { "version \($0)" } ?? "nothing")"
                )
            }
            if let target = eventFrom {
                let versionID = try Self.versionID(db, model: model, number: target)
                try Self.point(db, modelID: model.id, alias: alias, to: versionID, at: now)
            } else {
                try db.execute(
                    cached: "DELETE FROM aliases WHERE model_id = ? AND alias = ?",
                    arguments: [model.id, alias]
                )
            }
            let revision = try Self.bumpRevision(db, modelID: model.id, at: now)
            let rollbackID = try Self.appendEvent(
                db,
                model: model,
                kind: .aliasRolledBack,
                version: eventFrom,
                subject: alias,
                from: current.map(String.init),
                to: eventFrom.map(String.init),
                actor: actor,
                comment: comment,
                revertsEventID: eventID,
                revision: revision,
                at: now
            )
            return AliasChange(
                model: name,
                alias: alias,
                from: current,
                to: eventFrom,
                revision: revision,
                eventID: rollbackID
            )
        }
    }

    // MARK: Helpers

    static func holders(_ db: Database, modelID: Int64, stage: Stage) throws -> [Int] {
        try Int.fetchAll(
            db.cachedStatement(sql: "SELECT number FROM versions WHERE model_id = ? AND stage = ? ORDER BY number"),
            arguments: [modelID, stage.rawValue]
        )
    }

    static func apply(_ db: Database, modelID: Int64, moves: [StageMove], at: Date) throws {
        for move in moves {
            try db.execute(
                cached: "UPDATE versions SET stage = ?, updated_at = ? WHERE model_id = ? AND number = ?",
                arguments: [move.to.rawValue, at, modelID, move.version]
            )
        }
    }

    static func aliasTarget(_ db: Database, modelID: Int64, alias: String) throws -> Int? {
        try Int.fetchOne(
            db.cachedStatement(
                sql:
                    "SELECT v.number FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model_id = ? AND a.alias = ?"
            ),
            arguments: [modelID, alias]
        )
    }

    static func point(_ db: Database, modelID: Int64, alias: String, to versionID: Int64, at: Date) throws {
        try db.execute(
            cached: """
                INSERT INTO aliases (model_id, alias, version_id, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at
                """,
            arguments: [modelID, alias, versionID, at]
        )
    }

    /// The newest event of the given kinds about `subject` that no rollback has undone yet.
    static func lastUnrevertedEvent(
        _ db: Database,
        modelID: Int64,
        kinds: [AuditEvent.Kind],
        subject: String
    ) throws -> Row? {
        let placeholders = kinds.map { _ in "?" }.joined(separator: ", ")
        var arguments: StatementArguments = [modelID]
        _ = arguments.append(contentsOf: StatementArguments(kinds.map(\.rawValue)))
        _ = arguments.append(contentsOf: [subject])
        return try Row.fetchOne(
            db,
            sql: """
                SELECT * FROM audit_events e
                WHERE e.model_id = ? AND e.kind IN (\(placeholders)) AND e.subject = ?
                  AND NOT EXISTS (SELECT 1 FROM audit_events r WHERE r.reverts_event_id = e.id)
                ORDER BY e.id DESC LIMIT 1
                """,
            arguments: arguments
        )
    }

    static func encode(_ moves: [StageMove]) throws -> String {
        String(decoding: try JSONEncoder().encode(moves), as: UTF8.self)
    }

    static func list(_ versions: [Int]) -> String {
        versions.isEmpty ? "none" : versions.map(String.init).joined(separator: ",")
    }
}
