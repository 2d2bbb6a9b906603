import Foundation
import GRDB
import TestSupport
import Testing

@testable import Registry

@Suite struct MigrationTests {
    static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "migrations/sqlite")

    @Test func embeddedMigrationsEqualTheFilesInTheRepository() throws {
        // Given the SQL files of migrations/sqlite
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.migrationsDirectory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        // When the binary's embedded list is read
        let embedded = RegistryDatabase.migrations
        // Then it has the same files, in the same order, with the same text
        #expect(embedded.map(\.name) == names)
        for migration in embedded {
            let text = try String(contentsOf: Self.migrationsDirectory.appending(path: migration.name), encoding: .utf8)
            #expect(migration.sql == text, "embedded \(migration.name) differs from the file")
        }
    }

    @Test func migrationFileNamesAreNumberedWithoutGaps() {
        let numbers = RegistryDatabase.migrations.map { Int($0.name.prefix(4)) }
        #expect(numbers == Array(1...numbers.count).map { Optional($0) })
    }

    @Test func emptyDatabaseMigratesToTheLatestSchema() async throws {
        try await withTemporaryDirectory { directory in
            // Given an empty database file
            let path = directory.appending(path: "registry.sqlite").path
            // When the registry opens it
            let database = try RegistryDatabase(path: path)
            // Then every migration is applied and the tables exist
            #expect(try database.isFullyMigrated())
            #expect(
                try database.tableNames() == [
                    "aliases", "audit_events", "auth_events", "blob_holders", "blobs", "device_models",
                    "mlflow_artifacts", "mlflow_experiment_tags", "mlflow_experiments", "mlflow_logged_model_params",
                    "mlflow_logged_model_tags", "mlflow_logged_models", "mlflow_run_metrics", "mlflow_run_outputs",
                    "mlflow_run_params", "mlflow_run_tags", "mlflow_runs", "model_tags", "models", "principals",
                    "role_bindings", "tokens", "version_files", "version_metrics", "version_params", "version_tags",
                    "versions",
                ]
            )
            let journal = try await database.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
            // And opening it again is a no-op
            #expect(try RegistryDatabase(path: path).isFullyMigrated())
        }
    }

    @Test func databaseFromANewerReleaseIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appending(path: "registry.sqlite").path
            _ = try RegistryDatabase(path: path)
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future.sql')")
            }
            try queue.close()
            #expect {
                _ = try RegistryDatabase(path: path)
            } throws: { error in
                let error = try #require(error as? RegistryError)
                return error.code == .unavailable && error.message.contains("9999_from_the_future.sql")
            }
        }
    }
}
