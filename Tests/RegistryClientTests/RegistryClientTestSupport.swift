import Foundation
import HummingbirdTesting
import RegistryClient
import Synchronization
import TestSupport
import Testing

/// Small delays so that retry tests stay fast.
let fastRetry = RegistryClientConfiguration.RetryPolicy(
    maxAttempts: 3,
    baseDelay: .milliseconds(1),
    maxDelay: .milliseconds(5)
)

/// A client of `http://127.0.0.1:<port>` with fast retries, shut down after `body`.
func withRegistryClient<T>(
    port: Int,
    retry: RegistryClientConfiguration.RetryPolicy = fastRetry,
    _ body: (RegistryClient) async throws -> T
) async throws -> T {
    let configuration = RegistryClientConfiguration(
        baseURL: try #require(URL(string: "http://127.0.0.1:\(port)")),
        userAgent: RegistryClientConfiguration.userAgent(version: "test"),
        retry: retry
    )
    let client = RegistryClient(configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try await client.shutdown()
        throw error
    }
}

/// Runs `body` against the real registry on a loopback port, with a client and a temporary directory.
func withLiveRegistry(_ body: @escaping @Sendable (RegistryClient, URL) async throws -> Void) async throws {
    try await withTestRegistry(.live) { testClient in
        let port = try #require(testClient.port)
        try await withTemporaryDirectory { directory in
            try await withRegistryClient(port: port) { client in try await body(client, directory) }
        }
    }
}

/// Writes a fixture to a file in `directory`.
func write(_ blob: BlobFixture, in directory: URL, name: String = UUID().uuidString) throws -> URL {
    let url = directory.appending(path: name)
    try Data(blob.bytes).write(to: url)
    return url
}

/// Expects `body` to throw a ``RegistryClientError`` and returns it.
func expectClientError(
    _ body: () async throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> RegistryClientError {
    do {
        try await body()
    } catch let error as RegistryClientError {
        return error
    }
    Issue.record("expected a RegistryClientError", sourceLocation: sourceLocation)
    throw RegistryClientError(.protocolError, "no error")
}

/// Collects progress reports.
final class ProgressLog: Sendable {
    private let reports = Mutex<[(Int64, Int64?)]>([])

    var progress: TransferProgress {
        { completed, total in self.reports.withLock { $0.append((completed, total)) } }
    }

    var all: [(completed: Int64, total: Int64?)] { reports.withLock { $0.map { (completed: $0.0, total: $0.1) } } }
}
