import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import RegistryClient
import Synchronization
import TestSupport
import Testing

/// Retries, timeouts and headers, against a scripted Hummingbird server that answers from a list of statuses.
@Suite struct RegistryClientRetryTests {
    /// What the scripted server saw.
    final class Recorder: Sendable {
        private let state = Mutex<(attempts: Int, userAgents: [String])>((0, []))

        /// Records a request and returns its 1-based attempt number.
        func record(userAgent: String?) -> Int {
            state.withLock {
                $0.attempts += 1
                $0.userAgents.append(userAgent ?? "")
                return $0.attempts
            }
        }

        var attempts: Int { state.withLock { $0.attempts } }
        var userAgents: [String] { state.withLock { $0.userAgents } }
    }

    static let modelJSON = """
        {"aliases":{},"created_at":"2025-01-31T09:30:00Z","description":"","latest_version":null,\
        "name":"m","revision":1,"tags":{},"updated_at":"2025-01-31T09:30:00Z"}
        """

    /// Runs `body` with a client of a server that answers `GET /api/v1/models/m` and `POST /api/v1/models` with
    /// `statuses[attempt - 1]` (the last one repeating); a 200/201 carries a model, anything else an error body.
    func withScriptedServer(
        _ statuses: [Int],
        _ body: @escaping @Sendable (RegistryClient, Recorder) async throws -> Void
    ) async throws {
        let recorder = Recorder()
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let userAgent = request.headers.first { "\($0.name)".lowercased() == "user-agent" }?.value
            let attempt = recorder.record(userAgent: userAgent)
            let status = statuses[min(attempt, statuses.count) - 1]
            let text =
                (200..<300).contains(status)
                ? Self.modelJSON : #"{"error":{"code":"unavailable","message":"scripted \#(status)"}}"#
            return Response(
                status: HTTPResponse.Status(code: status),
                body: ResponseBody(byteBuffer: ByteBuffer(string: text))
            )
        }
        router.get("/api/v1/models/m", use: handler)
        router.post("/api/v1/models", use: handler)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await withRegistryClient(port: port, retry: fastRetry) { registry in
                try await body(registry, recorder)
            }
        }
    }

    // MARK: Tests

    @Test func retriesA503UntilItSucceedsAndSendsTheUserAgent() async throws {
        try await withScriptedServer([503, 503, 200]) { client, recorder in
            let model = try await client.model(named: "m")
            #expect(model.name == "m")
            #expect(recorder.attempts == 3)
            #expect(recorder.userAgents == Array(repeating: "modelctl/test", count: 3))
        }
    }

    @Test func retries502And504ForIdempotentRequests() async throws {
        try await withScriptedServer([502, 504, 200]) { client, recorder in
            _ = try await client.model(named: "m")
            #expect(recorder.attempts == 3)
        }
    }

    @Test func givesUpAfterMaxAttemptsWithAServerError() async throws {
        try await withScriptedServer([503]) { client, recorder in
            let error = try await expectClientError { _ = try await client.model(named: "m") }
            #expect(error.code == .server)
            #expect(error.status == 503)
            #expect(error.serverCode == "unavailable")
            #expect(error.message == "scripted 503")
            #expect(recorder.attempts == 3)
        }
    }

    @Test func doesNotRetry500() async throws {
        try await withScriptedServer([500, 200]) { client, recorder in
            let error = try await expectClientError { _ = try await client.model(named: "m") }
            #expect(error.code == .server)
            #expect(error.status == 500)
            #expect(recorder.attempts == 1)
        }
    }

    @Test func doesNotRetry404() async throws {
        try await withScriptedServer([404, 200]) { client, recorder in
            let error = try await expectClientError { _ = try await client.model(named: "m") }
            #expect(error.code == .notFound)
            #expect(recorder.attempts == 1)
        }
    }

    @Test func postIsNotRetriedOn502ButIsOn503() async throws {
        try await withScriptedServer([502, 200]) { client, recorder in
            let error = try await expectClientError { _ = try await client.createModel(name: "m") }
            #expect(error.code == .server)
            #expect(error.status == 502)
            #expect(recorder.attempts == 1)
        }
        try await withScriptedServer([503, 201]) { client, recorder in
            _ = try await client.createModel(name: "m")
            #expect(recorder.attempts == 2)
        }
    }

    @Test func closedPortIsUnreachableAfterTheRetries() async throws {
        // Given a port nobody listens on
        // When a request is sent
        let error = try await withRegistryClient(port: 1) { client in
            try await expectClientError { _ = try await client.health() }
        }
        // Then it is unreachable, names the URL and the cause, after three attempts (the message counts them; how
        // long that takes is for the benchmarks, not a test on a shared machine)
        #expect(error.code == .unreachable)
        #expect(error.status == nil)
        #expect(
            error.message == "cannot reach the registry at http://127.0.0.1:1: connection refused (3 attempts)",
            "got \(error.message)"
        )
    }

    @Test func closedPortIsUnreachableForPostToo() async throws {
        // A refused connection never sent the request, so even a POST is retried.
        let error = try await withRegistryClient(port: 1) { client in
            try await expectClientError { _ = try await client.createModel(name: "m") }
        }
        #expect(error.code == .unreachable)
        #expect(error.message.hasSuffix("(3 attempts)"))
    }

    struct Broken: Error {}

    @Test func downloadBrokenMidwayResumesFromTheBytesWritten() async throws {
        // Given a server whose first answer breaks after half the blob, and which honours `Range` afterwards
        let blob = BlobFixture(count: 200_000, seed: 21)
        let half = blob.size / 2
        let recorder = Recorder()
        let ranges = Mutex<[String]>([])
        let router = Router()
        router.get("/api/v1/blobs/:digest") { request, _ -> Response in
            let attempt = recorder.record(userAgent: nil)
            let range = request.headers.first { "\($0.name)".lowercased() == "range" }?.value
            ranges.withLock { $0.append(range ?? "") }
            var headers = HTTPFields()
            headers.append(.init(name: .init("Docker-Content-Digest")!, value: blob.digest))
            if attempt == 1 {
                headers.append(.init(name: .init("Content-Length")!, value: String(blob.size)))
                return Response(
                    status: .ok,
                    headers: headers,
                    body: ResponseBody { writer in
                        try await writer.write(ByteBuffer(bytes: blob.bytes[0..<half]))
                        throw Broken()
                    }
                )
            }
            let start = Int(range?.dropFirst("bytes=".count).dropLast() ?? "0") ?? 0
            headers.append(.init(name: .init("Content-Range")!, value: "bytes \(start)-\(blob.size - 1)/\(blob.size)"))
            return Response(
                status: .partialContent,
                headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: blob.bytes[start...]))
            )
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await withTemporaryDirectory { directory in
                try await withRegistryClient(port: port) { registry in
                    // When the blob is downloaded
                    let destination = directory.appending(path: "blob.bin")
                    let result = try await registry.downloadBlob(digest: blob.digest, to: destination)
                    // Then the second attempt asked only for the rest, and the file verifies
                    #expect(recorder.attempts == 2)
                    let second = try #require(ranges.withLock { $0.last })
                    #expect(second.hasPrefix("bytes="))
                    #expect(result.digest == blob.digest)
                    #expect(result.bytesReceived == Int64(blob.size))
                    #expect(try Data(contentsOf: destination) == Data(blob.bytes))
                }
            }
        }
    }

    @Test func backoffBoundsGrowExponentiallyUpToTheCap() {
        let policy = RegistryClientConfiguration.RetryPolicy()
        #expect(policy.maxAttempts == 4)
        #expect(policy.delayBound(afterAttempt: 1) == .milliseconds(200))
        #expect(policy.delayBound(afterAttempt: 2) == .milliseconds(400))
        #expect(policy.delayBound(afterAttempt: 3) == .milliseconds(800))
        #expect(policy.delayBound(afterAttempt: 10) == .seconds(5))
        for attempt in 1...6 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay >= .zero && delay <= policy.delayBound(afterAttempt: attempt))
        }
    }
}
