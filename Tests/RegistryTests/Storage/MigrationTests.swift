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
                    "agent_deployments", "agents", "aliases", "audit_events", "auth_events", "blob_holders", "blobs",
                    "deployment_members", "deployments", "device_models", "enrollment_tokens", "fleet_generation",
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

/// The fleet generation moves with every change that can alter a desired state, inside the change's transaction.
@Suite struct FleetGenerationTriggerTests {
    @Test func aliasStageDeploymentAndAgentChangesRaiseTheGenerationAndReportsDoNot() async throws {
        try await withTemporaryDirectory { directory in
            let database = try RegistryDatabase(path: directory.appending(path: "registry.sqlite").path)
            func generation() async throws -> Int64 {
                try await database.writer.read { db in
                    try Int64.fetchOne(db, sql: "SELECT generation FROM fleet_generation") ?? 0
                }
            }
            func moves(_ sql: String, _ expected: Bool) async throws {
                let before = try await generation()
                try await database.writer.write { db in try db.execute(sql: sql) }
                let after = try await generation()
                #expect((after > before) == expected, "\(sql): \(before) → \(after)")
            }
            let now = "2026-01-01T00:00:00Z"
            try await moves(
                "INSERT INTO models (id, name, revision, created_at, updated_at) VALUES (1, 'm', 1, '\(now)', '\(now)')",
                false
            )
            try await moves(
                "INSERT INTO versions (id, model_id, number, status, created_by, created_at, updated_at) VALUES (1, 1, 1, 'READY', 'x', '\(now)', '\(now)')",
                false
            )
            try await moves("UPDATE versions SET stage = 'Production' WHERE id = 1", true)
            try await moves("UPDATE versions SET description = 'd' WHERE id = 1", false)
            try await moves(
                "INSERT INTO aliases (model_id, alias, version_id, updated_at) VALUES (1, 'prod', 1, '\(now)')",
                true
            )
            try await moves(
                "INSERT INTO principals (id, name, kind, created_by, created_at) VALUES (1, 'cam', 'device', 'x', '\(now)')",
                false
            )
            try await moves(
                "INSERT INTO agents (id, name, principal_id, enrolled_with, enrolled_at) VALUES (1, 'cam', 1, 'e', '\(now)')",
                true
            )
            try await moves("UPDATE agents SET last_seen = '\(now)' WHERE id = 1", false)
            try await moves("UPDATE agents SET labels = '{\"site\":\"a\"}' WHERE id = 1", true)
            try await moves(
                "INSERT INTO deployments (id, name, model_id, selector_kind, selector, strategy, rollout, target_version, created_by, created_at, updated_at) VALUES (1, 'd', 1, 'alias', 'prod', 'all', 1, 1, 'x', '\(now)', '\(now)')",
                true
            )
            try await moves(
                "INSERT INTO agent_deployments (agent_id, deployment_id, rollout, version, step, updated_at) VALUES (1, 1, 1, 1, 'downloading', '\(now)')",
                false
            )
            try await moves("UPDATE agent_deployments SET step = 'active'", false)
            try await moves("UPDATE agent_deployments SET step = 'failed'", true)
            try await moves("DELETE FROM aliases", true)
        }
    }
}
