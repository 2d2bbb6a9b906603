public import Foundation
public import GRDB
import Synchronization

/// The registry's SQLite database: exactly one `DatabasePool` (WAL mode) per file, its configuration and its
/// migrator.
///
/// Migrations are the SQL files of `migrations/sqlite/`, embedded into the binary by the `EmbedResources` build
/// plugin, applied in file-name order at start-up. A database written by a newer modelctl (with migrations this
/// binary does not know) is refused rather than used.
public struct RegistryDatabase: Sendable {
    /// Name and SQL text of every embedded migration, in the order they are applied.
    public static var migrations: [(name: String, sql: String)] {
        EmbeddedResources.sqliteMigrations.map { (name: $0.name, sql: String(decoding: $0.sql, as: UTF8.self)) }
    }

    let writer: any DatabaseWriter
    /// Counts the write transactions that ended, committed or not (see ``MetadataStore/changeCount``).
    let changes = ChangeCounter()
    /// Every write of the store goes through it.
    let groupCommit: GroupCommit

    /// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
    ///
    /// - Throws: ``RegistryError`` `unavailable` when the file cannot be opened or was written by a newer modelctl.
    public init(path: String) throws {
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: Self.makeConfiguration())
        } catch {
            throw RegistryError(.unavailable, "cannot open the metadata database at \(path): \(error)")
        }
        try self.init(writer: pool)
    }

    /// Wraps any GRDB writer (tests use a `DatabaseQueue` on a temporary file as well as pools) and migrates it.
    public init(writer: any DatabaseWriter) throws {
        self.writer = writer
        self.groupCommit = GroupCommit(writer: writer)
        let migrator = Self.makeMigrator()
        let unknown = try writer.read { db in try migrator.appliedIdentifiers(db).subtracting(migrator.migrations) }
        guard unknown.isEmpty else {
            throw RegistryError(
                .unavailable,
                "the metadata database has migrations this modelctl does not know (\(unknown.sorted().joined(separator: ", "))): it was written by a newer release; run that release or restore a backup"
            )
        }
        try migrator.migrate(writer)
    }

    /// The configuration used by production and tests alike.
    public static func makeConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            // Durability of committed transactions matters more than write latency here.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return configuration
    }

    static func makeMigrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Whether every embedded migration has been applied.
    public func isFullyMigrated() throws -> Bool {
        try writer.read { db in try Self.makeMigrator().hasCompletedMigrations(db) }
    }

    /// Names of the tables of the schema (for tests and diagnostics).
    public func tableNames() throws -> [String] {
        try writer.read { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name"
            )
        }
    }
}

/// A number that only grows: one more after every write transaction of the store, once it has ended.
final class ChangeCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    private let observers = Mutex<[@Sendable () -> Void]>([])

    var current: UInt64 { value.load(ordering: .acquiring) }

    func increment() {
        value.add(1, ordering: .releasing)
        for observer in observers.withLock({ $0 }) { observer() }
    }

    /// Calls `observer` after every increment, on the writer's task: it must return at once.
    func observe(_ observer: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(observer) }
    }
}
