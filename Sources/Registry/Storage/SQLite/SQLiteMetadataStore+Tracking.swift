import Foundation
import GRDB
import Packager

extension SQLiteMetadataStore {
    var nowMillis: Int64 { Int64((clock().timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Experiments

    public func createExperiment(name: String, tags: [String: String], actor: Principal) async throws -> Experiment {
        let now = nowMillis
        do {
            return try await write { db in
                try db.execute(
                    cached:
                        "INSERT INTO mlflow_experiments (name, created_by, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    arguments: [name, actor.id, now, now]
                )
                let id = db.lastInsertedRowID
                try Self.applyTags(
                    db,
                    table: "mlflow_experiment_tags",
                    owner: "experiment_id",
                    id: id,
                    set: tags,
                    remove: []
                )
                return try Self.fetchExperiment(db, where: "id = ?", [id], missing: "experiment \(id)")
            }
        } catch let error as RegistryError where error.code == .alreadyExists {
            throw RegistryError(.alreadyExists, "experiment '\(name)' already exists")
        }
    }

    public func experiment(id: Int64) async throws -> Experiment {
        try await read { db in
            try Self.fetchExperiment(db, where: "id = ?", [id], missing: "experiment with id \(id)")
        }
    }

    public func experiment(named name: String) async throws -> Experiment {
        try await read { db in
            try Self.fetchExperiment(
                db,
                where: "name = ?",
                [name],
                missing: "experiment '\(Validation.printable(name))'"
            )
        }
    }

    public func setExperimentTags(id: Int64, tags: [(String, String)]) async throws {
        let now = nowMillis
        try await write { db in
            _ = try Self.fetchExperiment(db, where: "id = ?", [id], missing: "experiment with id \(id)")
            try Self.applyTags(
                db,
                table: "mlflow_experiment_tags",
                owner: "experiment_id",
                id: id,
                set: Dictionary(tags, uniquingKeysWith: { _, last in last })
            )
            try db.execute(cached: "UPDATE mlflow_experiments SET updated_at = ? WHERE id = ?", arguments: [now, id])
        }
    }

    public func experiments() async throws -> [Experiment] {
        try await read { db in
            try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id FROM mlflow_experiments WHERE lifecycle_stage = 'active' ORDER BY id"
                )
            ).map { try Self.fetchExperiment(db, where: "id = ?", [$0], missing: "experiment \($0)") }
        }
    }

    static func fetchExperiment(
        _ db: Database,
        where condition: String,
        _ arguments: StatementArguments,
        missing: String
    ) throws -> Experiment {
        guard
            let row = try Row.fetchOne(
                db,
                sql: "SELECT * FROM mlflow_experiments WHERE \(condition)",
                arguments: arguments
            )
        else {
            throw RegistryError.notFound("\(missing) does not exist")
        }
        let id: Int64 = row["id"]
        var tags: [String: String] = [:]
        for tag in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT key, value FROM mlflow_experiment_tags WHERE experiment_id = ?"),
            arguments: [id]
        ) {
            tags[tag["key"]] = tag["value"]
        }
        return Experiment(
            id: id,
            name: row["name"],
            lifecycleStage: row["lifecycle_stage"],
            createdAt: row["created_at"],
            updatedAt: row["updated_at"],
            tags: tags
        )
    }

    // MARK: Runs

    public func createRun(
        experimentID: Int64,
        name: String,
        userID: String,
        startTime: Int64?,
        tags: [String: String],
        actor: Principal
    ) async throws -> Run {
        let id = Self.randomHex(bytes: 16)
        return try await write { db in
            let experiment = try Self.fetchExperiment(
                db,
                where: "id = ?",
                [experimentID],
                missing: "experiment with id \(experimentID)"
            )
            guard experiment.lifecycleStage == "active" else {
                throw RegistryError.invalid("experiment \(experimentID) is deleted: runs cannot be created in it")
            }
            try db.execute(
                cached: """
                    INSERT INTO mlflow_runs (id, experiment_id, name, user_id, start_time, created_by)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, experimentID, name, userID, startTime, actor.id]
            )
            try Self.applyTags(db, table: "mlflow_run_tags", owner: "run_id", id: id, set: tags)
            return try Self.fetchRun(db, id: id)
        }
    }

    public func run(id: String) async throws -> Run {
        try await read { db in try Self.fetchRun(db, id: id) }
    }

    public func runInfo(id: String) async throws -> Run {
        try await read { db in try Self.fetchRun(db, id: id, withData: false) }
    }

    public func updateRun(id: String, status: String?, endTime: Int64?, name: String?) async throws -> Run {
        try await write { db in
            _ = try Self.fetchRun(db, id: id)
            try db.execute(
                cached: """
                    UPDATE mlflow_runs SET status = coalesce(?, status), end_time = coalesce(?, end_time),
                        name = coalesce(?, name)
                    WHERE id = ?
                    """,
                arguments: [status, endTime, name, id]
            )
            return try Self.fetchRun(db, id: id)
        }
    }

    public func logBatch(
        runID: String,
        params: [(String, String)],
        metrics: [MetricValue],
        tags: [(String, String)]
    ) async throws {
        try await write { db in
            let run = try Self.fetchRun(db, id: runID)
            guard run.lifecycleStage == "active" else {
                throw RegistryError.invalid("run \(runID) is deleted: nothing can be logged to it")
            }
            for (key, value) in params {
                if let existing = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT value FROM mlflow_run_params WHERE run_id = ? AND key = ?"),
                    arguments: [runID, key]
                ) {
                    guard existing == value else {
                        throw RegistryError.invalid(
                            "param '\(Validation.printable(key))' of run \(runID) was already logged with value '\(Validation.printable(existing))': a param cannot change (new value '\(Validation.printable(value))')"
                        )
                    }
                    continue
                }
                try db.execute(
                    cached: "INSERT INTO mlflow_run_params (run_id, key, value) VALUES (?, ?, ?)",
                    arguments: [runID, key, value]
                )
            }
            for metric in metrics {
                try db.execute(
                    cached:
                        "INSERT INTO mlflow_run_metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)",
                    arguments: [runID, metric.key, metric.value, metric.timestamp, metric.step]
                )
            }
            try Self.applyTags(
                db,
                table: "mlflow_run_tags",
                owner: "run_id",
                id: runID,
                set: Dictionary(tags, uniquingKeysWith: { _, last in last })
            )
            if let name = tags.last(where: { $0.0 == "mlflow.runName" })?.1 {
                try db.execute(cached: "UPDATE mlflow_runs SET name = ? WHERE id = ?", arguments: [name, runID])
            }
        }
    }

    public func deleteRunTag(runID: String, key: String) async throws {
        try await write { db in
            _ = try Self.fetchRun(db, id: runID)
            try db.execute(cached: "DELETE FROM mlflow_run_tags WHERE run_id = ? AND key = ?", arguments: [runID, key])
            guard db.changesCount > 0 else {
                throw RegistryError.notFound("run \(runID) has no tag '\(Validation.printable(key))'")
            }
        }
    }

    public func metricHistory(runID: String, key: String) async throws -> [MetricValue] {
        try await read { db in
            _ = try Self.fetchRun(db, id: runID)
            return try Row.fetchAll(
                db.cachedStatement(
                    sql:
                        "SELECT value, timestamp, step FROM mlflow_run_metrics WHERE run_id = ? AND key = ? ORDER BY id"
                ),
                arguments: [runID, key]
            ).map { MetricValue(key: key, value: $0["value"], timestamp: $0["timestamp"], step: $0["step"]) }
        }
    }

    public func runs(experimentIDs: [Int64]) async throws -> [Run] {
        try await read { db in
            let placeholders = experimentIDs.map { _ in "?" }.joined(separator: ", ")
            return try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM mlflow_runs WHERE lifecycle_stage = 'active' AND experiment_id IN (\(placeholders))
                    ORDER BY start_time DESC, id
                    """,
                arguments: StatementArguments(experimentIDs)
            ).map { try Self.fetchRun(db, id: $0) }
        }
    }

    public func recordRunOutputs(runID: String, _ outputs: [RunOutput]) async throws {
        try await write { db in
            _ = try Self.fetchRun(db, id: runID)
            for output in outputs {
                _ = try Self.fetchLoggedModel(db, id: output.modelID)
                try db.execute(
                    cached: """
                        INSERT INTO mlflow_run_outputs (run_id, model_id, step) VALUES (?, ?, ?)
                        ON CONFLICT DO UPDATE SET step = excluded.step
                        """,
                    arguments: [runID, output.modelID, output.step]
                )
            }
        }
    }

    static func fetchRun(_ db: Database, id: String, withData: Bool = true) throws -> Run {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM mlflow_runs WHERE id = ?"),
                arguments: [id]
            )
        else {
            throw RegistryError.notFound("run with id '\(Validation.printable(id))' does not exist")
        }
        var run = Run(
            id: id,
            experimentID: row["experiment_id"],
            name: row["name"],
            userID: row["user_id"],
            status: row["status"],
            startTime: row["start_time"],
            endTime: row["end_time"],
            lifecycleStage: row["lifecycle_stage"],
            params: [:],
            metrics: [],
            tags: [:],
            outputs: [],
            createdBy: row["created_by"]
        )
        guard withData else { return run }
        for param in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT key, value FROM mlflow_run_params WHERE run_id = ?"),
            arguments: [id]
        ) {
            run.params[param["key"]] = param["value"]
        }
        for tag in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT key, value FROM mlflow_run_tags WHERE run_id = ?"),
            arguments: [id]
        ) {
            run.tags[tag["key"]] = tag["value"]
        }
        // The latest value per key: highest step, then latest timestamp, then last logged.
        run.metrics = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT key, value, timestamp, step FROM (
                        SELECT key, value, timestamp, step,
                            row_number() OVER (PARTITION BY key ORDER BY step DESC, timestamp DESC, id DESC) AS rank
                        FROM mlflow_run_metrics WHERE run_id = ?
                    ) WHERE rank = 1 ORDER BY key
                    """
            ),
            arguments: [id]
        ).map { MetricValue(key: $0["key"], value: $0["value"], timestamp: $0["timestamp"], step: $0["step"]) }
        run.outputs = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT model_id, step FROM mlflow_run_outputs WHERE run_id = ? ORDER BY model_id"),
            arguments: [id]
        ).map { RunOutput(modelID: $0["model_id"], step: $0["step"]) }
        return run
    }

    // MARK: Logged models

    public func createLoggedModel(
        experimentID: Int64,
        name: String,
        sourceRunID: String?,
        modelType: String?,
        tags: [String: String],
        params: [String: String],
        actor: Principal
    ) async throws -> LoggedModel {
        let id = "m-" + Self.randomHex(bytes: 16)
        let now = nowMillis
        return try await write { db in
            _ = try Self.fetchExperiment(
                db,
                where: "id = ?",
                [experimentID],
                missing: "experiment with id \(experimentID)"
            )
            if let sourceRunID { _ = try Self.fetchRun(db, id: sourceRunID) }
            try db.execute(
                cached: """
                    INSERT INTO mlflow_logged_models
                        (id, experiment_id, name, source_run_id, model_type, created_by, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, experimentID, name, sourceRunID, modelType, actor.id, now, now]
            )
            try Self.applyTags(db, table: "mlflow_logged_model_tags", owner: "model_id", id: id, set: tags)
            try Self.applyTags(db, table: "mlflow_logged_model_params", owner: "model_id", id: id, set: params)
            return try Self.fetchLoggedModel(db, id: id)
        }
    }

    public func loggedModel(id: String) async throws -> LoggedModel {
        try await read { db in try Self.fetchLoggedModel(db, id: id) }
    }

    public func updateLoggedModel(
        id: String,
        status: String?,
        setTags: [String: String],
        removeTags: [String],
        params: [String: String]
    ) async throws -> LoggedModel {
        let now = nowMillis
        return try await write { db in
            _ = try Self.fetchLoggedModel(db, id: id)
            try db.execute(
                cached: "UPDATE mlflow_logged_models SET status = coalesce(?, status), updated_at = ? WHERE id = ?",
                arguments: [status, now, id]
            )
            try Self.applyTags(
                db,
                table: "mlflow_logged_model_tags",
                owner: "model_id",
                id: id,
                set: setTags,
                remove: removeTags
            )
            try Self.applyTags(db, table: "mlflow_logged_model_params", owner: "model_id", id: id, set: params)
            return try Self.fetchLoggedModel(db, id: id)
        }
    }

    public func loggedModels(experimentIDs: [Int64]) async throws -> [LoggedModel] {
        try await read { db in
            let placeholders = experimentIDs.map { _ in "?" }.joined(separator: ", ")
            return try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM mlflow_logged_models WHERE experiment_id IN (\(placeholders))
                    ORDER BY created_at DESC, id
                    """,
                arguments: StatementArguments(experimentIDs)
            ).map { try Self.fetchLoggedModel(db, id: $0) }
        }
    }

    public func loggedModel(run: String, name: String) async throws -> LoggedModel? {
        try await read { db in
            try String.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT id FROM mlflow_logged_models WHERE source_run_id = ? AND name = ?
                        ORDER BY created_at DESC, id DESC LIMIT 1
                        """
                ),
                arguments: [run, name]
            ).map { try Self.fetchLoggedModel(db, id: $0) }
        }
    }

    static func fetchLoggedModel(_ db: Database, id: String) throws -> LoggedModel {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM mlflow_logged_models WHERE id = ?"),
                arguments: [id]
            )
        else {
            throw RegistryError.notFound("logged model with id '\(Validation.printable(id))' does not exist")
        }
        return LoggedModel(
            id: id,
            experimentID: row["experiment_id"],
            name: row["name"],
            sourceRunID: row["source_run_id"],
            modelType: row["model_type"],
            status: row["status"],
            statusMessage: row["status_message"],
            createdAt: row["created_at"],
            updatedAt: row["updated_at"],
            tags: try keyValues(db, table: "mlflow_logged_model_tags", owner: "model_id", id: id),
            params: try keyValues(db, table: "mlflow_logged_model_params", owner: "model_id", id: id),
            createdBy: row["created_by"]
        )
    }

    // MARK: Artifact tree

    public func putArtifact(_ file: ArtifactFile, actor: Principal) async throws {
        let now = nowMillis
        try await write { db in
            // A file cannot also be a directory: `a/b` is refused while `a/b/c` exists, and the other way round.
            if try Self.hasArtifacts(db, under: file.path) {
                throw RegistryError.conflict(
                    "artifact path '\(Validation.printable(file.path))' is a directory: it holds other artifacts"
                )
            }
            var parent = Substring(file.path)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                if try Self.artifactRow(db, path: String(parent)) != nil {
                    throw RegistryError.conflict(
                        "artifact path '\(Validation.printable(file.path))' is inside '\(parent)', which is a file"
                    )
                }
            }
            try db.execute(
                cached: """
                    INSERT INTO mlflow_artifacts (path, digest, size, created_by, created_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET digest = excluded.digest, size = excluded.size,
                        created_by = excluded.created_by, created_at = excluded.created_at
                    """,
                arguments: [file.path, file.digest.description, file.size, actor.id, now]
            )
        }
    }

    public func artifact(path: String) async throws -> ArtifactFile? {
        try await read { db in try Self.artifactRow(db, path: path) }
    }

    public func artifacts(under path: String) async throws -> [ArtifactFile] {
        try await read { db in
            let rows: [Row]
            if path.isEmpty {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT path, digest, size FROM mlflow_artifacts ORDER BY path")
                )
            } else {
                // `dir/` ≤ path < `dir0` ('0' follows '/'): every path under the directory, from the primary key.
                rows = try Row.fetchAll(
                    db.cachedStatement(
                        sql:
                            "SELECT path, digest, size FROM mlflow_artifacts WHERE path >= ? AND path < ? ORDER BY path"
                    ),
                    arguments: [path + "/", path + "0"]
                )
            }
            return rows.map(Self.artifactFile)
        }
    }

    public func deleteArtifacts(path: String) async throws -> Int {
        try await write { db in
            try db.execute(
                cached: "DELETE FROM mlflow_artifacts WHERE path = ? OR (path >= ? AND path < ?)",
                arguments: [path, path + "/", path + "0"]
            )
            return db.changesCount
        }
    }

    static func hasArtifacts(_ db: Database, under path: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM mlflow_artifacts WHERE path >= ? AND path < ?)"),
            arguments: [path + "/", path + "0"]
        ) ?? false
    }

    static func artifactRow(_ db: Database, path: String) throws -> ArtifactFile? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT path, digest, size FROM mlflow_artifacts WHERE path = ?"),
            arguments: [path]
        ).map(artifactFile)
    }

    static func artifactFile(_ row: Row) -> ArtifactFile {
        ArtifactFile(
            path: row[0],
            digest: Digest(validatedHex: String((row[1] as String).dropFirst(7))),
            size: row[2]
        )
    }

    // MARK: Model registry views

    public func versions(ofModels names: [String]?) async throws -> [ModelVersion] {
        try await read { db in
            var sql = "SELECT m.id, m.name, m.revision, v.id FROM versions v JOIN models m ON m.id = v.model_id"
            var arguments: StatementArguments = []
            if let names {
                sql += " WHERE m.name IN (\(names.map { _ in "?" }.joined(separator: ", ")))"
                arguments = StatementArguments(names)
            }
            sql += " ORDER BY m.name, v.number DESC"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                try Self.fetchVersion(
                    db,
                    model: ModelRow(id: row[0], name: row[1], revision: row[2]),
                    where: "v.id = ?",
                    [row[3] as Int64]
                )
            }
        }
    }

    public func latestVersionPerStage(model name: String) async throws -> [ModelVersion] {
        try await read { db in try Self.latestPerStage(db, model: try Self.modelRow(db, name: name)) }
    }

    static func latestPerStage(_ db: Database, model: ModelRow) throws -> [ModelVersion] {
        try Int64.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT (SELECT id FROM versions WHERE model_id = ?1 AND stage = s.stage ORDER BY number DESC LIMIT 1)
                    FROM (SELECT DISTINCT stage FROM versions WHERE model_id = ?1) s
                    """
            ),
            arguments: [model.id]
        ).map { try Self.fetchVersion(db, model: model, where: "v.id = ?", [$0]) }
            .sorted { $0.number < $1.number }
    }

    public func modelSummaries(prefix: String?, name: String?) async throws -> [ModelSummary] {
        try await read { db in
            // One row per tag (or one without a tag), in name order: consecutive rows of a model are merged.
            var condition = ""
            var arguments: StatementArguments = []
            if let name {
                condition = "WHERE m.name = ?"
                arguments = [name]
            } else if let prefix, !prefix.isEmpty {
                condition = "WHERE substr(m.name, 1, ?) = ?"
                arguments = [prefix.unicodeScalars.count, prefix]
            }
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT m.name, m.created_at, m.updated_at, t.key, t.value
                        FROM models m LEFT JOIN model_tags t ON t.model_id = m.id \(condition) ORDER BY m.name
                        """
                ),
                arguments: arguments
            )
            var summaries: [ModelSummary] = []
            while let row = try rows.next() {
                let name: String = row[0]
                if summaries.last?.name != name {
                    summaries.append(ModelSummary(name: name, tags: [:], createdAt: row[1], updatedAt: row[2]))
                }
                if let key: String = row[3] { summaries[summaries.count - 1].tags[key] = row[4] }
            }
            return summaries
        }
    }

    public func registeredModels(named names: [String]) async throws -> [(model: Model, latest: [ModelVersion])] {
        try await read { db in
            try names.compactMap { name in
                guard
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT id, revision FROM models WHERE name = ?"),
                        arguments: [name]
                    )
                else { return nil }
                let model = ModelRow(id: row[0], name: name, revision: row[1])
                return (try Self.fetchModel(db, id: model.id), try Self.latestPerStage(db, model: model))
            }
        }
    }

    public func versionSummaries(ofModels names: [String]?) async throws -> [VersionSummary] {
        try await read { db in
            // One row per tag (or one without a tag), grouped by version: consecutive rows of a version are merged.
            var sql = """
                SELECT m.name, v.number, v.run_id, v.source, v.created_at, v.updated_at, t.key, t.value
                FROM versions v JOIN models m ON m.id = v.model_id LEFT JOIN version_tags t ON t.version_id = v.id
                """
            var arguments: StatementArguments = []
            if let names {
                if names.count == 1 {
                    sql += " WHERE m.name = ?"
                } else {
                    sql += " WHERE m.name IN (\(names.map { _ in "?" }.joined(separator: ", ")))"
                }
                arguments = StatementArguments(names)
            }
            sql += " ORDER BY m.name, v.number DESC"
            // Only the shapes of fixed text are cached: an IN list's length varies with the request.
            let fixedText = names == nil || names?.count == 1
            let statement = fixedText ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            var summaries: [VersionSummary] = []
            while let row = try rows.next() {
                let key = VersionSummary.Key(model: row[0], number: row[1])
                if summaries.last?.key != key {
                    summaries.append(
                        VersionSummary(
                            key: key,
                            runID: row[2],
                            source: row[3],
                            tags: [:],
                            createdAt: row[4],
                            updatedAt: row[5]
                        )
                    )
                }
                if let tag: String = row[6] { summaries[summaries.count - 1].tags[tag] = row[7] }
            }
            return summaries
        }
    }

    public func versions(_ keys: [VersionSummary.Key]) async throws -> [ModelVersion] {
        try await read { db in
            var models: [String: ModelRow] = [:]
            return try keys.compactMap { key in
                let model: ModelRow
                if let known = models[key.model] {
                    model = known
                } else {
                    guard
                        let row = try Row.fetchOne(
                            db.cachedStatement(sql: "SELECT id, revision FROM models WHERE name = ?"),
                            arguments: [key.model]
                        )
                    else { return nil }
                    model = ModelRow(id: row[0], name: key.model, revision: row[1])
                    models[key.model] = model
                }
                do {
                    return try Self.fetchVersion(
                        db,
                        model: model,
                        where: "v.model_id = ? AND v.number = ?",
                        [model.id, key.number]
                    )
                } catch let error as RegistryError where error.code == .notFound {
                    return nil
                }
            }
        }
    }

    static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
