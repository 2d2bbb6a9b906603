public import Foundation
import GRDB
import Packager

/// ``MetadataStore`` on the embedded SQLite database.
///
/// Each mutating method is a single `write` transaction: the change, the model's new revision and the audit
/// event(s) are committed together or not at all. Reads run concurrently on the pool's readers.
public struct SQLiteMetadataStore: MetadataStore {
    let database: RegistryDatabase
    let clock: @Sendable () -> Date

    public init(database: RegistryDatabase, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.clock = clock
    }

    var writer: any DatabaseWriter { database.writer }

    /// Runs a write transaction (in a savepoint of a group commit: ``GroupCommit``), translating database errors
    /// into ``RegistryError``.
    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        // Counted once the transaction has ended, never before its commit: whatever was read before this number
        // moved may be older than the commit, whatever is read after it is not.
        defer { database.changes.increment() }
        do {
            return try await database.groupCommit.write(body)
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    public var changeCount: UInt64 { database.changes.current }

    public func observeChanges(_ observer: @escaping @Sendable () -> Void) { database.changes.observe(observer) }

    /// Runs a read, translating database errors into ``RegistryError``.
    ///
    /// Reads run synchronously on the calling task's thread: they take microseconds, WAL readers never wait for the
    /// writer, and the pool has more reader connections (8) than the cooperative thread pool has threads, so a read
    /// never waits for another task. Hopping to GRDB's dispatch queue and back cost more than the read itself
    /// (measured on "resolve alias", docs/benchmarks.md).
    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try readSynchronously(body)
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    private func readSynchronously<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.read(body)
    }

    static func translate(_ error: DatabaseError) -> RegistryError {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            return RegistryError(.alreadyExists, "already exists: \(error.message ?? "unique constraint")")
        case .SQLITE_CONSTRAINT_TRIGGER, .SQLITE_CONSTRAINT_CHECK, .SQLITE_CONSTRAINT_FOREIGNKEY:
            return RegistryError(.conflict, "refused by the schema: \(error.message ?? "constraint")")
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR:
            return RegistryError(
                .unavailable,
                "the metadata database is unavailable: \(error.message ?? "\(error.resultCode)")"
            )
        default:
            return RegistryError(.internal, "metadata database error: \(error)")
        }
    }
}

// MARK: - Shared helpers inside transactions

struct ModelRow: Sendable {
    var id: Int64
    var name: String
    var revision: Int64
}

extension SQLiteMetadataStore {
    static func modelRow(_ db: Database, name: String) throws -> ModelRow {
        let statement = try db.cachedStatement(sql: "SELECT id, revision FROM models WHERE name = ?")
        guard let row = try Row.fetchOne(statement, arguments: [name]) else {
            throw RegistryError.notFound("model '\(Validation.printable(name))' does not exist")
        }
        return ModelRow(id: row[0], name: name, revision: row[1])
    }

    static func checkRevision(_ model: ModelRow, expected: Int64?) throws {
        if let expected, expected != model.revision {
            throw RegistryError(
                .conflict,
                "model '\(model.name)' changed concurrently: it is at revision \(model.revision), the request expected \(expected); fetch it again and retry",
                details: ["revision": String(model.revision)]
            )
        }
    }

    /// Raises the model's revision and returns the new value.
    static func bumpRevision(_ db: Database, modelID: Int64, at: Date) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: "UPDATE models SET revision = revision + 1, updated_at = ? WHERE id = ? RETURNING revision"
            ),
            arguments: [at, modelID]
        ) ?? 0
    }

    /// Appends an audit event and returns its id.
    @discardableResult
    static func appendEvent(
        _ db: Database,
        model: ModelRow,
        kind: AuditEvent.Kind,
        version: Int? = nil,
        subject: String? = nil,
        from: String? = nil,
        to: String? = nil,
        details: String? = nil,
        actor: Principal,
        comment: String? = nil,
        revertsEventID: Int64? = nil,
        revision: Int64,
        at: Date
    ) throws -> Int64 {
        try db.execute(
            cached: """
                INSERT INTO audit_events
                    (model_id, model_name, kind, version, subject, from_value, to_value, details, actor, comment,
                     reverts_event_id, revision, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                model.id, model.name, kind.rawValue, version, subject, from, to, details, actor.id, comment,
                revertsEventID, revision, at,
            ]
        )
        return db.lastInsertedRowID
    }

    static func keyValues(
        _ db: Database,
        table: String,
        owner: String,
        id: some DatabaseValueConvertible
    ) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(sql: "SELECT key, value FROM \(table) WHERE \(owner) = ?"),
            arguments: [id]
        ) {
            result[row["key"]] = row["value"]
        }
        return result
    }

    static func applyTags(
        _ db: Database,
        table: String,
        owner: String,
        id: some DatabaseValueConvertible,
        set: [String: String],
        remove: [String] = []
    )
        throws
    {
        for key in remove {
            try db.execute(cached: "DELETE FROM \(table) WHERE \(owner) = ? AND key = ?", arguments: [id, key])
        }
        for (key, value) in set {
            try db.execute(
                cached:
                    "INSERT INTO \(table) (\(owner), key, value) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                arguments: [id, key, value]
            )
        }
    }

    static func encodePageToken(_ value: String) -> String {
        Data(value.utf8).base64EncodedString()
    }

    static func decodePageToken(_ token: String, field: String = "page_token") throws -> String {
        guard let data = Data(base64Encoded: token), let value = String(data: data, encoding: .utf8) else {
            throw RegistryError.invalid(
                "invalid \(field) '\(Validation.printable(token))': pass the value of next_page_token unchanged"
            )
        }
        return value
    }
}

extension Database {
    /// Runs one statement of fixed text through the connection's statement cache: preparing a statement costs more
    /// than running it (measured on `bench/mlflow-compat.sh`'s create), and the registry runs the same few hundred
    /// statements over and over. SQL built from values (IN lists of varying length) must not come here: the cache
    /// would grow with every shape.
    func execute(cached sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
