import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Registry

#if canImport(Glibc)
import Glibc
#endif

/// Start-up: the admin token of the first start, `--admin-token-file`, and `--auth none`.
@Suite struct AuthenticationSetupTests {
    static func configuration(
        _ directory: URL,
        host: String = "127.0.0.1",
        authentication: Authenticator.Mode = .tokens,
        adminTokenFile: URL? = nil
    ) -> RegistryConfiguration {
        RegistryConfiguration(
            host: host,
            port: 0,
            dataDirectory: directory,
            authentication: authentication,
            adminTokenFile: adminTokenFile
        )
    }

    /// Starts the registry with `configuration` and runs `test` against it.
    static func withRegistry(
        _ configuration: RegistryConfiguration,
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = try await buildApplication(configuration: configuration, logger: quietLogger)
        try await app.test(.router) { client in try await test(client) }
    }

    /// The permission bits of `file`.
    static func mode(_ file: URL) -> mode_t {
        var info = stat()
        guard stat(file.path, &info) == 0 else { return 0o7777 }
        return info.st_mode & 0o777
    }

    /// Writes `text` to `file` with `mode`.
    static func write(_ text: String, to file: URL, mode: Int) throws {
        try Data(text.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
    }

    // MARK: Tests

    @Test func theFirstStartWritesTheAdminTokenWithMode0600AndItWorks() async throws {
        try await withTemporaryDirectory { directory in
            // Given an empty data directory
            // When the registry starts
            try await Self.withRegistry(Self.configuration(directory)) { client in
                // Then DATA_DIR/admin-token holds a token, readable by its owner only
                let file = directory.appending(path: adminTokenFileName)
                #expect(Self.mode(file) == 0o600)
                let text = try String(contentsOf: file, encoding: .utf8)
                #expect(text.hasSuffix("\n"))
                let token = try #require(AccessToken(parsing: text.trimmingCharacters(in: .newlines)))
                // And it is an administrator's
                let me = try await whoami(client, token: token.text)
                #expect(me.id == "user:admin")
                #expect(me.roles == [APIRoleBinding(pattern: "*", role: "admin")])
                #expect(me.token?.id == token.id)
                try expectStatus(try await send(client, .get, "/api/v1/tokens", token: token.text), .ok)
            }
            // And no temporary file is left beside it
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(!names.contains { $0.hasPrefix(".\(adminTokenFileName)") }, "\(names)")
        }
    }

    @Test func aSecondStartKeepsTheAdminToken() async throws {
        try await withTemporaryDirectory { directory in
            // Given a registry started once
            try await Self.withRegistry(Self.configuration(directory)) { _ in }
            let file = directory.appending(path: adminTokenFileName)
            let first = try String(contentsOf: file, encoding: .utf8)
            // When it starts again
            try await Self.withRegistry(Self.configuration(directory)) { client in
                // Then the file is unchanged and its token still works
                #expect(try String(contentsOf: file, encoding: .utf8) == first)
                let token = first.trimmingCharacters(in: .newlines)
                #expect(try await whoami(client, token: token).id == "user:admin")
                let list = try await send(client, .get, "/api/v1/tokens", token: token)
                #expect(try list.decode(APITokenList.self).tokens.count == 1)
            }
            // When it starts a third time after the file was removed
            try FileManager.default.removeItem(at: file)
            try await Self.withRegistry(Self.configuration(directory)) { _ in }
            // Then no new administrator token is made: tokens exist already
            #expect(!FileManager.default.fileExists(atPath: file.path))
        }
    }

    @Test(arguments: [0o644, 0o640, 0o604])
    func anAdminTokenFileOthersMayReadIsRefusedNamingChmod600(mode: Int) async throws {
        try await withTemporaryDirectory { directory in
            // Given a token file others may read
            let file = directory.appending(path: "admin.token")
            try Self.write(AccessToken.generate().text + "\n", to: file, mode: mode)
            // When the registry starts with it
            let error = await #expect(throws: RegistryError.self) {
                _ = try await buildApplication(
                    configuration: Self.configuration(directory, adminTokenFile: file),
                    logger: quietLogger
                )
            }
            // Then it is refused, saying how to fix it
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("chmod 600 \(file.path)") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains(String(mode, radix: 8)) == true, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: ["", "hello\n", "mctl_0123456789abcdef_short\n", "Bearer mctl_x\n"])
    func anAdminTokenFileWithoutATokenIsRefused(content: String) async throws {
        try await withTemporaryDirectory { directory in
            // Given a private file that does not hold a token
            let file = directory.appending(path: "admin.token")
            try Self.write(content, to: file, mode: 0o600)
            // When the registry starts with it
            let error = await #expect(throws: RegistryError.self) {
                _ = try await buildApplication(
                    configuration: Self.configuration(directory, adminTokenFile: file),
                    logger: quietLogger
                )
            }
            // Then it is refused naming the file and the expected form, without echoing the content
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(file.path) == true)
            #expect(error?.message.contains("mctl_<16 hex digits>_<43 base64url characters>") == true)
            let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { #expect(error?.message.contains(trimmed) == false) }
        }
    }

    @Test func aMissingAdminTokenFileIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory.appending(path: "missing.token")
            let error = await #expect(throws: RegistryError.self) {
                _ = try await buildApplication(
                    configuration: Self.configuration(directory, adminTokenFile: file),
                    logger: quietLogger
                )
            }
            #expect(error?.message.contains("cannot read the admin token file \(file.path)") == true)
        }
    }

    @Test func theAdminTokenFilesTokenIsRegisteredAndUsable() async throws {
        try await withTemporaryDirectory { directory in
            // Given a private file holding a token the operator generated
            let file = directory.appending(path: "admin.token")
            let token = AccessToken.generate()
            try Self.write(token.text + "\n", to: file, mode: 0o600)
            // When the registry starts with it, twice
            for _ in 0..<2 {
                try await Self.withRegistry(Self.configuration(directory, adminTokenFile: file)) { client in
                    // Then the token is an administrator's
                    let me = try await whoami(client, token: token.text)
                    #expect(me.id == "user:admin")
                    #expect(me.roles == [APIRoleBinding(pattern: "*", role: "admin")])
                    let list = try await send(client, .get, "/api/v1/tokens", token: token.text)
                    let tokens = try list.decode(APITokenList.self).tokens
                    #expect(tokens.map(\.id) == [token.id])
                    #expect(tokens.first?.description == "admin token file")
                }
            }
            // And no token was written to the data directory
            #expect(!FileManager.default.fileExists(atPath: directory.appending(path: adminTokenFileName).path))
        }
    }

    @Test func aRevokedAdminTokenFileIsRefusedAtTheNextStart() async throws {
        try await withTemporaryDirectory { directory in
            // Given the file's token, revoked by another administrator
            let file = directory.appending(path: "admin.token")
            let token = AccessToken.generate()
            try Self.write(token.text, to: file, mode: 0o600)
            try await Self.withRegistry(Self.configuration(directory, adminTokenFile: file)) { client in
                let other = try await tokenWithRole(
                    client,
                    admin: token.text,
                    principal: "root",
                    role: "admin",
                    pattern: "*"
                )
                try expectStatus(try await send(client, .delete, "/api/v1/tokens/\(token.id)", token: other), .ok)
            }
            // When the registry starts with the file again
            let error = await #expect(throws: RegistryError.self) {
                _ = try await buildApplication(
                    configuration: Self.configuration(directory, adminTokenFile: file),
                    logger: quietLogger
                )
            }
            // Then it is refused rather than silently reactivated
            #expect(error?.code == .conflict)
            #expect(error?.message.contains("revoked") == true)
        }
    }

    @Test(arguments: ["0.0.0.0", "192.168.1.10", "::", "example.com"])
    func authenticationNoneIsRefusedOnANonLoopbackAddress(host: String) async throws {
        try await withTemporaryDirectory { directory in
            // When the registry is built without authentication on an address others can reach
            let error = await #expect(throws: RegistryError.self) {
                _ = try await buildApplication(
                    configuration: Self.configuration(directory, host: host, authentication: .none),
                    logger: quietLogger
                )
            }
            // Then it is refused naming the address
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("loopback") == true)
            #expect(error?.message.contains("'\(host)'") == true, "\(error?.message ?? "")")
        }
    }

    @Test(arguments: ["127.0.0.1", "127.1.2.3", "::1", "localhost"])
    func authenticationNoneIsAcceptedOnALoopbackAddress(host: String) async throws {
        try await withTemporaryDirectory { directory in
            _ = try await buildApplication(
                configuration: Self.configuration(directory, host: host, authentication: .none),
                logger: quietLogger
            )
        }
    }

    @Test func authenticationNoneMakesEveryoneAnAdministrator() async throws {
        try await withTemporaryDirectory { directory in
            try await withTestRegistry(dataDirectory: directory, authentication: .none) { client in
                // When a caller without a token asks who it is, creates a model and lists tokens
                let me = try await send(client, .get, "/api/v1/whoami")
                let model = try await send(client, .post, "/api/v1/models", json: ["name": "vision-a"])
                let tokens = try await send(client, .get, "/api/v1/tokens")
                let garbage = try await send(client, .get, "/api/v1/whoami", authorization: "Bearer nonsense")
                // Then everything is allowed, as the anonymous administrator
                try expectStatus(me, .ok)
                let identity = try me.decode(APIWhoAmI.self)
                #expect(identity.authentication == "none")
                #expect(identity.kind == nil)
                #expect(identity.id == "anonymous")
                #expect(identity.roles == [APIRoleBinding(pattern: "*", role: "admin")])
                try expectStatus(model, .created)
                try expectStatus(tokens, .ok)
                try expectStatus(garbage, .ok)
                // And the audit trail names the anonymous principal
                let history = try await send(client, .get, "/api/v1/models/vision-a/history")
                #expect(try history.decode(APIHistory.self).events.map(\.actor) == ["anonymous"])
            }
            // And no admin token was written
            #expect(!FileManager.default.fileExists(atPath: directory.appending(path: adminTokenFileName).path))
        }
    }
}
