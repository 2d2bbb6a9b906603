import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Shared request helpers and wire types of the HTTP API tests. Every helper that "must succeed" records an issue and
// throws (through `#require`) when the registry answers otherwise, so a failing precondition never looks like a pass.

typealias APIClient = any TestClientProtocol

/// `Upload-Offset`, the acknowledged length of a resumable upload.
let uploadOffsetField = HTTPField.Name("Upload-Offset")!
/// `Docker-Content-Digest`, the digest of a blob response.
let contentDigestField = HTTPField.Name("Docker-Content-Digest")!

// MARK: Wire types

struct APIErrorBody: Decodable {
    struct Content: Decodable {
        var code: String
        var message: String
        var details: [String: String]?
    }
    var error: Content
}

struct APIModel: Decodable {
    var name: String
    var description: String
    var tags: [String: String]
    var revision: Int64
    var latestVersion: Int?
    var aliases: [String: Int]
    var createdAt: String
    var updatedAt: String
}

struct APIModelList: Decodable {
    var models: [APIModel]
    var nextPageToken: String?
}

struct APIFile: Decodable, Equatable {
    var path: String
    var size: Int64
    var digest: String
    var role: String?
}

struct APILineage: Decodable, Equatable {
    var runId: String?
    var source: String?
    var gitCommit: String?
    var datasetDigest: String?
}

struct APIVersion: Decodable {
    var model: String
    var version: Int
    var label: String?
    var status: String
    var stage: String
    var aliases: [String]
    var format: String?
    var files: [APIFile]
    var metrics: [String: Double]
    var params: [String: String]
    var tags: [String: String]
    var lineage: APILineage
    var description: String
    var failureReason: String?
    var createdBy: String
}

struct APIVersionList: Decodable {
    var versions: [APIVersion]
    var nextPageToken: String?
}

struct APIStageChange: Decodable {
    struct Move: Decodable, Equatable {
        var version: Int
        var from: String
        var to: String
    }
    var model: String
    var stage: String
    var from: [Int]
    var to: [Int]
    var moves: [Move]
    var revision: Int64
    var eventId: Int64
}

struct APIAliasChange: Decodable {
    var model: String
    var alias: String
    var from: Int?
    var to: Int?
    var revision: Int64
    var eventId: Int64
}

struct APIAliases: Decodable {
    var model: String
    var aliases: [String: Int]
    var revision: Int64
}

struct APIEvent: Decodable {
    var id: Int64
    var model: String
    var kind: String
    var version: Int?
    var subject: String?
    var from: String?
    var to: String?
    var actor: String
    var comment: String?
    var revertsEventId: Int64?
    var revision: Int64
}

struct APIHistory: Decodable {
    var events: [APIEvent]
    var nextBefore: Int64?
}

struct APIBlob: Decodable {
    var digest: String
    var size: Int64
    var created: Bool
}

struct APIUpload: Decodable {
    var id: String
    var offset: Int64
    var location: String
}

// MARK: Responses

extension TestResponse {
    var text: String { String(buffer: body) }

    var bytes: [UInt8] { Array(body.readableBytesView) }

    /// Decodes the JSON body (snake_case keys); records an issue naming the status and body when it does not decode.
    func decode<T: Decodable>(_ type: T.Type, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(type, from: Data(body.readableBytesView))
        } catch {
            Issue.record(
                "cannot decode \(T.self) from \(status.code) \(text): \(error)",
                sourceLocation: sourceLocation
            )
            throw error
        }
    }

    /// The error body, or `nil` when the body is not `{"error": {...}}`.
    var apiError: APIErrorBody.Content? {
        try? JSONDecoder().decode(APIErrorBody.self, from: Data(body.readableBytesView)).error
    }
}

/// Checks an error answer: the status, the JSON error code and that the message names every fragment given.
func expectError(
    _ response: TestResponse,
    _ status: HTTPResponse.Status,
    _ code: String,
    mentioning fragments: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    guard let error = response.apiError else {
        Issue.record(
            "expected a JSON error body with code \(code), got \(response.status.code) '\(response.text)'",
            sourceLocation: sourceLocation
        )
        return
    }
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    #expect(error.code == code, "message: \(error.message)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(
            error.message.contains(fragment),
            "message '\(error.message)' should mention '\(fragment)'",
            sourceLocation: sourceLocation
        )
    }
}

/// Checks the status of a response that must succeed, showing the body when it did not.
func expectStatus(
    _ response: TestResponse,
    _ status: HTTPResponse.Status,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    try #require(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
}

// MARK: Requests

/// Percent-encodes one path segment (everything but unreserved characters).
func segment(_ text: String) -> String {
    text.addingPercentEncoding(
        withAllowedCharacters: CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        )
    ) ?? text
}

/// Sends a request; `json` is serialised with `JSONSerialization` and sent as `application/json`.
@discardableResult
func send(
    _ client: APIClient,
    _ method: HTTPRequest.Method,
    _ uri: String,
    json: Any? = nil,
    body: ByteBuffer? = nil,
    headers: HTTPFields = [:]
) async throws -> TestResponse {
    var headers = headers
    var payload = body
    if let json {
        payload = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        headers[.contentType] = "application/json"
    }
    return try await client.execute(uri: uri, method: method, headers: headers, body: payload)
}

/// A file of a version to create: its path and content.
struct VersionFileSpec {
    var path: String
    var blob: BlobFixture
    var role: String?

    init(_ path: String, _ blob: BlobFixture, role: String? = nil) {
        self.path = path
        self.blob = blob
        self.role = role
    }

    var json: [String: Any] {
        var file: [String: Any] = ["path": path, "size": blob.size, "digest": blob.digest]
        if let role { file["role"] = role }
        return file
    }
}

@discardableResult
func createModel(
    _ client: APIClient,
    _ name: String,
    description: String? = nil,
    tags: [String: String]? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIModel {
    var body: [String: Any] = ["name": name]
    if let description { body["description"] = description }
    if let tags { body["tags"] = tags }
    let response = try await send(client, .post, "/api/v1/models", json: body)
    try expectStatus(response, .created, sourceLocation: sourceLocation)
    return try response.decode(APIModel.self, sourceLocation: sourceLocation)
}

func getModel(
    _ client: APIClient,
    _ name: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIModel {
    let response = try await send(client, .get, "/api/v1/models/\(name)")
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(APIModel.self, sourceLocation: sourceLocation)
}

/// The body of `POST …/versions`.
func versionBody(files: [VersionFileSpec], label: String? = nil, extra: [String: Any] = [:]) -> [String: Any] {
    var body = extra
    body["files"] = files.map(\.json)
    if let label { body["label"] = label }
    return body
}

/// `POST /api/v1/models/{model}/versions` without checking the answer.
func postVersion(
    _ client: APIClient,
    model: String,
    files: [VersionFileSpec],
    label: String? = nil,
    extra: [String: Any] = [:]
) async throws -> TestResponse {
    try await send(
        client,
        .post,
        "/api/v1/models/\(model)/versions",
        json: versionBody(files: files, label: label, extra: extra)
    )
}

/// Creates a PENDING version; it must answer 201.
@discardableResult
func pushVersion(
    _ client: APIClient,
    model: String,
    files: [VersionFileSpec],
    label: String? = nil,
    extra: [String: Any] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIVersion {
    let response = try await postVersion(client, model: model, files: files, label: label, extra: extra)
    try expectStatus(response, .created, sourceLocation: sourceLocation)
    return try response.decode(APIVersion.self, sourceLocation: sourceLocation)
}

/// `PUT /api/v1/blobs/{digest}` with the fixture's bytes (or `bytes` under the fixture's digest).
@discardableResult
func uploadBlob(
    _ client: APIClient,
    _ blob: BlobFixture,
    digest: String? = nil,
    bytes: [UInt8]? = nil
) async throws -> TestResponse {
    try await send(client, .put, "/api/v1/blobs/\(digest ?? blob.digest)", body: ByteBuffer(bytes: bytes ?? blob.bytes))
}

func commitVersion(_ client: APIClient, model: String, version: Int) async throws -> TestResponse {
    try await send(client, .post, "/api/v1/models/\(model)/versions/\(version)/commit")
}

/// Uploads the blobs, creates the version and commits it; returns the READY version.
@discardableResult
func readyVersion(
    _ client: APIClient,
    model: String,
    files: [VersionFileSpec],
    label: String? = nil,
    extra: [String: Any] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIVersion {
    for file in files {
        let upload = try await uploadBlob(client, file.blob)
        try #require(
            upload.status == .created || upload.status == .ok,
            "body: \(upload.text)",
            sourceLocation: sourceLocation
        )
    }
    let created = try await pushVersion(
        client,
        model: model,
        files: files,
        label: label,
        extra: extra,
        sourceLocation: sourceLocation
    )
    let committed = try await commitVersion(client, model: model, version: created.version)
    try expectStatus(committed, .ok, sourceLocation: sourceLocation)
    let version = try committed.decode(APIVersion.self, sourceLocation: sourceLocation)
    try #require(version.status == "READY", sourceLocation: sourceLocation)
    return version
}

/// A READY version with one ONNX file whose content depends on `seed`.
@discardableResult
func readyVersion(
    _ client: APIClient,
    model: String,
    seed: UInt64,
    label: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIVersion {
    try await readyVersion(
        client,
        model: model,
        files: [VersionFileSpec("model.onnx", .onnx(count: 256, seed: seed))],
        label: label,
        sourceLocation: sourceLocation
    )
}

func getVersion(
    _ client: APIClient,
    model: String,
    version: Int,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIVersion {
    let response = try await send(client, .get, "/api/v1/models/\(model)/versions/\(version)")
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(APIVersion.self, sourceLocation: sourceLocation)
}

func setStage(
    _ client: APIClient,
    model: String,
    version: Int,
    stage: String,
    archiveExisting: Bool? = nil,
    comment: String? = nil,
    ifMatch: String? = nil
) async throws -> TestResponse {
    var body: [String: Any] = ["stage": stage]
    if let archiveExisting { body["archive_existing"] = archiveExisting }
    if let comment { body["comment"] = comment }
    var headers: HTTPFields = [:]
    if let ifMatch { headers[.ifMatch] = ifMatch }
    return try await send(
        client,
        .post,
        "/api/v1/models/\(model)/versions/\(version)/stage",
        json: body,
        headers: headers
    )
}

func setAlias(
    _ client: APIClient,
    model: String,
    alias: String,
    version: Int,
    comment: String? = nil,
    ifMatch: String? = nil
) async throws -> TestResponse {
    var body: [String: Any] = ["version": version]
    if let comment { body["comment"] = comment }
    var headers: HTTPFields = [:]
    if let ifMatch { headers[.ifMatch] = ifMatch }
    return try await send(client, .put, "/api/v1/models/\(model)/aliases/\(alias)", json: body, headers: headers)
}

func history(
    _ client: APIClient,
    model: String,
    query: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIHistory {
    let response = try await send(client, .get, "/api/v1/models/\(model)/history\(query)")
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(APIHistory.self, sourceLocation: sourceLocation)
}

/// `sha256:<hex>` of arbitrary bytes.
func sha256Digest(_ bytes: [UInt8]) -> String { BlobFixture(bytes: bytes).digest }

/// The value of an unlabelled sample (`name value`) in Prometheus exposition text.
func metricValue(_ text: String, _ name: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
    }
    return nil
}

// MARK: Raw connections

/// A blocking TCP connection to the live test server, for exchanges the test client cannot express.
/// A TCP connection to the live test server, for exchanges the test client cannot express (interim responses,
/// chunked request bodies). The blocking socket calls run on a dispatch queue, never on the cooperative pool that
/// the server's handlers need. Used by one task at a time.
final class RawHTTPConnection: @unchecked Sendable {
    let descriptor: Int32
    private let queue = DispatchQueue(label: "RawHTTPConnection")

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
    }

    deinit { close(descriptor) }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    func write(_ bytes: [UInt8]) async {
        await onQueue { [descriptor] in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// Reads until `marker` appears (or the 10 s timeout / end of stream), returning everything read.
    func read(until marker: String) async -> String {
        await onQueue { [descriptor] in
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: received, as: UTF8.self).contains(marker) {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }
    }
}
