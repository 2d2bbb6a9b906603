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

/// No token, secret or hash of a secret ever reaches the log (at trace level) or an error body.
@Suite struct SecretsNeverLoggedTests {
    static let blob = BlobFixture.onnx(count: 128, seed: 401)

    // MARK: Tests

    @Test(arguments: [TestingSetup.router, .live])
    func noLogLineOrErrorBodyHoldsATokenItsSecretOrItsHash(mode: TestingSetup) async throws {
        let capture = LogCapture()
        let presented = Mutex<[AccessToken]>([])
        let errorBodies = Mutex<[String]>([])
        try await withAuthRegistry(mode, logger: capture.logger()) { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Records the error body of an answer, and the token presented
            @Sendable func call(
                _ method: HTTPRequest.Method,
                _ uri: String,
                authorization: String?,
                json: Any? = nil
            ) async throws -> TestResponse {
                let response = try await send(client, method, uri, authorization: authorization, json: json)
                if response.status.code >= 400 { errorBodies.withLock { $0.append(response.text) } }
                if let text = authorization?.split(separator: " ").last, let token = AccessToken(parsing: text) {
                    presented.withLock { $0.append(token) }
                }
                return response
            }
            // Given tokens created over the API (valid, then revoked), one expired, the admin token
            let alice = try await createToken(client, admin: admin, principal: "alice")
            try await grantRole(client, admin: admin, principal: "alice", pattern: "vision-*", role: "writer")
            let gone = try await createToken(client, admin: admin, principal: "gone")
            let device = try await deviceToken(client, admin: admin, device: "cam-1", models: ["vision-a"])
            let expired = try await registry.expiredToken(principal: "late")
            let wrongSecret = "mctl_\(alice.id)_\(AccessToken.generate().text.suffix(43))"
            let unknown = AccessToken.generate().text
            // When they are used for successes and failures of every kind
            _ = try await call(.delete, "/api/v1/tokens/\(gone.id)", authorization: "Bearer \(admin)")
            _ = try await call(
                .post,
                "/api/v1/models",
                authorization: "Bearer \(alice.token)",
                json: ["name": "vision-a"]
            )
            _ = try await call(.get, "/api/v1/whoami", authorization: "Bearer \(alice.token)")
            _ = try await call(.get, "/api/v1/tokens", authorization: "Bearer \(alice.token)")
            _ = try await call(.delete, "/api/v1/models/vision-a", authorization: "Bearer \(alice.token)")
            _ = try await call(.get, "/api/v1/models/other", authorization: "Bearer \(alice.token)")
            _ = try await call(.get, "/api/v1/nothing", authorization: "Bearer \(alice.token)")
            _ = try await call(.get, "/api/v1/models/vision-a", authorization: "Bearer \(device.token)")
            _ = try await call(.get, "/metrics", authorization: "Bearer \(device.token)")
            _ = try await call(.get, "/api/v1/whoami", authorization: "Bearer \(gone.token)")
            _ = try await call(.get, "/api/v1/whoami", authorization: "Bearer \(expired.text)")
            _ = try await call(.get, "/api/v1/whoami", authorization: "Bearer \(wrongSecret)")
            _ = try await call(.get, "/api/v1/whoami", authorization: "Bearer \(unknown)")
            _ = try await call(.get, "/api/v1/whoami", authorization: "Token \(alice.token)")
            _ = try await call(.get, "/api/v1/whoami", authorization: "Bearer \(alice.token)x")
            _ = try await call(.get, "/api/v1/whoami", authorization: nil)
            _ = try await call(.post, "/api/v1/tokens", authorization: "Bearer \(admin)", json: ["principal": "-bad"])
            _ = try await call(
                .post,
                "/api/v1/tokens",
                authorization: "Bearer \(admin)",
                json: ["principal": "alice", "kind": "service"]
            )
            _ = try await call(
                .delete,
                "/api/v1/tokens/\(try #require(AccessToken(parsing: admin)).id)",
                authorization: "Bearer \(admin)"
            )
            // And one more token is created and refused where it has no role
            let late = try await createToken(client, admin: admin, principal: "ci", kind: "service")
            presented.withLock {
                $0 += [alice.token, gone.token, device.token, late.token, admin].compactMap { AccessToken(parsing: $0) }
                $0.append(expired)
            }
            _ = try await call(.get, "/api/v1/models", authorization: "Bearer \(late.token)")
        }
        // Then the log was written (at trace level) and names token ids, never a secret
        let lines = capture.all
        #expect(lines.contains { $0.contains("token created") }, "nothing captured: \(lines)")
        let forms = presented.withLock { tokens in Set(tokens.flatMap(\.secretForms)) }
        let bodies = errorBodies.withLock { $0 }
        #expect(bodies.count >= 15)
        for form in forms {
            for line in lines where line.contains(form) {
                Issue.record("a log line holds a token secret or hash: \(line)")
            }
            for body in bodies where body.contains(form) {
                Issue.record("an error body holds a token secret or hash: \(body)")
            }
        }
    }

    @Test func theAdminTokenOfTheFirstStartIsNotLogged() async throws {
        // Given a first start with a capturing logger
        let capture = LogCapture()
        try await withAuthRegistry(logger: capture.logger()) { registry in
            let token = try #require(AccessToken(parsing: registry.adminToken))
            // Then the log says where the token is and names its id, but holds no form of its secret
            let lines = capture.all
            #expect(lines.contains { $0.contains(adminTokenFileName) && $0.contains(token.id) }, "\(lines)")
            for form in token.secretForms {
                #expect(!lines.contains { $0.contains(form) })
            }
        }
    }
}
