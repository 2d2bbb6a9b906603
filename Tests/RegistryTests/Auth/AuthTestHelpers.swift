import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import TestSupport
import Testing

@testable import Registry

// Shared helpers of the authentication tests: a registry with tokens on, requests that carry a token, tokens and role
// bindings made through the API, and a log handler that keeps every line. The helpers of `APITestHelpers.swift` send
// no `Authorization` header, so the fixtures here are built with their own token-carrying requests.

// MARK: Wire types

struct APICreatedToken: Decodable {
    var token: String
    var id: String
    var principal: String
    var kind: String
    var status: String
    var createdBy: String
    var expiresAt: String?
}

struct APIToken: Decodable {
    var id: String
    var principal: String
    var kind: String
    var description: String
    var status: String
    var createdBy: String
    var expiresAt: String?
    var revokedAt: String?
    var revokedBy: String?
}

struct APITokenList: Decodable {
    var tokens: [APIToken]
}

struct APIRoleBinding: Decodable, Equatable {
    var pattern: String
    var role: String
}

struct APIRoleChange: Decodable, Equatable {
    var principal: String
    var pattern: String
    var from: String?
    var to: String?
}

struct APIPrincipal: Decodable {
    var name: String
    var kind: String
    var roles: [APIRoleBinding]
    var models: [String]?
    var activeTokens: Int
}

struct APIWhoAmI: Decodable {
    struct Token: Decodable {
        var id: String
        var expiresAt: String?
    }
    var principal: String
    var id: String
    var kind: String?
    var authentication: String
    var token: Token?
    var roles: [APIRoleBinding]
    var models: [String]?
}

// MARK: Registry with authentication

/// A test registry with authentication on, as the daemon starts it: the first start wrote the admin token to
/// `DATA_DIR/admin-token`.
struct AuthRegistry: Sendable {
    let client: any TestClientProtocol
    let directory: URL
    /// The token of `user:admin`, holding admin on `*`.
    let adminToken: String

    /// The registry's metadata store opened a second time on the same file, for what the API refuses to do (a token
    /// that has already expired).
    func store() throws -> SQLiteMetadataStore {
        SQLiteMetadataStore(database: try RegistryDatabase(path: directory.appending(path: "registry.sqlite").path))
    }

    /// A token whose expiry is an hour ago, created through the store; its principal (a user) holds `role` on `*`, so
    /// only the expiry can refuse it.
    func expiredToken(principal: String, role: Role = .admin) async throws -> AccessToken {
        let store = try store()
        let token = AccessToken.generate()
        _ = try await store.createToken(
            token,
            principal: principal,
            kind: .user,
            description: "expired",
            expiresAt: Date().addingTimeInterval(-3600),
            deviceModels: [],
            actor: .system
        )
        _ = try await store.grantRole(principal: principal, pattern: .all, role: role, actor: .system)
        return token
    }
}

/// A logger that drops everything below warning, as the other HTTP tests use.
let quietLogger: Logger = {
    var logger = Logger(label: "modelctl.test")
    logger.logLevel = .warning
    return logger
}()

/// Builds the registry with bearer tokens on a fresh temporary directory (the same `buildApplication` the daemon
/// calls, so a custom logger can be passed) and runs `test` with the admin token of the first start.
func withAuthRegistry(
    _ mode: TestingSetup = .router,
    logger: Logger = quietLogger,
    _ test: @escaping @Sendable (AuthRegistry) async throws -> Void
) async throws {
    try await withTemporaryDirectory { directory in
        let app = try await buildApplication(
            configuration: RegistryConfiguration(
                host: "127.0.0.1",
                port: 0,
                dataDirectory: directory,
                authentication: .tokens
            ),
            logger: logger
        )
        let adminToken = try readAdminTokenFile(in: directory)
        try await app.test(mode) { client in
            try await test(AuthRegistry(client: client, directory: directory, adminToken: adminToken))
        }
    }
}

/// The token in `DATA_DIR/admin-token`, without its trailing newline.
func readAdminTokenFile(in directory: URL) throws -> String {
    try String(contentsOf: directory.appending(path: adminTokenFileName), encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

// MARK: Requests

/// Sends a request with `authorization` as the `Authorization` header (none when `nil`).
@discardableResult
func send(
    _ client: APIClient,
    _ method: HTTPRequest.Method,
    _ uri: String,
    authorization: String?,
    json: Any? = nil,
    body: ByteBuffer? = nil,
    headers: HTTPFields = [:]
) async throws -> TestResponse {
    var headers = headers
    if let authorization { headers[.authorization] = authorization }
    return try await send(client, method, uri, json: json, body: body, headers: headers)
}

/// Sends a request with `Authorization: Bearer <token>`.
@discardableResult
func send(
    _ client: APIClient,
    _ method: HTTPRequest.Method,
    _ uri: String,
    token: String,
    json: Any? = nil,
    body: ByteBuffer? = nil,
    headers: HTTPFields = [:]
) async throws -> TestResponse {
    try await send(client, method, uri, authorization: "Bearer \(token)", json: json, body: body, headers: headers)
}

/// `POST /api/v1/tokens` as `admin`; it must answer 201.
@discardableResult
func createToken(
    _ client: APIClient,
    admin: String,
    principal: String,
    kind: String? = "user",
    models: [String]? = nil,
    expiresAt: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APICreatedToken {
    var body: [String: Any] = ["principal": principal]
    if let kind { body["kind"] = kind }
    if let models { body["models"] = models }
    if let expiresAt { body["expires_at"] = expiresAt }
    let response = try await send(client, .post, "/api/v1/tokens", token: admin, json: body)
    try expectStatus(response, .created, sourceLocation: sourceLocation)
    return try response.decode(APICreatedToken.self, sourceLocation: sourceLocation)
}

/// `PUT /api/v1/principals/{principal}/roles/{pattern}` as `admin`, without checking the answer.
func putRole(
    _ client: APIClient,
    admin: String,
    principal: String,
    pattern: String,
    role: String
) async throws -> TestResponse {
    try await send(
        client,
        .put,
        "/api/v1/principals/\(segment(principal))/roles/\(segment(pattern))",
        token: admin,
        json: ["role": role]
    )
}

/// Gives `principal` `role` on `pattern`; it must answer 200.
@discardableResult
func grantRole(
    _ client: APIClient,
    admin: String,
    principal: String,
    pattern: String,
    role: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIRoleChange {
    let response = try await putRole(client, admin: admin, principal: principal, pattern: pattern, role: role)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(APIRoleChange.self, sourceLocation: sourceLocation)
}

/// A new principal with one token and `role` on `pattern`; returns the token.
func tokenWithRole(
    _ client: APIClient,
    admin: String,
    principal: String,
    kind: String = "user",
    role: String,
    pattern: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> String {
    let created = try await createToken(
        client,
        admin: admin,
        principal: principal,
        kind: kind,
        sourceLocation: sourceLocation
    )
    try await grantRole(
        client,
        admin: admin,
        principal: principal,
        pattern: pattern,
        role: role,
        sourceLocation: sourceLocation
    )
    return created.token
}

/// A device token that may read `models`.
func deviceToken(
    _ client: APIClient,
    admin: String,
    device: String,
    models: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APICreatedToken {
    try await createToken(
        client,
        admin: admin,
        principal: device,
        kind: "device",
        models: models,
        sourceLocation: sourceLocation
    )
}

func whoami(
    _ client: APIClient,
    token: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> APIWhoAmI {
    let response = try await send(client, .get, "/api/v1/whoami", token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(APIWhoAmI.self, sourceLocation: sourceLocation)
}

// MARK: Model fixtures

/// Creates `name` as the holder of `token`; it must answer 201.
func createModel(
    _ client: APIClient,
    token: String,
    _ name: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let response = try await send(client, .post, "/api/v1/models", token: token, json: ["name": name])
    try expectStatus(response, .created, sourceLocation: sourceLocation)
}

/// Uploads `blob`; it must answer 201 or 200.
func uploadBlob(
    _ client: APIClient,
    token: String,
    _ blob: BlobFixture,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let response = try await send(
        client,
        .put,
        "/api/v1/blobs/\(blob.digest)",
        token: token,
        body: ByteBuffer(bytes: blob.bytes)
    )
    try #require(response.status == .created || response.status == .ok, "body: \(response.text)")
}

/// Creates a PENDING version of `model` with one file `model.onnx` holding `blob`; returns its number.
@discardableResult
func pendingVersion(
    _ client: APIClient,
    token: String,
    model: String,
    blob: BlobFixture,
    label: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> Int {
    var body: [String: Any] = ["files": [["path": "model.onnx", "size": blob.size, "digest": blob.digest]]]
    if let label { body["label"] = label }
    let response = try await send(client, .post, "/api/v1/models/\(model)/versions", token: token, json: body)
    try expectStatus(response, .created, sourceLocation: sourceLocation)
    return try response.decode(APIVersion.self, sourceLocation: sourceLocation).version
}

/// Uploads `blob`, creates a version of `model` with it and commits it; returns the READY version's number.
@discardableResult
func readyVersion(
    _ client: APIClient,
    token: String,
    model: String,
    blob: BlobFixture,
    label: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> Int {
    try await uploadBlob(client, token: token, blob, sourceLocation: sourceLocation)
    let number = try await pendingVersion(
        client,
        token: token,
        model: model,
        blob: blob,
        label: label,
        sourceLocation: sourceLocation
    )
    let commit = try await send(client, .post, "/api/v1/models/\(model)/versions/\(number)/commit", token: token)
    try expectStatus(commit, .ok, sourceLocation: sourceLocation)
    return number
}

// MARK: Checks

/// Checks a 401: the status, the challenge and the JSON error code.
func expectUnauthorized(
    _ response: TestResponse,
    _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == .unauthorized, "\(what()) body: \(response.text)", sourceLocation: sourceLocation)
    #expect(
        response.headers[.wwwAuthenticate]?.hasPrefix(#"Bearer realm="modelctl""#) == true,
        "\(what()) WWW-Authenticate: \(response.headers[.wwwAuthenticate] ?? "none")",
        sourceLocation: sourceLocation
    )
    #expect(
        response.apiError?.code == "unauthorized",
        "\(what()) body: \(response.text)",
        sourceLocation: sourceLocation
    )
}

/// Checks a 403 whose message names every fragment.
func expectForbidden(
    _ response: TestResponse,
    mentioning fragments: [String] = [],
    _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == .forbidden, "\(what()) body: \(response.text)", sourceLocation: sourceLocation)
    guard response.status == .forbidden else { return }
    #expect(response.apiError?.code == "forbidden", "\(what()) body: \(response.text)", sourceLocation: sourceLocation)
    let message = response.apiError?.message ?? ""
    for fragment in fragments {
        #expect(
            message.contains(fragment),
            "\(what()) message '\(message)' should mention '\(fragment)'",
            sourceLocation: sourceLocation
        )
    }
}

// MARK: Secrets

extension AccessToken {
    /// Every form in which this token's secret could leak: the whole token, the secret, and the SHA-256 of the
    /// secret as hex (both cases), base64 and base64url.
    var secretForms: [String] {
        let secret = String(text.dropFirst(Self.prefix.count + Self.idLength + 1))
        let hash = secretHash
        let hex = hash.map { String(format: "%02x", $0) }.joined()
        let base64 = hash.base64EncodedString()
        let base64URL = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return [text, secret, hex, hex.uppercased(), base64, base64URL]
    }
}

// MARK: Log capture

/// Keeps every log line written through its loggers (level, message, metadata, error), at trace level.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// A logger at trace level whose lines this capture keeps.
    func logger() -> Logger {
        var logger = Logger(label: "modelctl.test.capture") { label in Handler(label: label, capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
            if let own = event.metadata { merged.merge(own) { $1 } }
            let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let error = event.error.map { " error=\(String(reflecting: $0))" } ?? ""
            capture.append("\(event.level) [\(label)] \(event.message) \(rendered)\(error)")
        }
    }
}
