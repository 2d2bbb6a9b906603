import Foundation
import HummingbirdTesting
import Registry
import RegistryClient
import TestSupport
import Testing

/// The client's token, principal and role methods against the real registry with authentication on: the wire shapes
/// decode, every change is visible to the next request, and each refusal maps to its error code.
@Suite struct RegistryClientAuthTests {
    /// What a test gets: the registry's port and the admin token it wrote on its first start.
    struct AuthRegistry: Sendable {
        var port: Int
        var adminToken: String

        /// A client presenting `token` (none when `nil`), shut down after `body`.
        func client<T>(token: String?, _ body: (RegistryClient) async throws -> T) async throws -> T {
            let client = RegistryClient(
                configuration: RegistryClientConfiguration(
                    baseURL: try #require(URL(string: "http://127.0.0.1:\(port)")),
                    token: token,
                    userAgent: RegistryClientConfiguration.userAgent(version: "test"),
                    retry: fastRetry
                )
            )
            do {
                let result = try await body(client)
                try await client.shutdown()
                return result
            } catch {
                try await client.shutdown()
                throw error
            }
        }

        /// A client presenting the admin token.
        func admin<T>(_ body: (RegistryClient) async throws -> T) async throws -> T {
            try await client(token: adminToken, body)
        }
    }

    /// Runs `body` against a live registry with token authentication on a fresh data directory.
    func withAuthRegistry(_ body: @escaping @Sendable (AuthRegistry) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            try await withTestRegistry(.live, dataDirectory: directory, authentication: .tokens) { testClient in
                let token = try String(contentsOf: directory.appending(path: "admin-token"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                try await body(AuthRegistry(port: try #require(testClient.port), adminToken: token))
            }
        }
    }

    /// The id part of `mctl_<id>_<secret>`.
    static func id(of token: String) -> String {
        String(token.dropFirst("mctl_".count).prefix(16))
    }

    // MARK: Tests

    @Test func adminWhoAmI() async throws {
        try await withAuthRegistry { registry in
            let identity = try await registry.admin { try await $0.whoami() }
            #expect(identity.principal == "admin")
            #expect(identity.id == "user:admin")
            #expect(identity.kind == .user)
            #expect(identity.authentication == "token")
            #expect(!identity.authenticationIsOff)
            #expect(identity.token?.id == Self.id(of: registry.adminToken))
            #expect(identity.token?.expiresAt == nil)
            #expect(identity.roles == [RemoteRoleBinding(pattern: "*", role: .admin)])
            #expect(identity.models == nil)
        }
    }

    @Test func createListUseAndRevokeAToken() async throws {
        try await withAuthRegistry { registry in
            // Given a service token for 'ci' that expires in a day
            let expiry = Date().addingTimeInterval(86_400)
            let created = try await registry.admin { client in
                try await client.createToken(
                    principal: "ci",
                    kind: .service,
                    description: "CI pipeline",
                    expiresAt: expiry
                )
            }
            #expect(created.token.hasPrefix("mctl_"))
            #expect(created.token.count == 65, "mctl_ + 16 hex + _ + 43 base64url")
            #expect(created.record.id == Self.id(of: created.token))
            #expect(created.record.principal == "ci")
            #expect(created.record.kind == .service)
            #expect(created.record.description == "CI pipeline")
            #expect(created.record.status == .active)
            #expect(created.record.createdBy == "user:admin")
            #expect(abs((created.record.expiresAt ?? .distantPast).timeIntervalSince(expiry)) < 1)
            #expect(created.record.revokedAt == nil && created.record.revokedBy == nil)

            // Then it is listed, without its secret, and works at once
            let all = try await registry.admin { try await $0.listTokens() }
            #expect(all.tokens.map(\.principal) == ["admin", "ci"])
            let mine = try await registry.admin { try await $0.listTokens(principal: "ci") }
            #expect(mine.tokens == [created.record])
            let ci = try await registry.client(token: created.token) { try await $0.whoami() }
            #expect(ci.principal == "ci")
            #expect(ci.id == "service:ci")
            #expect(ci.kind == .service)
            #expect(ci.token?.id == created.record.id)
            #expect(ci.roles.isEmpty, "a new principal holds no role")

            // When it is revoked
            let revoked = try await registry.admin { try await $0.revokeToken(id: created.record.id) }
            #expect(revoked.status == .revoked)
            #expect(revoked.revokedBy == "user:admin")
            #expect(revoked.revokedAt != nil)

            // Then the registry refuses it at once, saying why, and lists it as revoked
            let refused = try await expectClientError {
                _ = try await registry.client(token: created.token) { try await $0.whoami() }
            }
            #expect(refused.code == .unauthorized)
            #expect(refused.status == 401)
            #expect(refused.message.contains("token \(created.record.id) was revoked"), "\(refused.message)")
            #expect(!refused.message.contains(created.token))
            let again = try await registry.admin { try await $0.revokeToken(id: created.record.id) }
            #expect(again.revokedAt == revoked.revokedAt, "revoking twice changes nothing")
            let listed = try await registry.admin { try await $0.listTokens(principal: "ci") }
            #expect(listed.tokens.map(\.status) == [.revoked])
        }
    }

    @Test func grantAndRevokeRoles() async throws {
        try await withAuthRegistry { registry in
            let created = try await registry.admin { try await $0.createToken(principal: "ci", kind: .service) }
            try await registry.admin { client in
                // grant, grant again (unchanged), raise, then a second pattern
                let first = try await client.grantRole(principal: "ci", role: .writer, pattern: "vision-*")
                #expect(first.principal == "ci" && first.pattern == "vision-*")
                #expect(first.from == nil && first.to == .writer)
                let same = try await client.grantRole(principal: "ci", role: .writer, pattern: "vision-*")
                #expect(same.from == .writer && same.to == .writer)
                let raised = try await client.grantRole(principal: "ci", role: .promoter, pattern: "vision-*")
                #expect(raised.from == .writer && raised.to == .promoter)
                let everywhere = try await client.grantRole(principal: "ci", role: .reader)
                #expect(everywhere.pattern == "*")

                let principal = try await client.principal(named: "ci")
                #expect(principal.name == "ci")
                #expect(principal.kind == .service)
                #expect(principal.createdBy == "user:admin")
                #expect(principal.activeTokens == 1)
                #expect(principal.models == nil)
                #expect(
                    Set(principal.roles) == [
                        RemoteRoleBinding(pattern: "*", role: .reader),
                        RemoteRoleBinding(pattern: "vision-*", role: .promoter),
                    ]
                )
                let all = try await client.listPrincipals()
                #expect(all.principals.map(\.name) == ["admin", "ci"])
                #expect(all.principals.first?.roles == [RemoteRoleBinding(pattern: "*", role: .admin)])
            }

            // The token sees its new roles at once
            let ci = try await registry.client(token: created.token) { try await $0.whoami() }
            #expect(Set(ci.roles.map(\.role)) == [.reader, .promoter])

            try await registry.admin { client in
                let removed = try await client.revokeRole(principal: "ci", pattern: "vision-*")
                #expect(removed.pattern == "vision-*" && removed.from == .promoter && removed.to == nil)
                let missing = try await expectClientError {
                    _ = try await client.revokeRole(principal: "ci", pattern: "vision-*")
                }
                #expect(missing.code == .notFound)
                #expect(missing.message.contains("'ci' has no role on 'vision-*' (roles: reader on *)"))
            }
        }
    }

    @Test func deviceTokensCarryModels() async throws {
        try await withAuthRegistry { registry in
            let created = try await registry.admin { client in
                try await client.createToken(principal: "cam-17", kind: .device, models: ["vision-x", "vision-a"])
            }
            #expect(created.record.kind == .device)
            let device = try await registry.client(token: created.token) { try await $0.whoami() }
            #expect(device.kind == .device)
            #expect(device.roles.isEmpty)
            #expect(device.models == ["vision-a", "vision-x"])
            let principal = try await registry.admin { try await $0.principal(named: "cam-17") }
            #expect(principal.models == ["vision-a", "vision-x"])
            #expect(principal.roles.isEmpty)

            // A device holds no roles, and only a device gets models
            try await registry.admin { client in
                let grant = try await expectClientError {
                    _ = try await client.grantRole(principal: "cam-17", role: .reader)
                }
                #expect(grant.code == .invalidArgument)
                #expect(grant.message.contains("is a device"))
                let models = try await expectClientError {
                    _ = try await client.createToken(principal: "ci", kind: .service, models: ["vision-x"])
                }
                #expect(models.code == .invalidArgument)
                #expect(models.message.contains("models are given to devices only"))
            }
            // A device may not manage tokens
            let forbidden = try await expectClientError {
                _ = try await registry.client(token: created.token) { try await $0.listTokens() }
            }
            #expect(forbidden.code == .forbidden)
        }
    }

    @Test func refusals() async throws {
        try await withAuthRegistry { registry in
            let ci = try await registry.admin { client in
                let ci = try await client.createToken(principal: "ci", kind: .service)
                _ = try await client.grantRole(principal: "ci", role: .writer, pattern: "vision-*")
                return ci
            }

            // No token, a made-up token: 401
            let anonymous = try await expectClientError {
                _ = try await registry.client(token: nil) { try await $0.whoami() }
            }
            #expect(anonymous.code == .unauthorized)
            #expect(anonymous.message.contains("authentication required"))
            let madeUp = "mctl_0123456789abcdef_" + String(repeating: "A", count: 43)
            let invalid = try await expectClientError {
                _ = try await registry.client(token: madeUp) { try await $0.whoami() }
            }
            #expect(invalid.code == .unauthorized)
            #expect(invalid.message == "invalid token")

            // A valid token without admin on '*': 403 on every admin route, naming what is needed
            try await registry.client(token: ci.token) { client in
                let calls: [@Sendable (RegistryClient) async throws -> Void] = [
                    { _ = try await $0.listTokens() },
                    { _ = try await $0.createToken(principal: "x") },
                    { _ = try await $0.revokeToken(id: ci.record.id) },
                    { _ = try await $0.listPrincipals() },
                    { _ = try await $0.principal(named: "ci") },
                    { _ = try await $0.grantRole(principal: "ci", role: .admin) },
                    { _ = try await $0.revokeRole(principal: "ci", pattern: "vision-*") },
                ]
                for call in calls {
                    let error = try await expectClientError { try await call(client) }
                    #expect(error.code == .forbidden)
                    #expect(error.status == 403)
                    #expect(error.message.contains("needs admin on '*'"), "\(error.message)")
                    #expect(error.message.contains("writer on vision-*"), "\(error.message)")
                }
            }

            try await registry.admin { client in
                // Unknown principal and token: 404
                let ghost = try await expectClientError { _ = try await client.principal(named: "ghost") }
                #expect(ghost.code == .notFound)
                #expect(ghost.message.contains("principal 'ghost' does not exist (principals: admin, ci)"))
                let unknown = try await expectClientError { _ = try await client.revokeToken(id: "0123456789abcdef") }
                #expect(unknown.code == .notFound)
                let grantGhost = try await expectClientError {
                    _ = try await client.grantRole(principal: "ghost", role: .reader)
                }
                #expect(grantGhost.code == .notFound)

                // Another kind for an existing principal, an expiry in the past: refused
                let kind = try await expectClientError {
                    _ = try await client.createToken(principal: "ci", kind: .user)
                }
                #expect(kind.code == .conflict)
                let past = try await expectClientError {
                    _ = try await client.createToken(principal: "ci", expiresAt: Date().addingTimeInterval(-60))
                }
                #expect(past.code == .invalidArgument)
                #expect(past.message.contains("is in the past"))

                // The last admin token and the last admin role: 409, nothing changes
                let lastToken = try await expectClientError {
                    _ = try await client.revokeToken(id: Self.id(of: registry.adminToken))
                }
                #expect(lastToken.code == .conflict)
                #expect(lastToken.message.contains("last active token with admin on '*'"))
                let lastRole = try await expectClientError { _ = try await client.revokeRole(principal: "admin") }
                #expect(lastRole.code == .conflict)
                #expect(try await client.whoami().roles == [RemoteRoleBinding(pattern: "*", role: .admin)])
            }
        }
    }

    @Test func expiredTokensAreRefused() async throws {
        try await withAuthRegistry { registry in
            // The wire carries whole seconds, so the token expires 9 to 10 seconds from now: enough for
            // the first request to land before it even when the machine is busy with other suites.
            let expiresAt = Date().addingTimeInterval(10)
            let created = try await registry.admin { client in
                try await client.createToken(principal: "brief", expiresAt: expiresAt)
            }
            let deadline = try #require(created.record.expiresAt)
            #expect(try await registry.client(token: created.token) { try await $0.whoami() }.principal == "brief")
            // Poll until the registry refuses it: never before the expiry it recorded, and soon after.
            var refusal: RegistryClientError?
            while refusal == nil, Date() < deadline.addingTimeInterval(30) {
                do {
                    _ = try await registry.client(token: created.token) { try await $0.whoami() }
                    try await Task.sleep(for: .milliseconds(250))
                } catch let error as RegistryClientError {
                    #expect(Date() >= deadline, "refused before its expiry: \(error)")
                    refusal = error
                }
            }
            let expired = try #require(refusal, "still accepted 30 s after its expiry")
            #expect(expired.code == .unauthorized)
            #expect(expired.message.contains("token \(created.record.id) expired"))
            let listed = try await registry.admin { try await $0.listTokens(principal: "brief") }
            #expect(listed.tokens.map(\.status) == [.expired])
        }
    }

    @Test func whoAmIWithAuthenticationOff() async throws {
        try await withTestRegistry(.live, authentication: .none) { testClient in
            try await withRegistryClient(port: try #require(testClient.port)) { client in
                let identity = try await client.whoami()
                #expect(identity.authenticationIsOff)
                #expect(identity.principal == "anonymous")
                #expect(identity.kind == nil)
                #expect(identity.token == nil)
                #expect(identity.roles == [RemoteRoleBinding(pattern: "*", role: .admin)])
            }
        }
    }

    @Test func createdTokensAndRoleChangesEncodeAsTheRegistrySendsThem() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let wire = """
            {"created_at":"2027-01-15T08:00:00Z","created_by":"user:admin","description":"","id":"0123456789abcdef",\
            "kind":"user","principal":"alice","status":"active","token":"mctl_0123456789abcdef_\(String(repeating: "x", count: 43))"}
            """
        let created = try decoder.decode(RemoteCreatedToken.self, from: Data(wire.utf8))
        #expect(created.record.principal == "alice")
        #expect(created.record.expiresAt == nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        #expect(String(decoding: try encoder.encode(created), as: UTF8.self) == wire)

        let change = try decoder.decode(
            RemoteRoleChange.self,
            from: Data(#"{"from":"reader","pattern":"*","principal":"ci","to":null}"#.utf8)
        )
        #expect(change.from == .reader && change.to == nil)
        #expect(
            String(decoding: try encoder.encode(change), as: UTF8.self)
                == #"{"from":"reader","pattern":"*","principal":"ci","to":null}"#,
            "from and to are always present"
        )
    }
}
