import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// Tokens and role bindings over the API: creation (the secret shown once), expiry, revocation (at once, despite the
/// cache), the last administrator, role changes, refused values, and the principal in the audit trail.
@Suite struct TokenLifecycleTests {
    static let blob = BlobFixture.onnx(count: 128, seed: 301)

    // MARK: Tests

    @Test func aCreatedTokenIsShownOnceAndNoListHoldsItsSecretOrHash() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // When the administrator creates a token for alice
            let response = try await send(
                client,
                .post,
                "/api/v1/tokens",
                token: registry.adminToken,
                json: ["principal": "alice", "kind": "user", "description": "laptop"]
            )
            // Then the answer holds the token, once, and is not to be cached
            try expectStatus(response, .created)
            let created = try response.decode(APICreatedToken.self)
            let token = try #require(AccessToken(parsing: created.token), "not a token: \(created.token)")
            #expect(token.id == created.id)
            #expect(created.principal == "alice")
            #expect(created.kind == "user")
            #expect(created.status == "active")
            #expect(created.createdBy == "user:admin")
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(response.headers[.location] == "/api/v1/tokens/\(created.id)")
            // And it works
            let me = try await whoami(client, token: created.token)
            #expect(me.id == "user:alice")
            #expect(me.token?.id == created.id)
            // And no list or principal view holds the token, its secret or its hash
            let views = [
                try await send(client, .get, "/api/v1/tokens", token: registry.adminToken),
                try await send(client, .get, "/api/v1/tokens?principal=alice", token: registry.adminToken),
                try await send(client, .get, "/api/v1/principals", token: registry.adminToken),
                try await send(client, .get, "/api/v1/principals/alice", token: registry.adminToken),
                try await send(client, .get, "/api/v1/whoami", token: created.token),
            ]
            for view in views {
                try expectStatus(view, .ok)
                for form in token.secretForms {
                    #expect(!view.text.contains(form), "\(view.text) contains a form of the secret")
                }
            }
            let listed = try views[1].decode(APITokenList.self).tokens
            #expect(listed.map(\.id) == [created.id])
            #expect(listed.first?.description == "laptop")
            #expect(listed.first?.status == "active")
        }
    }

    @Test func aTokenWorksUntilItsExpiryAndIs401After() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given a token expiring in the future, and one (made through the store) that expired an hour ago
            let future = try await createToken(
                client,
                admin: registry.adminToken,
                principal: "alice",
                expiresAt: "2099-01-02T03:04:05Z"
            )
            let expired = try await registry.expiredToken(principal: "late")
            // When both are used
            let me = try await whoami(client, token: future.token)
            let refused = try await send(client, .get, "/api/v1/whoami", token: expired.text)
            // Then the first works and says when it expires
            #expect(me.token?.expiresAt == "2099-01-02T03:04:05Z")
            // And the second is 401 saying it expired, even though its principal is an administrator
            expectUnauthorized(refused)
            #expect(refused.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true)
            #expect(refused.apiError?.message.contains("expired") == true, "\(refused.text)")
            // And the list says which is which
            let list = try await send(client, .get, "/api/v1/tokens", token: registry.adminToken)
            let status = Dictionary(
                uniqueKeysWithValues: try list.decode(APITokenList.self).tokens.map { ($0.id, $0.status) }
            )
            #expect(status[future.id] == "active")
            #expect(status[expired.id] == "expired")
        }
    }

    @Test func revokingATokenIsEffectiveAtOnceDespiteTheCache() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given alice's token, just used (so it is in the authenticator's cache)
            let alice = try await createToken(client, admin: registry.adminToken, principal: "alice")
            _ = try await whoami(client, token: alice.token)
            // When the administrator revokes it
            let revoke = try await send(client, .delete, "/api/v1/tokens/\(alice.id)", token: registry.adminToken)
            // Then the answer shows it revoked, by the administrator
            try expectStatus(revoke, .ok)
            let revoked = try revoke.decode(APIToken.self)
            #expect(revoked.status == "revoked")
            #expect(revoked.revokedBy == "user:admin")
            #expect(revoked.revokedAt != nil)
            // And the next request with it is 401, without waiting for the cache to expire
            let refused = try await send(client, .get, "/api/v1/whoami", token: alice.token)
            expectUnauthorized(refused)
            #expect(refused.apiError?.message.contains("revoked") == true, "\(refused.text)")
            // And revoking it again changes nothing
            let again = try await send(client, .delete, "/api/v1/tokens/\(alice.id)", token: registry.adminToken)
            try expectStatus(again, .ok)
            #expect(try again.decode(APIToken.self).revokedAt == revoked.revokedAt)
            // And unknown or malformed ids are 404 / 400
            let unknown = try await send(client, .delete, "/api/v1/tokens/0123456789abcdef", token: registry.adminToken)
            let malformed = try await send(client, .delete, "/api/v1/tokens/not-an-id", token: registry.adminToken)
            expectError(unknown, .notFound, "not_found", mentioning: ["0123456789abcdef"])
            expectError(malformed, .badRequest, "invalid_argument", mentioning: ["'not-an-id'"])
        }
    }

    @Test func roleChangesAreEffectiveAtOnceDespiteTheCache() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given the model vision-a and bob, a reader of vision-* who has just used his token
            try await createModel(client, token: admin, "vision-a")
            let bob = try await tokenWithRole(
                client,
                admin: admin,
                principal: "bob",
                role: "reader",
                pattern: "vision-*"
            )
            let patch = { @Sendable () async throws -> TestResponse in
                try await send(client, .patch, "/api/v1/models/vision-a", token: bob, json: ["description": "bob's"])
            }
            expectForbidden(try await patch(), mentioning: ["writer", "reader"])
            // When he is made a writer
            try await grantRole(client, admin: admin, principal: "bob", pattern: "vision-*", role: "writer")
            // Then he may write at once
            try expectStatus(try await patch(), .ok)
            // When his role is revoked
            let revoke = try await send(client, .delete, "/api/v1/principals/bob/roles/vision-%2A", token: admin)
            try expectStatus(revoke, .ok)
            #expect(
                try revoke.decode(APIRoleChange.self)
                    == APIRoleChange(principal: "bob", pattern: "vision-*", from: "writer", to: nil)
            )
            // Then he may not even read at once
            let read = try await send(client, .get, "/api/v1/models/vision-a", token: bob)
            expectForbidden(read, mentioning: ["reader"])
        }
    }

    @Test func revokingTheLastAdministratorsTokenIs409() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            let adminID = try #require(AccessToken(parsing: admin)).id
            // When the only administrator revokes its only token
            let refused = try await send(client, .delete, "/api/v1/tokens/\(adminID)", token: admin)
            // Then it is 409 and the token still works
            expectError(refused, .conflict, "conflict", mentioning: [adminID, "last"])
            try expectStatus(try await send(client, .get, "/api/v1/tokens", token: admin), .ok)
            // When another administrator exists
            let root = try await tokenWithRole(client, admin: admin, principal: "root", role: "admin", pattern: "*")
            // Then the first token can be revoked, and the other administrator goes on
            try expectStatus(try await send(client, .delete, "/api/v1/tokens/\(adminID)", token: admin), .ok)
            expectUnauthorized(try await send(client, .get, "/api/v1/tokens", token: admin))
            try expectStatus(try await send(client, .get, "/api/v1/tokens", token: root), .ok)
        }
    }

    @Test func revokingTheLastAdministratorsRoleBindingIs409() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given root, holding admin on '*' but with no active token any more
            let root = try await createToken(client, admin: admin, principal: "root")
            try await grantRole(client, admin: admin, principal: "root", pattern: "*", role: "admin")
            try expectStatus(try await send(client, .delete, "/api/v1/tokens/\(root.id)", token: admin), .ok)
            // When the admin binding of 'admin' (the only administrator with an active token) is revoked
            let refused = try await send(client, .delete, "/api/v1/principals/admin/roles/%2A", token: admin)
            // Then it is 409 and admin still administers
            expectError(refused, .conflict, "conflict", mentioning: ["'admin'", "last admin"])
            let me = try await whoami(client, token: admin)
            #expect(me.roles == [APIRoleBinding(pattern: "*", role: "admin")])
            // When another administrator with a token exists
            try await tokenWithRole(client, admin: admin, principal: "chief", role: "admin", pattern: "*")
            // Then admin's binding can go
            try expectStatus(try await send(client, .delete, "/api/v1/principals/admin/roles/%2A", token: admin), .ok)
        }
    }

    @Test func demotingTheLastAdministratorIs409() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // When the only administrator's role on '*' is replaced by reader
            let refused = try await putRole(client, admin: admin, principal: "admin", pattern: "*", role: "reader")
            // Then it is 409, as revoking that binding is: the registry would have no administrator left
            expectError(refused, .conflict, "conflict", mentioning: ["admin"])
            let tokens = try await send(client, .get, "/api/v1/tokens", token: admin)
            #expect(tokens.status == .ok, "the registry has no administrator left: \(tokens.text)")
        }
    }

    @Test func grantingReplacesTheRoleAndReportsFromAndTo() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given alice, with no role
            try await createToken(client, admin: admin, principal: "alice")
            // When she is given reader, then writer, then writer again on vision-*
            let first = try await putRole(client, admin: admin, principal: "alice", pattern: "vision-*", role: "reader")
            let second = try await grantRole(
                client,
                admin: admin,
                principal: "alice",
                pattern: "vision-*",
                role: "writer"
            )
            let third = try await grantRole(
                client,
                admin: admin,
                principal: "alice",
                pattern: "vision-*",
                role: "writer"
            )
            // Then each answer says what the role was and is (from is present, null, the first time)
            try expectStatus(first, .ok)
            #expect(first.text.contains(#""from":null"#), "\(first.text)")
            #expect(
                try first.decode(APIRoleChange.self)
                    == APIRoleChange(principal: "alice", pattern: "vision-*", from: nil, to: "reader")
            )
            #expect(second == APIRoleChange(principal: "alice", pattern: "vision-*", from: "reader", to: "writer"))
            #expect(third == APIRoleChange(principal: "alice", pattern: "vision-*", from: "writer", to: "writer"))
            // And she holds one binding on that pattern
            let principal = try await send(client, .get, "/api/v1/principals/alice", token: admin)
            #expect(
                try principal.decode(APIPrincipal.self).roles == [APIRoleBinding(pattern: "vision-*", role: "writer")]
            )
            // And granting to a principal that does not exist is 404 naming it
            let unknown = try await putRole(client, admin: admin, principal: "nobody", pattern: "*", role: "reader")
            expectError(unknown, .notFound, "not_found", mentioning: ["'nobody'"])
        }
    }

    @Test func grantingARoleToADeviceIs400() async throws {
        try await withAuthRegistry { registry in
            // Given the device cam-17
            try await deviceToken(registry.client, admin: registry.adminToken, device: "cam-17", models: ["vision-a"])
            // When it is given a role
            let response = try await putRole(
                registry.client,
                admin: registry.adminToken,
                principal: "cam-17",
                pattern: "*",
                role: "reader"
            )
            // Then it is 400: devices read the models they are given, never through roles
            expectError(response, .badRequest, "invalid_argument", mentioning: ["'cam-17'", "device"])
            let principal = try await send(
                registry.client,
                .get,
                "/api/v1/principals/cam-17",
                token: registry.adminToken
            )
            let record = try principal.decode(APIPrincipal.self)
            #expect(record.roles == [])
            #expect(record.models == ["vision-a"])
        }
    }

    @Test func aPrincipalKeepsItsKind() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given the user alice
            try await createToken(client, admin: admin, principal: "alice")
            // When a service token, a device token and models are asked for her
            let service = try await send(
                client,
                .post,
                "/api/v1/tokens",
                token: admin,
                json: ["principal": "alice", "kind": "service"]
            )
            let device = try await send(
                client,
                .post,
                "/api/v1/tokens",
                token: admin,
                json: ["principal": "alice", "kind": "device", "models": ["vision-a"]]
            )
            let models = try await send(
                client,
                .post,
                "/api/v1/tokens",
                token: admin,
                json: ["principal": "alice", "models": ["vision-a"]]
            )
            let userModels = try await send(
                client,
                .post,
                "/api/v1/tokens",
                token: admin,
                json: ["principal": "bob", "kind": "user", "models": ["vision-a"]]
            )
            // Then the kind conflicts are 409 naming her and her kind, models for a user are 400
            expectError(service, .conflict, "conflict", mentioning: ["'alice'", "user", "service"])
            expectError(device, .conflict, "conflict", mentioning: ["'alice'", "user", "device"])
            expectError(models, .badRequest, "invalid_argument", mentioning: ["'alice'", "device"])
            expectError(userModels, .badRequest, "invalid_argument", mentioning: ["device"])
            // And a second token of the same kind is fine
            let another = try await createToken(client, admin: admin, principal: "alice", kind: nil)
            #expect(another.kind == "user")
        }
    }

    static let invalidTokenRequests: [(body: [String: String], fragment: String)] = [
        (["principal": "-alice"], "'-alice'"),
        (["principal": "al ice"], "'al ice'"),
        (["principal": String(repeating: "a", count: 65)], String(repeating: "a", count: 65)),
        (["principal": "alice", "kind": "robot"], "'robot'"),
        (["principal": "alice", "expires_at": "2001-02-03T04:05:06Z"], "2001-02-03T04:05:06Z"),
    ]

    @Test func invalidValuesAre400NamingTheValue() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            try await createToken(client, admin: admin, principal: "alice")
            // When a token is asked with a bad principal name, kind or a past expiry
            for (body, fragment) in Self.invalidTokenRequests {
                let response = try await send(client, .post, "/api/v1/tokens", token: admin, json: body)
                // Then it is 400 naming the value
                expectError(response, .badRequest, "invalid_argument", mentioning: [fragment])
            }
            // When a device is given an invalid model name
            let model = try await send(
                client,
                .post,
                "/api/v1/tokens",
                token: admin,
                json: ["principal": "cam-1", "kind": "device", "models": ["bad name"]]
            )
            expectError(model, .badRequest, "invalid_argument", mentioning: ["'bad name'"])
            // When a role is granted with a bad role, a bad pattern, a bad principal name
            let role = try await putRole(
                client,
                admin: admin,
                principal: "alice",
                pattern: "vision-*",
                role: "superuser"
            )
            let plus = try await putRole(client, admin: admin, principal: "alice", pattern: "vision+x", role: "reader")
            let question = try await putRole(
                client,
                admin: admin,
                principal: "alice",
                pattern: "vision?",
                role: "reader"
            )
            let name = try await putRole(client, admin: admin, principal: "-bob", pattern: "*", role: "reader")
            // Then each is 400 naming the value
            expectError(
                role,
                .badRequest,
                "invalid_argument",
                mentioning: ["'superuser'", "reader, writer, promoter, admin"]
            )
            expectError(plus, .badRequest, "invalid_argument", mentioning: ["'vision+x'"])
            expectError(question, .badRequest, "invalid_argument", mentioning: ["'vision?'"])
            expectError(name, .badRequest, "invalid_argument", mentioning: ["'-bob'"])
            // And nothing was created or granted
            let principals = try await send(client, .get, "/api/v1/principals", token: admin)
            let names = try principals.decode([String: [APIPrincipal]].self)["principals"]?.map(\.name)
            #expect(names == ["admin", "alice"])
            let alice = try await send(client, .get, "/api/v1/principals/alice", token: admin)
            #expect(try alice.decode(APIPrincipal.self).roles == [])
        }
    }

    @Test func auditEventsOfModelChangesRecordThePrincipal() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given alice (a user, writer on vision-*) and ci (a service account, promoter on vision-*)
            let alice = try await tokenWithRole(
                client,
                admin: admin,
                principal: "alice",
                role: "writer",
                pattern: "vision-*"
            )
            let ci = try await tokenWithRole(
                client,
                admin: admin,
                principal: "ci",
                kind: "service",
                role: "promoter",
                pattern: "vision-*"
            )
            // When alice creates a model and pushes a version, and ci promotes it and sets an alias
            try await createModel(client, token: alice, "vision-a")
            try await readyVersion(client, token: alice, model: "vision-a", blob: Self.blob)
            try expectStatus(
                try await send(
                    client,
                    .post,
                    "/api/v1/models/vision-a/versions/1/stage",
                    token: ci,
                    json: ["stage": "Production"]
                ),
                .ok
            )
            try expectStatus(
                try await send(
                    client,
                    .put,
                    "/api/v1/models/vision-a/aliases/champion",
                    token: ci,
                    json: ["version": 1]
                ),
                .ok
            )
            // Then the history names who did what
            let response = try await send(client, .get, "/api/v1/models/vision-a/history", token: alice)
            let events = try response.decode(APIHistory.self).events
            let actors = Dictionary(events.map { ($0.kind, [$0.actor]) }, uniquingKeysWith: +)
            #expect(actors["model.created"] == ["user:alice"])
            #expect(actors["version.created"] == ["user:alice"])
            #expect(actors["version.committed"] == ["user:alice"])
            #expect(actors["stage.changed"] == ["service:ci"])
            #expect(actors["alias.set"] == ["service:ci"])
            #expect(events.allSatisfy { $0.actor != "anonymous" })
            // And the version names its creator
            let version = try await send(client, .get, "/api/v1/models/vision-a/versions/1", token: ci)
            #expect(try version.decode(APIVersion.self).createdBy == "user:alice")
        }
    }
}
