import GRDB
import Synchronization

/// Runs the store's write transactions on the one SQLite writer, committing the writes that arrive while a commit is
/// under way together ("group commit").
///
/// SQLite has one writer, and with `synchronous = FULL` every commit waits for an `fsync` of the WAL. When writes
/// queue behind each other, the next commit takes all of them (up to ``maximumBatch``): each runs in a savepoint of
/// its own, so a write that throws is rolled back alone and the others still commit, and then one commit and one
/// `fsync` make them all durable. A caller hears back only after that commit, with its own result or error. A
/// write that arrives when the writer is idle starts at once, alone: nothing waits to fill a batch.
///
/// If the transaction cannot go on (SQLite rolled it back after an I/O error or a full disk) or the commit fails,
/// every write of the batch fails with that error: none is reported done unless it is on disk.
final class GroupCommit: Sendable {
    static let maximumBatch = 64

    /// One write: runs inside the batch's transaction and returns how to answer its caller once the batch is
    /// committed; `fail` answers it when the batch is not.
    private struct Item: Sendable {
        let run: @Sendable (Database) -> (answer: @Sendable () -> Void, error: (any Error)?)
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var queue: [Item] = []
        var committing = false
    }

    private struct TransactionAborted: Error {
        var cause: any Error
    }

    let writer: any DatabaseWriter
    private let state = Mutex(State())
    private let transactions = Atomic<Int>(0)

    /// How many transactions have run so far (committed or not): fewer than the writes when batches formed.
    var transactionCount: Int { transactions.load(ordering: .relaxed) }

    /// How many writes wait for the next transaction.
    var queuedCount: Int { state.withLock { $0.queue.count } }

    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = Item(
                run: { db in
                    do {
                        var result: T?
                        try db.inSavepoint {
                            result = try body(db)
                            return .commit
                        }
                        return ({ [result] in continuation.resume(returning: result!) }, nil)
                    } catch {
                        return ({ continuation.resume(throwing: error) }, error)
                    }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            let start = state.withLock { state in
                state.queue.append(item)
                guard !state.committing else { return false }
                state.committing = true
                return true
            }
            if start { commitNext() }
        }
    }

    /// Commits the queued writes, one batch after the other, until the queue is empty.
    private func commitNext() {
        let batch = state.withLock { state in
            let batch = Array(state.queue.prefix(Self.maximumBatch))
            state.queue.removeFirst(batch.count)
            if batch.isEmpty { state.committing = false }
            return batch
        }
        guard !batch.isEmpty else { return }
        writer.asyncWriteWithoutTransaction { db in
            self.transactions.add(1, ordering: .relaxed)
            var answers: [@Sendable () -> Void] = []
            do {
                try db.inTransaction {
                    for item in batch {
                        let (answer, error) = item.run(db)
                        answers.append(answer)
                        // A failed statement can make SQLite roll the whole transaction back (SQLITE_FULL, IOERR):
                        // then the writes before it are gone too, and must not be reported done.
                        guard db.isInsideTransaction else {
                            throw TransactionAborted(
                                cause: error
                                    ?? DatabaseError(
                                        resultCode: .SQLITE_ABORT,
                                        message: "the transaction was rolled back"
                                    )
                            )
                        }
                    }
                    return .commit
                }
            } catch {
                let cause = (error as? TransactionAborted)?.cause ?? error
                for item in batch { item.fail(cause) }
                self.commitNext()
                return
            }
            for answer in answers { answer() }
            self.commitNext()
        }
    }
}
