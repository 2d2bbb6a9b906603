import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// Every route of ``AccessPolicy`` × every kind of caller: 401 without a valid token, 403 when the token may not do
/// it, anything else when it may. Each route runs against its own registry with real fixtures (a model `vision-a`
/// with READY and PENDING versions, a stage, an alias, blobs, upload sessions), so the allowed requests succeed.
@Suite struct AuthorizationMatrixTests {
    /// Who calls: no token, broken tokens, then principals from the least to the most privileged.
    enum Caller: String, CaseIterable, CustomStringConvertible {
        case noToken
        case malformedHeader
        case notAToken
        case wrongSecret
        case unknownID
        case expired
        case revoked
        case deviceOfOtherModel
        case readerOfOtherPattern
        case writerOfOtherPattern
        case deviceOfModel
        case reader
        case writer
        case promoter
        case admin

        var description: String { rawValue }

        var isAuthenticated: Bool {
            switch self {
            case .noToken, .malformedHeader, .notAToken, .wrongSecret, .unknownID, .expired, .revoked: false
            default: true
            }
        }

        var isDevice: Bool { self == .deviceOfModel || self == .deviceOfOtherModel }

        /// The role the caller holds on `model`: the principals of the matrix hold their roles on `vision-*` or
        /// `other-*` (admin on `*`); the devices were given `vision-a` or `other-b`.
        func role(on model: String) -> Role? {
            let vision = model.hasPrefix("vision-")
            let other = model.hasPrefix("other-")
            switch self {
            case .reader: return vision ? .reader : nil
            case .writer: return vision ? .writer : nil
            case .promoter: return vision ? .promoter : nil
            case .admin: return .admin
            case .deviceOfModel: return model == "vision-a" ? .reader : nil
            case .deviceOfOtherModel: return model == "other-b" ? .reader : nil
            case .readerOfOtherPattern: return other ? .reader : nil
            case .writerOfOtherPattern: return other ? .writer : nil
            default: return nil
            }
        }

        /// The strongest role the caller holds on any model.
        var strongestRole: Role? { [role(on: "vision-a"), role(on: "other-b")].compactMap { $0 }.max() }
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case unauthorized
        /// 403 whose message contains this fragment (the role needed, or why no role helps).
        case forbidden(String)
        /// Neither 401 nor 403.
        case allowed
        /// 404: a blob the caller may not read is "not here" for a writer's HEAD, so it uploads the bytes itself.
        case hidden

        var description: String {
            switch self {
            case .unauthorized: "401"
            case .forbidden(let fragment): "403 (\(fragment))"
            case .allowed: "allowed"
            case .hidden: "404"
            }
        }
    }

    /// What the issue asks of each requirement, for each caller, on the model `vision-a`.
    static func expected(_ caller: Caller, route: String) -> Outcome {
        guard let requirement = AccessPolicy.routes[route] else { return .forbidden("no access policy") }
        if requirement == .open { return .allowed }
        guard caller.isAuthenticated else { return .unauthorized }
        func atLeast(_ held: Role?, _ needed: Role) -> Outcome {
            guard let held, held >= needed else { return .forbidden("needs \(needed.rawValue)") }
            return .allowed
        }
        switch requirement {
        case .open, .authenticated:
            return .allowed
        case .people:
            return caller.isDevice ? .forbidden("is a device") : .allowed
        case .administrator:
            return caller == .admin ? .allowed : .forbidden("needs admin on '*'")
        case .model(let role):
            return atLeast(caller.role(on: "vision-a"), role)
        case .someModel(let role):
            // Creating a model also needs the role on the name in the body.
            if route == "POST /api/v1/models" { return atLeast(caller.role(on: "vision-new"), role) }
            // The fixture's upload sessions were started by the admin: to any other writer they do not exist.
            if route.contains("/api/v1/uploads/{id}"), atLeast(caller.strongestRole, role) == .allowed {
                return caller == .admin ? .allowed : .hidden
            }
            return atLeast(caller.strongestRole, role)
        case .blob:
            // Readable through a model that holds it; HEAD (does it exist?) for any writer.
            if caller.role(on: "vision-a") != nil { return .allowed }
            if route.hasPrefix("HEAD "), let strongest = caller.strongestRole, strongest >= .writer { return .hidden }
            return .forbidden("needs reader")
        }
    }

    static let modelBlob = BlobFixture.onnx(count: 256, seed: 101)
    static let otherBlob = BlobFixture.onnx(count: 256, seed: 102)
    static let newBlob = BlobFixture(count: 64, seed: 103)
    static let uploadBytes = BlobFixture(count: 10, seed: 104)

    /// The state every route is tried against.
    struct Fixture {
        /// The `Authorization` header of each caller (none for `noToken`).
        var authorization: [Caller: String]
        /// A token of `user:victim`, who also holds reader on `victim-*` (for the revoke routes).
        var victimTokenID: String
        /// An upload session with nothing uploaded yet.
        var freshUpload: String
        /// An upload session holding ``uploadBytes``.
        var filledUpload: String
    }

    struct RouteRequest {
        var method: HTTPRequest.Method
        var uri: String
        var json: Any?
        var body: ByteBuffer?
        var headers: HTTPFields = [:]

        init(
            _ method: HTTPRequest.Method,
            _ uri: String,
            json: Any? = nil,
            body: ByteBuffer? = nil,
            headers: HTTPFields = [:]
        ) {
            self.method = method
            self.uri = uri
            self.json = json
            self.body = body
            self.headers = headers
        }
    }

    /// A request that succeeds for a caller allowed to make it, for each route of the policy; `nil` for a route this
    /// table does not know yet (the test then fails, so new routes get a row).
    static func request(for route: String, _ fixture: Fixture) -> RouteRequest? {
        let model = "/api/v1/models/vision-a"
        switch route {
        case "GET /healthz": return RouteRequest(.get, "/healthz")
        case "GET /readyz": return RouteRequest(.get, "/readyz")
        case "GET /metrics": return RouteRequest(.get, "/metrics")
        case "GET /api/v1/openapi.yaml": return RouteRequest(.get, "/api/v1/openapi.yaml")
        case "GET /api/v1/whoami": return RouteRequest(.get, "/api/v1/whoami")
        case "GET /api/v1/tokens": return RouteRequest(.get, "/api/v1/tokens")
        case "POST /api/v1/tokens":
            return RouteRequest(.post, "/api/v1/tokens", json: ["principal": "newcomer", "kind": "user"])
        case "DELETE /api/v1/tokens/{id}": return RouteRequest(.delete, "/api/v1/tokens/\(fixture.victimTokenID)")
        case "GET /api/v1/principals": return RouteRequest(.get, "/api/v1/principals")
        case "GET /api/v1/principals/{principal}": return RouteRequest(.get, "/api/v1/principals/victim")
        case "PUT /api/v1/principals/{principal}/roles/{pattern}":
            return RouteRequest(.put, "/api/v1/principals/victim/roles/victim-%2A", json: ["role": "writer"])
        case "DELETE /api/v1/principals/{principal}/roles/{pattern}":
            return RouteRequest(.delete, "/api/v1/principals/victim/roles/victim-%2A")
        case "POST /api/v1/models": return RouteRequest(.post, "/api/v1/models", json: ["name": "vision-new"])
        case "GET /api/v1/models": return RouteRequest(.get, "/api/v1/models")
        case "GET /api/v1/models/{name}": return RouteRequest(.get, model)
        case "PATCH /api/v1/models/{name}": return RouteRequest(.patch, model, json: ["description": "changed"])
        case "DELETE /api/v1/models/{name}": return RouteRequest(.delete, "\(model)?force=true")
        case "GET /api/v1/models/{name}/history": return RouteRequest(.get, "\(model)/history")
        case "POST /api/v1/models/{name}/versions":
            let file: [String: Any] = ["path": "model.onnx", "size": modelBlob.size, "digest": modelBlob.digest]
            return RouteRequest(.post, "\(model)/versions", json: ["files": [file]])
        case "GET /api/v1/models/{name}/versions": return RouteRequest(.get, "\(model)/versions")
        case "GET /api/v1/models/{name}/versions/{version}": return RouteRequest(.get, "\(model)/versions/1")
        case "PATCH /api/v1/models/{name}/versions/{version}":
            return RouteRequest(.patch, "\(model)/versions/1", json: ["description": "changed"])
        case "POST /api/v1/models/{name}/versions/{version}/commit":
            return RouteRequest(.post, "\(model)/versions/2/commit")
        case "POST /api/v1/models/{name}/versions/{version}/fail":
            return RouteRequest(.post, "\(model)/versions/3/fail", json: ["reason": "broken"])
        case "POST /api/v1/models/{name}/versions/{version}/stage":
            return RouteRequest(.post, "\(model)/versions/1/stage", json: ["stage": "Staging"])
        case "GET /api/v1/models/{name}/versions/{version}/files/**":
            return RouteRequest(.get, "\(model)/versions/1/files/model.onnx")
        case "HEAD /api/v1/models/{name}/versions/{version}/files/**":
            return RouteRequest(.head, "\(model)/versions/1/files/model.onnx")
        case "GET /api/v1/models/{name}/labels/{label}": return RouteRequest(.get, "\(model)/labels/first")
        case "GET /api/v1/models/{name}/stages/{stage}": return RouteRequest(.get, "\(model)/stages/Production")
        case "POST /api/v1/models/{name}/stages/{stage}/rollback":
            return RouteRequest(.post, "\(model)/stages/Production/rollback")
        case "GET /api/v1/models/{name}/aliases": return RouteRequest(.get, "\(model)/aliases")
        case "GET /api/v1/models/{name}/aliases/{alias}": return RouteRequest(.get, "\(model)/aliases/champion")
        case "PUT /api/v1/models/{name}/aliases/{alias}":
            return RouteRequest(.put, "\(model)/aliases/challenger", json: ["version": 1])
        case "DELETE /api/v1/models/{name}/aliases/{alias}":
            return RouteRequest(.delete, "\(model)/aliases/champion")
        case "POST /api/v1/models/{name}/aliases/{alias}/rollback":
            return RouteRequest(.post, "\(model)/aliases/champion/rollback")
        case "HEAD /api/v1/blobs/{digest}": return RouteRequest(.head, "/api/v1/blobs/\(modelBlob.digest)")
        case "GET /api/v1/blobs/{digest}": return RouteRequest(.get, "/api/v1/blobs/\(modelBlob.digest)")
        case "PUT /api/v1/blobs/{digest}":
            return RouteRequest(.put, "/api/v1/blobs/\(newBlob.digest)", body: ByteBuffer(bytes: newBlob.bytes))
        case "POST /api/v1/uploads": return RouteRequest(.post, "/api/v1/uploads")
        case "GET /api/v1/uploads/{id}": return RouteRequest(.get, "/api/v1/uploads/\(fixture.freshUpload)")
        case "HEAD /api/v1/uploads/{id}": return RouteRequest(.head, "/api/v1/uploads/\(fixture.freshUpload)")
        case "PATCH /api/v1/uploads/{id}":
            return RouteRequest(
                .patch,
                "/api/v1/uploads/\(fixture.freshUpload)",
                body: ByteBuffer(bytes: uploadBytes.bytes),
                headers: [.contentRange: "bytes 0-9/10"]
            )
        case "PUT /api/v1/uploads/{id}":
            return RouteRequest(.put, "/api/v1/uploads/\(fixture.filledUpload)?digest=\(uploadBytes.digest)")
        case "DELETE /api/v1/uploads/{id}": return RouteRequest(.delete, "/api/v1/uploads/\(fixture.freshUpload)")
        default: return nil
        }
    }

    /// Builds the fixture as the administrator.
    static func makeFixture(_ registry: AuthRegistry) async throws -> Fixture {
        let client = registry.client
        let admin = registry.adminToken
        // vision-a: v1 READY (label first, in Production, alias champion), v2 and v3 PENDING; other-b: v1 READY.
        try await createModel(client, token: admin, "vision-a")
        try await readyVersion(client, token: admin, model: "vision-a", blob: modelBlob, label: "first")
        try expectStatus(
            try await send(
                client,
                .post,
                "/api/v1/models/vision-a/versions/1/stage",
                token: admin,
                json: ["stage": "Production"]
            ),
            .ok
        )
        try expectStatus(
            try await send(
                client,
                .put,
                "/api/v1/models/vision-a/aliases/champion",
                token: admin,
                json: ["version": 1]
            ),
            .ok
        )
        try await pendingVersion(client, token: admin, model: "vision-a", blob: modelBlob)
        try await pendingVersion(client, token: admin, model: "vision-a", blob: modelBlob)
        try await createModel(client, token: admin, "other-b")
        try await readyVersion(client, token: admin, model: "other-b", blob: otherBlob)

        // The callers. Principal names hold no role name, so a 403 message naming the role needed is not confused
        // with one naming the caller.
        var tokens: [Caller: String] = [.admin: admin]
        let principals: [(Caller, String, String, String)] = [
            (.reader, "rita", "reader", "vision-*"),
            (.writer, "walt", "writer", "vision-*"),
            (.promoter, "pam", "promoter", "vision-*"),
            (.readerOfOtherPattern, "oscar", "reader", "other-*"),
            (.writerOfOtherPattern, "olga", "writer", "other-*"),
        ]
        for (caller, principal, role, pattern) in principals {
            tokens[caller] = try await tokenWithRole(
                client,
                admin: admin,
                principal: principal,
                role: role,
                pattern: pattern
            )
        }
        tokens[.deviceOfModel] = try await deviceToken(client, admin: admin, device: "cam-a", models: ["vision-a"])
            .token
        tokens[.deviceOfOtherModel] = try await deviceToken(client, admin: admin, device: "cam-b", models: ["other-b"])
            .token
        // An administrator whose token was revoked, one whose token expired.
        let gone = try await createToken(client, admin: admin, principal: "gone")
        try await grantRole(client, admin: admin, principal: "gone", pattern: "*", role: "admin")
        try expectStatus(try await send(client, .delete, "/api/v1/tokens/\(gone.id)", token: admin), .ok)
        tokens[.revoked] = gone.token
        tokens[.expired] = try await registry.expiredToken(principal: "late").text
        tokens[.unknownID] = AccessToken.generate().text
        // The administrator's id with another secret.
        let adminID = try #require(AccessToken(parsing: admin)).id
        tokens[.wrongSecret] = "mctl_\(adminID)_\(AccessToken.generate().text.suffix(43))"

        var authorization = tokens.mapValues { "Bearer \($0)" }
        authorization[.malformedHeader] = "Basic YWRtaW46c2VjcmV0"
        authorization[.notAToken] = "Bearer mctl_not-a-token"

        // Targets of the revoke routes.
        let victim = try await createToken(client, admin: admin, principal: "victim")
        try await grantRole(client, admin: admin, principal: "victim", pattern: "victim-*", role: "reader")

        // Upload sessions: one empty, one holding uploadBytes.
        func newUpload() async throws -> String {
            let response = try await send(client, .post, "/api/v1/uploads", token: admin)
            try expectStatus(response, .created)
            return try response.decode(APIUpload.self).id
        }
        let freshUpload = try await newUpload()
        let filledUpload = try await newUpload()
        try expectStatus(
            try await send(
                client,
                .patch,
                "/api/v1/uploads/\(filledUpload)",
                token: admin,
                body: ByteBuffer(bytes: uploadBytes.bytes),
                headers: [.contentRange: "bytes 0-9/10"]
            ),
            .ok
        )
        return Fixture(
            authorization: authorization,
            victimTokenID: victim.id,
            freshUpload: freshUpload,
            filledUpload: filledUpload
        )
    }

    // MARK: Tests

    @Test(arguments: AccessPolicy.routes.keys.sorted())
    func everyCallerGetsTheStatusItsTokenAllows(route: String) async throws {
        try await withAuthRegistry { registry in
            // Given the fixture and a request for the route that succeeds when allowed
            let fixture = try await Self.makeFixture(registry)
            let request = try #require(Self.request(for: route, fixture), "no request for \(route) in the matrix")
            var someoneSucceeded = false
            for caller in Caller.allCases {
                // When the caller sends it
                let response = try await send(
                    registry.client,
                    request.method,
                    request.uri,
                    authorization: fixture.authorization[caller],
                    json: request.json,
                    body: request.body,
                    headers: request.headers
                )
                // Then the status is the one its token allows
                let what = "\(route) as \(caller):"
                switch Self.expected(caller, route: route) {
                case .unauthorized:
                    expectUnauthorized(response, what)
                case .forbidden(let fragment):
                    expectForbidden(response, mentioning: [fragment], what)
                case .hidden:
                    #expect(response.status == .notFound, "\(what) expected 404, got \(response.status.code)")
                case .allowed:
                    #expect(
                        response.status != .unauthorized && response.status != .forbidden,
                        "\(what) expected to be allowed, got \(response.status.code) \(response.text)"
                    )
                    // And the first caller allowed gets through to a real success (the fixture is real)
                    if !someoneSucceeded {
                        someoneSucceeded = true
                        #expect(response.status.code < 400, "\(what) \(response.status.code) \(response.text)")
                    }
                }
            }
        }
    }

    @Test func everyRouteTheRouterServesHasAnAccessPolicyEntry() async throws {
        try await withTemporaryDirectory { directory in
            // Given the router the daemon serves
            let service = try openRegistry(dataDirectory: directory)
            let router = buildRouter(
                service: service,
                metrics: RegistryMetrics(),
                authenticator: Authenticator(mode: .tokens, store: service.metadata)
            )
            let served = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
            // When compared with the access policy
            let policy = Set(AccessPolicy.routes.keys)
            // Then every served route has a requirement, and the policy names no route that does not exist
            #expect(served.subtracting(policy).sorted() == [], "served without an access policy entry")
            #expect(policy.subtracting(served).sorted() == [], "in the access policy but not served")
            // And only the probes are open
            #expect(AccessPolicy.routes.filter { $0.value == .open }.keys.sorted() == ["GET /healthz", "GET /readyz"])
        }
    }

    @Test func anUnknownRouteIs401WithoutATokenAnd404WithOne() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given an unknown path and a known path with a method it does not serve
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/nothing-here"), (.delete, "/api/v1/whoami")] {
                // When asked without a token, with a bad one and with the admin token
                let anonymous = try await send(client, method, uri, authorization: nil)
                let badToken = try await send(client, method, uri, token: AccessToken.generate().text)
                let admin = try await send(client, method, uri, token: registry.adminToken)
                // Then the route is not revealed before the token is checked
                expectUnauthorized(anonymous, "\(method) \(uri) without a token:")
                expectUnauthorized(badToken, "\(method) \(uri) with an unknown token:")
                expectError(admin, .notFound, "not_found")
            }
        }
    }

    @Test func twoAuthorizationHeadersAreRefused() async throws {
        try await withAuthRegistry { registry in
            // Given a request carrying the admin token twice
            var headers: HTTPFields = [:]
            headers.append(HTTPField(name: .authorization, value: "Bearer \(registry.adminToken)"))
            headers.append(HTTPField(name: .authorization, value: "Bearer \(registry.adminToken)"))
            // When it is sent
            let response = try await send(registry.client, .get, "/api/v1/whoami", headers: headers)
            // Then it is 401 (which one counts would be ambiguous)
            expectUnauthorized(response)
        }
    }

    @Test func theSchemeIsCaseInsensitiveButTheTokenIsNot() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // When the scheme is written in lower case, and the token in upper case
            let lower = try await send(client, .get, "/api/v1/whoami", authorization: "bearer \(registry.adminToken)")
            let upper = try await send(client, .get, "/api/v1/whoami", token: registry.adminToken.uppercased())
            // Then the first is accepted (RFC 9110: schemes are case-insensitive), the second refused
            try expectStatus(lower, .ok)
            expectUnauthorized(upper)
        }
    }

    @Test func aPercentEncodedModelNameIsAuthorizedAsTheHandlerReadsIt() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given the models vision-a and secretA, a reader of exactly vision-a, and a writer on '*41' (model names
            // ending in 41, which secretA does not)
            try await createModel(client, token: admin, "vision-a")
            try await createModel(client, token: admin, "secretA")
            let reader = try await tokenWithRole(
                client,
                admin: admin,
                principal: "erin",
                role: "reader",
                pattern: "vision-a"
            )
            let writer = try await tokenWithRole(
                client,
                admin: admin,
                principal: "mallory",
                role: "writer",
                pattern: "*41"
            )
            // When the reader reads its model with '-' percent-encoded, and the writer edits secret%41 (= secretA)
            let read = try await send(client, .get, "/api/v1/models/vision%2Da", token: reader)
            let write = try await send(
                client,
                .patch,
                "/api/v1/models/secret%41",
                token: writer,
                json: ["description": "not yours"]
            )
            // Then the reader may read vision-a however it is spelled
            #expect(read.status == .ok, "body: \(read.text)")
            // And the writer may not touch secretA, which its pattern does not cover
            expectForbidden(write, mentioning: ["writer"])
            let secret = try await send(client, .get, "/api/v1/models/secretA", token: admin)
            #expect(try secret.decode(APIModel.self).description == "")
        }
    }

    @Test func aWriterCannotReadABlobOfAnotherModelByReferencingItsDigest() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given vision-a holding a file, and a writer of other-* who knows its digest but may not read vision-a
            try await createModel(client, token: admin, "vision-a")
            try await readyVersion(client, token: admin, model: "vision-a", blob: Self.modelBlob)
            try await createModel(client, token: admin, "other-b")
            let writer = try await tokenWithRole(
                client,
                admin: admin,
                principal: "olga",
                role: "writer",
                pattern: "other-*"
            )
            let before = try await send(client, .get, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            #expect(before.status == .forbidden, "body: \(before.text)")
            // When the writer pushes a version of its own model naming that digest, without uploading the bytes
            let file: [String: Any] = [
                "path": "model.onnx", "size": Self.modelBlob.size, "digest": Self.modelBlob.digest,
            ]
            _ = try await send(client, .post, "/api/v1/models/other-b/versions", token: writer, json: ["files": [file]])
            let commit = try await send(client, .post, "/api/v1/models/other-b/versions/1/commit", token: writer)
            let download = try await send(
                client,
                .get,
                "/api/v1/models/other-b/versions/1/files/model.onnx",
                token: writer
            )
            let blob = try await send(client, .get, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            // Then the commit does not adopt bytes the writer never sent and may not read
            #expect(commit.status != .ok, "committed with another model's blob: \(commit.text)")
            // And neither the file nor the blob gives it vision-a's content
            let leakedThroughFile = download.bytes == Self.modelBlob.bytes
            let leakedThroughBlob = blob.bytes == Self.modelBlob.bytes
            #expect(!leakedThroughFile, "vision-a's file was served through other-b (\(download.status.code))")
            #expect(!leakedThroughBlob, "vision-a's blob was served to a writer of other-* (\(blob.status.code))")
        }
    }

    @Test func aWriterWhoUploadsTheSameBytesMayUseThemAndWrongBytesAreRefused() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given vision-a holding a file, and a writer of other-* that has the same bytes
            try await createModel(client, token: admin, "vision-a")
            try await readyVersion(client, token: admin, model: "vision-a", blob: Self.modelBlob)
            try await createModel(client, token: admin, "other-b")
            let writer = try await tokenWithRole(
                client,
                admin: admin,
                principal: "olga",
                role: "writer",
                pattern: "other-*"
            )
            // Then HEAD says "not here" to it (so a client uploads), and the admin sees the blob
            let head = try await send(client, .head, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            #expect(head.status == .notFound)
            let adminHead = try await send(client, .head, "/api/v1/blobs/\(Self.modelBlob.digest)", token: admin)
            #expect(adminHead.status == .ok)
            // When it sends other bytes under that digest, they are refused (the body is read, not skipped)
            let wrong = try await send(
                client,
                .put,
                "/api/v1/blobs/\(Self.modelBlob.digest)",
                token: writer,
                body: ByteBuffer(bytes: Self.otherBlob.bytes)
            )
            #expect(wrong.status == .unprocessableContent, "\(wrong.status.code) \(wrong.text)")
            // When it sends the right bytes, the stored copy is kept (200, not created) and it may use and read them
            let upload = try await send(
                client,
                .put,
                "/api/v1/blobs/\(Self.modelBlob.digest)",
                token: writer,
                body: ByteBuffer(bytes: Self.modelBlob.bytes)
            )
            #expect(upload.status == .ok, "\(upload.status.code) \(upload.text)")
            let file: [String: Any] = [
                "path": "model.onnx", "size": Self.modelBlob.size, "digest": Self.modelBlob.digest,
            ]
            let created = try await send(
                client,
                .post,
                "/api/v1/models/other-b/versions",
                token: writer,
                json: ["files": [file]]
            )
            #expect(created.status == .created, "\(created.text)")
            let commit = try await send(client, .post, "/api/v1/models/other-b/versions/1/commit", token: writer)
            #expect(commit.status == .ok, "\(commit.text)")
            let blob = try await send(client, .get, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            #expect(blob.bytes == Self.modelBlob.bytes)
        }
    }
}
