import Foundation
import GRDB
import TestSupport
import Testing

@testable import Registry

/// Group commit below the store: writes that queue behind a commit share the next one, each keeps its own result,
/// and none is reported done unless its transaction committed.
@Suite struct GroupCommitTests {
    func withPool(_ body: (DatabasePool) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let pool = try DatabasePool(
                path: directory.appending(path: "test.sqlite").path,
                configuration: RegistryDatabase.makeConfiguration()
            )
            try await pool.write { db in
                try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
            }
            try await body(pool)
        }
    }

    /// Polls `condition` every millisecond, for up to 30 s.
    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<30_000 where !condition() { try await Task.sleep(for: .milliseconds(1)) }
        try #require(condition())
    }

    static func names(_ pool: DatabasePool) async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM t ORDER BY name") }
    }

    @Test func concurrentWritesShareCommitsAndAFailingOneIsRolledBackAlone() async throws {
        try await withPool { pool in
            let commit = GroupCommit(writer: pool)
            // Given a write that holds the writer until 200 more have queued behind it
            let release = DispatchSemaphore(value: 0)
            let holder = Task { try await commit.write { _ in release.wait() } }
            try await Self.waitUntil { commit.transactionCount == 1 }
            // When the 200 are released: every name twice, the second insert of a name fails on the UNIQUE
            // constraint after it has inserted another row, which its savepoint must take back
            async let outcomes = withTaskGroup(of: (Int, Bool).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        do {
                            try await commit.write { db in
                                try db.execute(sql: "INSERT INTO t (name) VALUES (?)", arguments: ["extra-\(index)"])
                                try db.execute(sql: "INSERT INTO t (name) VALUES (?)", arguments: ["n\(index % 100)"])
                            }
                            return (index, true)
                        } catch {
                            return (index, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            try await Self.waitUntil { commit.queuedCount == 200 }
            release.signal()
            try await holder.value
            let results = await outcomes
            let succeeded = results.filter(\.value).map(\.key)
            #expect(succeeded.count == 100)
            #expect(Set(succeeded.map { $0 % 100 }).count == 100, "one write per name succeeds")
            // Only the successful writes left rows: both of theirs, none of the failed ones
            let names = try await Self.names(pool)
            #expect(names.count == 200)
            #expect(Set(names) == Set(succeeded.map { "extra-\($0)" } + (0..<100).map { "n\($0)" }))
            // And they shared transactions: the holder's, then batches of at most 64
            #expect(commit.transactionCount == 1 + 4, "\(commit.transactionCount) transactions")
        }
    }

    @Test func aWriteThatEndsTheTransactionFailsEveryWriteOfItsBatch() async throws {
        try await withPool { pool in
            let commit = GroupCommit(writer: pool)
            // Given a write that holds the writer until two more have queued behind it
            let (started, holder) = AsyncStream<Void>.makeStream()
            let release = DispatchSemaphore(value: 0)
            let first = Task {
                try await commit.write { db in
                    try db.execute(sql: "INSERT INTO t (name) VALUES ('first')")
                    holder.yield()
                    release.wait()
                }
            }
            for await _ in started { break }
            let queued = Task {
                try await commit.write { db in try db.execute(sql: "INSERT INTO t (name) VALUES ('queued')") }
            }
            try await Self.waitUntil { commit.queuedCount == 1 }
            // When the next write ends the transaction itself (as SQLite does after a full disk or an I/O error)
            let breaking = Task {
                try await commit.write { db in try db.execute(sql: "ROLLBACK") }
            }
            try await Self.waitUntil { commit.queuedCount == 2 }
            release.signal()
            // Then the first write committed alone, and both writes of the broken batch failed
            try await first.value
            await #expect(throws: (any Error).self) { try await queued.value }
            await #expect(throws: (any Error).self) { try await breaking.value }
            #expect(try await Self.names(pool) == ["first"])
            // And the writer goes on
            try await commit.write { db in try db.execute(sql: "INSERT INTO t (name) VALUES ('after')") }
            #expect(try await Self.names(pool) == ["after", "first"])
        }
    }
}
