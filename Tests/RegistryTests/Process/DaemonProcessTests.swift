import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Tests that run the real `modelctl serve` binary: start-up, kill -9 during uploads and promotions, restart,
/// graceful shutdown, `Expect: 100-continue`.
@Suite(.serialized) struct DaemonProcessTests {
    struct Reply {
        var status: Int
        var json: [String: Any]
        var headers: HTTPHeaders
    }

    @discardableResult
    /// The request with the admin token of the daemon it goes to.
    static func authorized(_ request: HTTPClientRequest) -> HTTPClientRequest {
        var request = request
        if let token = DaemonProcess.adminToken(for: request.url) {
            request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        }
        return request
    }

    static func call(
        _ method: HTTPMethod,
        _ url: String,
        json: String? = nil,
        bytes: [UInt8]? = nil,
        headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = authorized(HTTPClientRequest(url: url))
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json { request.body = .bytes(ByteBuffer(string: json)) }
        if let bytes { request.body = .bytes(ByteBuffer(bytes: bytes)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        return Reply(status: Int(response.status.code), json: json, headers: response.headers)
    }

    /// A model with one READY version (a small blob) and the alias `prod` on it.
    static func seed(_ daemon: DaemonProcess, model: String = "resnet", versions: Int = 1) async throws -> BlobFixture {
        let api = daemon.baseURL + "/api/v1"
        try #require(try await call(.POST, api + "/models", json: #"{"name":"\#(model)"}"#).status == 201)
        let blob = BlobFixture.onnx(count: 4096)
        try #require(try await call(.PUT, api + "/blobs/\(blob.digest)", bytes: blob.bytes).status == 201)
        for number in 1...versions {
            let files = #"[{"path":"model.onnx","size":\#(blob.size),"digest":"\#(blob.digest)"}]"#
            try #require(
                try await call(.POST, api + "/models/\(model)/versions", json: #"{"files":\#(files)}"#).status == 201
            )
            try #require(try await call(.POST, api + "/models/\(model)/versions/\(number)/commit").status == 200)
        }
        try #require(try await call(.PUT, api + "/models/\(model)/aliases/prod", json: #"{"version":1}"#).status == 200)
        return blob
    }

    // MARK: Tests

    @Test func startsInWellUnderASecondAndCreatesItsDataDirectory() async throws {
        try await withTemporaryDirectory { directory in
            let data = directory.appending(path: "fresh/data")
            let daemon = try DaemonProcess(dataDirectory: data)
            #expect(daemon.startupSeconds < 1.0, "start-up took \(daemon.startupSeconds) s")
            #expect(FileManager.default.fileExists(atPath: data.appending(path: "registry.sqlite").path))
            #expect(FileManager.default.fileExists(atPath: data.appending(path: "blobs/sha256").path))
            #expect(try await Self.call(.GET, daemon.baseURL + "/healthz").status == 200)
            #expect(daemon.terminate() == 0)
        }
    }

    @Test func aSecondDaemonOnTheSameDataDirectoryIsRefusedUntilTheFirstIsGone() async throws {
        try await withTemporaryDirectory { directory in
            let data = directory.appending(path: "data")
            let first = try DaemonProcess(dataDirectory: data)
            // A second daemon on the same directory stops at start-up and names the first one
            do {
                let second = try DaemonProcess(dataDirectory: data)
                Issue.record("a second daemon started on \(data.path), port \(second.port)")
            } catch let error as DaemonError {
                #expect(error.message.contains("is in use by another modelctl serve (pid \(first.processIdentifier))"))
            }
            #expect(try await Self.call(.GET, first.baseURL + "/healthz").status == 200)
            // Killed with SIGKILL, the first leaves no stale lock: the next daemon starts and has the data
            _ = try await Self.seed(first)
            first.kill()
            let next = try DaemonProcess(dataDirectory: data)
            let resolved = try await Self.call(.GET, next.baseURL + "/api/v1/models/resnet/aliases/prod")
            #expect(resolved.status == 200)
            #expect(next.terminate() == 0)
        }
    }

    @Test func killDuringALargeUploadExposesNothingAndLosesNothingCommitted() async throws {
        try await withTemporaryDirectory { directory in
            // Given a daemon with committed state
            let daemon = try DaemonProcess(dataDirectory: directory)
            let small = try await Self.seed(daemon)
            let big = BlobFixture(count: 32 << 20, seed: 7)
            // When it is killed while a 32 MiB upload has sent half its bytes
            let sentHalf = AsyncStream<Void>.makeStream()
            let upload = Task {
                let chunks = stride(from: 0, to: big.size, by: 1 << 20).map {
                    Array(big.bytes[$0..<min($0 + (1 << 20), big.size)])
                }
                let body = AsyncStream<ByteBuffer> { continuation in
                    Task {
                        for (index, chunk) in chunks.enumerated() {
                            continuation.yield(ByteBuffer(bytes: chunk))
                            if index == chunks.count / 2 {
                                sentHalf.continuation.yield()
                                try? await Task.sleep(for: .seconds(30))
                            }
                        }
                        continuation.finish()
                    }
                }
                var request = Self.authorized(HTTPClientRequest(url: daemon.baseURL + "/api/v1/blobs/\(big.digest)"))
                request.method = .PUT
                request.body = .stream(body, length: .known(Int64(big.size)))
                return try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            }
            for await _ in sentHalf.stream { break }
            try await Task.sleep(for: .milliseconds(300))
            daemon.kill()
            _ = try? await upload.value
            // Then after a restart the half upload is invisible and its temporary file is gone
            let restarted = try DaemonProcess(dataDirectory: directory)
            let head = try await Self.call(.HEAD, restarted.baseURL + "/api/v1/blobs/\(big.digest)")
            #expect(head.status == 404)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.appending(path: "tmp").path)
            #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
            // And what was committed before is intact
            let version = try await Self.call(.GET, restarted.baseURL + "/api/v1/models/resnet/aliases/prod")
            #expect(version.status == 200)
            #expect(version.json["status"] as? String == "READY")
            let file = try await Self.call(
                .GET,
                restarted.baseURL + "/api/v1/models/resnet/versions/1/files/model.onnx"
            )
            #expect(file.status == 200)
            #expect(try await Self.call(.HEAD, restarted.baseURL + "/api/v1/blobs/\(small.digest)").status == 200)
            #expect(restarted.terminate() == 0)
        }
    }

    @Test func killDuringPromotionsKeepsEveryAcknowledgedChange() async throws {
        try await withTemporaryDirectory { directory in
            // Given a model with three READY versions
            let daemon = try DaemonProcess(dataDirectory: directory)
            _ = try await Self.seed(daemon, versions: 3)
            let api = daemon.baseURL + "/api/v1/models/resnet"
            // When promotions run in a loop and the daemon is killed in the middle of them
            let acknowledged = try await withThrowingTaskGroup(of: [Int].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var events: [Int] = []
                        for index in 0..<10_000 {
                            let version = (worker + index) % 3 + 1
                            let stage = index % 2 == 0 ? "Production" : "Staging"
                            guard
                                let alias = try? await Self.call(
                                    .PUT,
                                    api + "/aliases/prod",
                                    json: #"{"version":\#(version)}"#
                                ),
                                let promoted = try? await Self.call(
                                    .POST,
                                    api + "/versions/\(version)/stage",
                                    json: #"{"stage":"\#(stage)","archive_existing":true}"#
                                )
                            else { return events }
                            if alias.status == 200, let id = alias.json["event_id"] as? Int { events.append(id) }
                            if promoted.status == 200, let id = promoted.json["event_id"] as? Int { events.append(id) }
                        }
                        return events
                    }
                }
                try await Task.sleep(for: .milliseconds(700))
                daemon.kill()
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(acknowledged.count > 10, "too few promotions before the kill to test anything")
            // Then every acknowledged change is in the audit trail after a restart
            let restarted = try DaemonProcess(dataDirectory: directory)
            var ids = Set<Int>()
            var before: Int?
            repeat {
                let page = try await Self.call(
                    .GET,
                    restarted.baseURL + "/api/v1/models/resnet/history?limit=1000"
                        + (before.map { "&before=\($0)" } ?? "")
                )
                let events = page.json["events"] as? [[String: Any]] ?? []
                ids.formUnion(events.compactMap { $0["id"] as? Int })
                before = page.json["next_before"] as? Int
            } while before != nil
            #expect(Set(acknowledged).isSubset(of: ids))
            // And the state is consistent: the alias points to a READY version, one version at most holds Production
            let alias = try await Self.call(.GET, restarted.baseURL + "/api/v1/models/resnet/aliases/prod")
            #expect(alias.status == 200 && alias.json["status"] as? String == "READY")
            let production = try await Self.call(
                .GET,
                restarted.baseURL + "/api/v1/models/resnet/versions?stage=production"
            )
            #expect((production.json["versions"] as? [Any])?.count ?? 99 <= 1)
            #expect(restarted.terminate() == 0)
        }
    }

    @Test func resumableUploadSurvivesAKilledDaemon() async throws {
        try await withTemporaryDirectory { directory in
            let blob = BlobFixture(count: 3 << 20, seed: 11)
            let half = blob.size / 2
            // Given an upload session with half of the bytes acknowledged
            let daemon = try DaemonProcess(dataDirectory: directory)
            let created = try await Self.call(.POST, daemon.baseURL + "/api/v1/uploads")
            let id = try #require(created.json["id"] as? String)
            let first = try await Self.call(
                .PATCH,
                daemon.baseURL + "/api/v1/uploads/\(id)",
                bytes: Array(blob.bytes[..<half]),
                headers: [("Content-Range", "bytes 0-\(half - 1)/\(blob.size)")]
            )
            #expect(first.status == 200 && first.json["offset"] as? Int == half)
            // When the daemon is killed and restarted
            daemon.kill()
            let restarted = try DaemonProcess(dataDirectory: directory)
            // Then the session reports the acknowledged offset and the upload can be finished from there
            let status = try await Self.call(.GET, restarted.baseURL + "/api/v1/uploads/\(id)")
            #expect(status.json["offset"] as? Int == half)
            #expect(status.headers.first(name: "Upload-Offset") == String(half))
            let rest = try await Self.call(
                .PATCH,
                restarted.baseURL + "/api/v1/uploads/\(id)",
                bytes: Array(blob.bytes[half...]),
                headers: [("Content-Range", "bytes \(half)-\(blob.size - 1)/\(blob.size)")]
            )
            #expect(rest.status == 200 && rest.json["offset"] as? Int == blob.size)
            let finished = try await Self.call(.PUT, restarted.baseURL + "/api/v1/uploads/\(id)?digest=\(blob.digest)")
            #expect(finished.status == 201)
            let download = try await HTTPClient.shared.execute(
                Self.authorized(HTTPClientRequest(url: restarted.baseURL + "/api/v1/blobs/\(blob.digest)")),
                timeout: .seconds(30)
            )
            let bytes = try await download.body.collect(upTo: 16 << 20)
            #expect(Array(buffer: bytes) == blob.bytes)
            #expect(restarted.terminate() == 0)
        }
    }

    @Test func sigtermLetsAnInFlightUploadFinish() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory)
            let blob = BlobFixture(count: 8 << 20, seed: 5)
            let started = AsyncStream<Void>.makeStream()
            // Given an upload that is half sent
            let upload = Task {
                let body = AsyncStream<ByteBuffer> { continuation in
                    Task {
                        let half = blob.size / 2
                        continuation.yield(ByteBuffer(bytes: blob.bytes[..<half]))
                        started.continuation.yield()
                        try? await Task.sleep(for: .milliseconds(800))
                        continuation.yield(ByteBuffer(bytes: blob.bytes[half...]))
                        continuation.finish()
                    }
                }
                var request = Self.authorized(HTTPClientRequest(url: daemon.baseURL + "/api/v1/blobs/\(blob.digest)"))
                request.method = .PUT
                request.body = .stream(body, length: .known(Int64(blob.size)))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                return Int(response.status.code)
            }
            for await _ in started.stream { break }
            try await Task.sleep(for: .milliseconds(200))
            // When the daemon receives SIGTERM
            kill(daemon.processIdentifier, SIGTERM)
            // Then the upload still completes, the daemon exits cleanly, and the blob is stored
            #expect(try await upload.value == 201)
            #expect(daemon.terminate() == 0)
            let restarted = try DaemonProcess(dataDirectory: directory)
            #expect(try await Self.call(.HEAD, restarted.baseURL + "/api/v1/blobs/\(blob.digest)").status == 200)
            #expect(restarted.terminate() == 0)
        }
    }

    @Test func aStalledUploadIsCancelledAfterTheShutdownTimeoutAndLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory, arguments: ["--shutdown-timeout", "1"])
            let blob = BlobFixture(count: 2 << 20, seed: 9)
            // Given an upload that sends half of its body and then stalls
            let socket = try RawSocket(port: daemon.port)
            try socket.send(
                "PUT /api/v1/blobs/\(blob.digest) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(try #require(daemon.adminToken))\r\nContent-Length: \(blob.size)\r\n\r\n"
            )
            try socket.send(Array(blob.bytes[..<(blob.size / 2)]))
            try await Task.sleep(for: .milliseconds(300))
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.appending(path: "tmp").path).count == 1
            )
            // When the daemon is asked to stop
            let stopping = ContinuousClock.now
            kill(daemon.processIdentifier, SIGTERM)
            while daemon.isRunning, ContinuousClock.now - stopping < .seconds(15) {
                try await Task.sleep(for: .milliseconds(100))
            }
            // Then it stops soon after the timeout, and the partial upload is gone rather than half-written
            #expect(!daemon.isRunning, "daemon log:\n\(daemon.log)")
            #expect(ContinuousClock.now - stopping < .seconds(10))
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appending(path: "tmp").path).isEmpty)
            #expect(
                !FileManager.default.fileExists(
                    atPath: directory.appending(path: "blobs/sha256/\(blob.digest.dropFirst(7).prefix(2))").path
                )
            )
        }
    }

    @Test func answersExpectContinueBeforeTheBody() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory)
            // Given a raw connection that announces a body and waits for permission to send it
            let blob = BlobFixture(count: 1024, seed: 3)
            let socket = try RawSocket(port: daemon.port)
            try socket.send(
                "PUT /api/v1/blobs/\(blob.digest) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(try #require(daemon.adminToken))\r\nContent-Length: \(blob.size)\r\nExpect: 100-continue\r\n\r\n"
            )
            // Then the interim answer arrives before any body byte is sent
            let interim = try socket.receive(timeout: 0.5)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"))
            // And the upload completes once the body is sent
            try socket.send(blob.bytes)
            let final = try socket.receive(timeout: 5)
            #expect(final.contains("201 Created"), "got: \(final)")
            #expect(daemon.terminate() == 0)
        }
    }
}

extension DaemonProcessTests {
    @Test func anUploadWithoutCredentialsGets401InsteadOf100Continue() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory)
            // Given a client that announces a large body without an Authorization header
            let blob = BlobFixture(count: 1024, seed: 4)
            let socket = try RawSocket(port: daemon.port)
            try socket.send(
                "PUT /api/v1/blobs/\(blob.digest) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(64 << 20)\r\nExpect: 100-continue\r\n\r\n"
            )
            // Then the first answer is the final 401, so the body is never sent
            let answer = try socket.receive(timeout: 5)
            #expect(answer.hasPrefix("HTTP/1.1 401"), "got: \(answer)")
            #expect(!answer.contains("100 Continue"))
            #expect(answer.lowercased().contains("www-authenticate: bearer realm=\"modelctl\""))
            #expect(daemon.terminate() == 0)
        }
    }
}

/// A blocking TCP connection to 127.0.0.1 for byte-level HTTP checks.
final class RawSocket {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw DaemonError(message: "connect failed: \(errno)") }
    }

    deinit { close(descriptor) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw DaemonError(message: "send failed: \(errno)") }
            offset += sent
        }
    }

    /// Whatever arrives within `timeout` seconds (at least one read).
    func receive(timeout: Double) throws -> String {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return "" }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
    }
}
