import Foundation
import TestSupport
import Testing

/// `token`, `role` and `whoami` of the built `modelctl` binary against the real daemon with authentication on: what
/// an administrator grants is what a token may do, refusals exit with code 7 and say which role is needed, and the
/// token's secret appears only where it must.
@Suite struct AuthCommandsEndToEndTests {
    /// Runs `modelctl arguments` with `token` as MODELCTL_TOKEN instead of the admin token (none when `nil`).
    static func run(_ registry: RegistryHarness, _ arguments: [String], token: String?) throws -> CommandResult {
        var environment = registry.environment
        environment["MODELCTL_TOKEN"] = token
        return try runModelctl(arguments, in: registry.work, environment: environment)
    }

    /// Runs `modelctl token create NAME … -q` as the administrator and returns the token it printed.
    static func createToken(
        _ registry: RegistryHarness,
        _ arguments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let result = try registry.run(["token", "create"] + arguments + ["-q"])
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return String(result.stdout.dropLast())
    }

    static func isToken(_ text: some StringProtocol) -> Bool {
        String(text).wholeMatch(of: /mctl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/) != nil
    }

    /// The id part of `mctl_<id>_<secret>`.
    static func id(of token: String) -> String { String(token.dropFirst(5).prefix(16)) }

    // MARK: Tests

    @Test func rolesDecideWhatATokenMayDo() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            try registry.makeModel("model")

            // Given a service token for 'ci' with writer on vision-*
            let created = try registry.run([
                "token", "create", "ci", "--kind", "service", "--description", "CI pipeline", "--expires", "30d", "-q",
            ])
            try #require(created.status == 0, "\(created)")
            #expect(Self.isToken(created.stdout.dropLast()), "only the token: \(created.stdout)")
            #expect(created.stdout.hasSuffix("\n") && created.stdout.filter { $0 == "\n" }.count == 1)
            #expect(created.stderr.isEmpty, "-q drops the note: \(created.stderr)")
            let ci = String(created.stdout.dropLast())
            let granted = try registry.run(["role", "grant", "ci", "writer", "--models", "vision-*"])
            #expect(granted.status == 0, "\(granted)")
            #expect(granted.stdout == "ci: none → writer on vision-*\n")

            // Then ci may push vision-x (creating it) ...
            let pushed = try Self.run(registry, ["push", "model", "--model", "vision-x"], token: ci)
            #expect(pushed.status == 0, "\(pushed)")
            #expect(pushed.stdout == "vision-x:1\n")

            // ... but not 'other', which it may not even read: exit 7, naming the model and the role needed
            let other = try Self.run(registry, ["push", "model", "--model", "other"], token: ci)
            #expect(other.status == 7, "\(other)")
            #expect(other.stderr.contains("service:ci (token \(Self.id(of: ci)))"), "\(other.stderr)")
            #expect(
                other.stderr.contains("cannot push to model 'other': pushing needs the writer role"),
                "\(other.stderr)"
            )
            #expect(other.stderr.contains("has no role on it"), "\(other.stderr)")
            #expect(!other.stderr.contains(ci), "the token is never printed")

            // And once it may read every model, pushing to an existing 'other' needs writer there
            #expect(try registry.run(["role", "grant", "ci", "reader", "-q"]).status == 0)
            #expect(try registry.run(["push", "model", "--model", "other", "-q"]).status == 0)
            let refused = try Self.run(registry, ["push", "model", "--model", "other"], token: ci)
            #expect(refused.status == 7, "\(refused)")
            #expect(
                refused.stderr.contains("may not write to model 'other': needs writer, has reader on it"),
                "\(refused.stderr)"
            )
            let versions = try registry.json(["list", "other"])
            #expect((versions["versions"] as? [[String: Any]])?.count == 1, "the refused push left nothing")

            // A reader may not promote
            let viewer = try Self.createToken(registry, ["viewer"])
            #expect(try registry.run(["role", "grant", "viewer", "reader"]).stdout == "viewer: none → reader on *\n")
            let shown = try Self.run(registry, ["show", "vision-x:1"], token: viewer)
            #expect(shown.status == 0, "a reader reads: \(shown)")
            let promoted = try Self.run(registry, ["promote", "vision-x:1", "--stage", "production"], token: viewer)
            #expect(promoted.status == 7, "\(promoted)")
            #expect(
                promoted.stderr.contains(
                    "user:viewer (token \(Self.id(of: viewer))) may not promote in model 'vision-x'"
                ),
                "\(promoted.stderr)"
            )
            #expect(promoted.stderr.contains("needs promoter, has reader on it"), "\(promoted.stderr)")
            #expect(try registry.json(["show", "vision-x:1"])["stage"] as? String == "None")

            // Nor may a non-admin manage tokens or roles
            let manage = try Self.run(registry, ["token", "list"], token: ci)
            #expect(manage.status == 7, "\(manage)")
            #expect(manage.stderr.contains("needs admin on '*'"), "\(manage.stderr)")

            // role list shows who holds what, strongest role first
            let roles = try registry.run(["role", "list"])
            #expect(roles.status == 0, "\(roles)")
            let lines = roles.stdout.split(separator: "\n").map { String($0) }
            #expect(
                lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                    "NAME", "KIND", "ROLES", "TOKENS",
                ]
            )
            #expect(lines.contains { $0.hasPrefix("admin ") && $0.contains("admin on *") && $0.hasSuffix("  1") })
            #expect(
                lines.contains { $0.hasPrefix("ci ") && $0.contains("service  writer on vision-*, reader on *  1") },
                "\(roles.stdout)"
            )
            let one = try registry.json(["role", "list", "ci"])
            #expect(one["name"] as? String == "ci")
            #expect(one["kind"] as? String == "service")
            #expect(one["active_tokens"] as? Int == 1)
            #expect((one["roles"] as? [[String: String]])?.count == 2)
            let principals = try #require(try registry.json(["role", "list"])["principals"] as? [[String: Any]])
            #expect(principals.compactMap { $0["name"] as? String } == ["admin", "ci", "viewer"])

            // token list: one row per token, never a secret
            let tokens = try registry.run(["token", "list"])
            #expect(tokens.status == 0, "\(tokens)")
            #expect(tokens.stdout.hasPrefix("ID "))
            for column in ["PRINCIPAL", "KIND", "STATUS", "CREATED", "EXPIRES", "DESCRIPTION"] {
                #expect(tokens.stdout.contains(column))
            }
            let ciRow = try #require(tokens.stdout.split(separator: "\n").first { $0.hasPrefix(Self.id(of: ci)) })
            for cell in ["ci", "service", "active", "in 29 days", "CI pipeline"] {
                #expect(ciRow.contains(cell), "\(cell) in \(ciRow)")
            }
            #expect(!tokens.stdout.contains(ci) && !tokens.stdout.contains(registry.daemon.adminToken ?? "-"))
            let listed = try registry.run(["token", "list", "--principal", "ci", "-O", "json"])
            #expect(listed.status == 0, "\(listed)")
            #expect(!listed.stdout.contains(ci))
            let records = try #require(try listed.object()["tokens"] as? [[String: Any]])
            #expect(records.count == 1)
            #expect(records.first?["id"] as? String == Self.id(of: ci))
            #expect(records.first?["status"] as? String == "active")
            #expect(records.first?["expires_at"] is String)
            #expect(records.first?["token"] == nil)

            // When ci's role on vision-* is revoked, it may no longer push there
            let revokedRole = try registry.run(["role", "revoke", "ci", "--models", "vision-*"])
            #expect(revokedRole.stdout == "ci: writer → none on vision-*\n", "\(revokedRole)")
            let noWriter = try Self.run(registry, ["push", "model", "--model", "vision-x"], token: ci)
            #expect(noWriter.status == 7, "\(noWriter)")
            #expect(noWriter.stderr.contains("needs writer, has reader on it"), "\(noWriter.stderr)")

            // And when ci's token is revoked, the registry refuses it at once
            let revoked = try registry.run(["token", "revoke", Self.id(of: ci)])
            #expect(revoked.status == 0, "\(revoked)")
            #expect(revoked.stdout.hasPrefix("revoked token \(Self.id(of: ci)) of service 'ci' at "))
            #expect(revoked.stdout.hasSuffix(" by user:admin\n"))
            for arguments in [["whoami"], ["list"], ["push", "model", "--model", "vision-x"]] {
                let result = try Self.run(registry, arguments, token: ci)
                #expect(result.status == 7, "\(arguments): \(result)")
                #expect(result.stderr.contains("token \(Self.id(of: ci)) was revoked"), "\(result.stderr)")
            }
            let status = try registry.json(["token", "revoke", ci])
            #expect(status["status"] as? String == "revoked", "the whole token names it too; revoking twice is fine")

            // The last admin token and role stay (exit 4); an unknown principal is not found (exit 3)
            let adminToken = try #require(registry.daemon.adminToken)
            let last = try registry.run(["token", "revoke", Self.id(of: adminToken)])
            #expect(last.status == 4, "\(last)")
            #expect(last.stderr.contains("last active token with admin on '*'"))
            #expect(try registry.run(["role", "revoke", "admin"]).status == 4)
            let ghost = try registry.run(["role", "grant", "ghost", "reader"])
            #expect(ghost.status == 3, "\(ghost)")
            #expect(ghost.stderr.contains("principal 'ghost' does not exist"))
        }
    }

    @Test func whoamiInTextAndJSON() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            let adminToken = try #require(registry.daemon.adminToken)

            let admin = try registry.run(["whoami"])
            #expect(admin.status == 0, "\(admin)")
            #expect(
                admin.stdout == """
                    principal  admin
                    kind       user
                    id         user:admin
                    token      \(Self.id(of: adminToken)), never expires
                    roles      admin on *
                    registry   \(registry.daemon.baseURL)

                    """
            )
            let json = try registry.json(["whoami"])
            #expect(json["principal"] as? String == "admin")
            #expect(json["id"] as? String == "user:admin")
            #expect(json["kind"] as? String == "user")
            #expect(json["authentication"] as? String == "token")
            #expect((json["token"] as? [String: Any])?["id"] as? String == Self.id(of: adminToken))
            #expect(json["roles"] as? [[String: String]] == [["pattern": "*", "role": "admin"]])
            #expect(json["models"] == nil)

            // A service token with an expiry and roles
            let ci = try Self.createToken(registry, ["ci", "--kind", "service", "--expires", "2d"])
            _ = try registry.run(["role", "grant", "ci", "writer", "--models", "vision-*"])
            _ = try registry.run(["role", "grant", "ci", "reader"])
            let service = try Self.run(registry, ["whoami"], token: ci)
            #expect(service.status == 0, "\(service)")
            let rows = RegistryWorkflowEndToEndTests.rows(service.stdout)
            #expect(rows["principal"] == ["ci"])
            #expect(rows["kind"] == ["service"])
            #expect(rows["roles"] == ["writer on vision-*, reader on *"])
            let tokenRow = try #require(rows["token"]?.first)
            #expect(tokenRow.hasPrefix("\(Self.id(of: ci)), expires in 1 day ("), "\(tokenRow)")
            let serviceJSON = try Self.run(registry, ["whoami", "-O", "json"], token: ci).object()
            let expiresAt = try #require((serviceJSON["token"] as? [String: Any])?["expires_at"] as? String)
            #expect(tokenRow.hasSuffix("(\(expiresAt))"))

            // A device lists its models instead of roles
            let device = try Self.createToken(registry, ["cam-17", "--kind", "device", "--model", "vision-x"])
            let deviceRows = RegistryWorkflowEndToEndTests.rows(
                try Self.run(registry, ["whoami"], token: device).stdout
            )
            #expect(deviceRows["kind"] == ["device"])
            #expect(deviceRows["models"] == ["vision-x"])
            #expect(deviceRows["roles"] == nil)
            let deviceJSON = try Self.run(registry, ["whoami", "-O", "json"], token: device).object()
            #expect(deviceJSON["models"] as? [String] == ["vision-x"])

            // No token, a made-up token: exit 7, saying what is wrong; -q prints nothing
            let none = try Self.run(registry, ["whoami"], token: nil)
            #expect(none.status == 7, "\(none)")
            #expect(none.stderr.contains("authentication required"))
            #expect(none.stdout.isEmpty)
            let madeUp = "mctl_0123456789abcdef_" + String(repeating: "A", count: 43)
            let invalid = try Self.run(registry, ["whoami", "-q"], token: madeUp)
            #expect(invalid.status == 7)
            #expect(invalid.stderr == "Error: invalid token\n")
            #expect(try Self.run(registry, ["whoami", "-q"], token: ci).stdout.isEmpty)
        }
    }

    @Test func whoamiSaysWhenAuthenticationIsOff() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(
                dataDirectory: directory.appending(path: "data"),
                arguments: ["--auth", "none"]
            )
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MODELCTL_") }
            environment["MODELCTL_REGISTRY"] = daemon.baseURL
            environment["XDG_CONFIG_HOME"] = directory.path
            let text = try runModelctl(["whoami"], in: directory, environment: environment)
            #expect(text.status == 0, "\(text)")
            #expect(
                text.stdout
                    == "authentication is off: \(daemon.baseURL) runs with --auth none and treats every caller as an administrator\n"
            )
            let json = try runModelctl(["whoami", "-O", "json"], in: directory, environment: environment)
            let object = try json.object()
            #expect(object["authentication"] as? String == "none")
            #expect(object["principal"] as? String == "anonymous")
            #expect(object["token"] == nil)
            #expect(daemon.terminate() == 0)
        }
    }

    @Test func tokenTextAppearsOnlyOnStdout() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            let adminToken = try #require(registry.daemon.adminToken)

            // Text: the token alone on stdout, the note on stderr
            let created = try registry.run(["token", "create", "bot", "--description", "a bot", "--verbose"])
            #expect(created.status == 0, "\(created)")
            let token = String(created.stdout.dropLast())
            #expect(Self.isToken(token), "\(created.stdout)")
            #expect(
                created.stderr.contains("POST /api/v1/tokens → 201"),
                "--verbose logs the request: \(created.stderr)"
            )
            #expect(created.stderr.contains("token \(Self.id(of: token)) for user 'bot', never expires"))
            #expect(created.stderr.contains("only time it is shown"))
            #expect(!created.stderr.contains(token), "\(created.stderr)")
            #expect(!created.stderr.contains(adminToken))

            // JSON: the record with the token
            let json = try registry.run(["token", "create", "bot", "-O", "json", "-v"])
            #expect(json.status == 0, "\(json)")
            let record = try json.object()
            let secret = try #require(record["token"] as? String)
            #expect(Self.isToken(secret))
            #expect(record["id"] as? String == Self.id(of: secret))
            #expect(record["principal"] as? String == "bot")
            #expect(record["kind"] as? String == "user")
            #expect(record["status"] as? String == "active")
            #expect(record["created_by"] as? String == "user:admin")
            #expect(record["description"] as? String == "")
            #expect(!json.stderr.contains(secret) && !json.stderr.contains(adminToken), "\(json.stderr)")

            // Every other command: never a token in verbose logs or output
            for arguments in [
                ["whoami", "-v"], ["token", "list", "-v"], ["role", "list", "-v"],
                ["role", "grant", "bot", "reader", "-v"],
                ["token", "revoke", token, "-v"],
            ] {
                let result = try registry.run(arguments)
                #expect(result.status == 0, "\(arguments): \(result)")
                #expect(result.stderr.contains(" → 200"), "\(arguments) logs its request: \(result.stderr)")
                for secret in [adminToken, token] {
                    #expect(!result.stderr.contains(secret), "\(arguments): \(result.stderr)")
                    #expect(!result.stdout.contains(secret), "\(arguments): \(result.stdout)")
                }
                #expect(!result.stderr.contains("Authorization"))
            }
            let refused = try Self.run(registry, ["whoami", "-v"], token: token)
            #expect(refused.status == 7)
            #expect(refused.stderr.contains("GET /api/v1/whoami → 401"))
            #expect(!refused.stderr.contains(token), "\(refused.stderr)")
        }
    }

    @Test func generatedTokensServeAsAdminTokenFiles() async throws {
        try await withTemporaryDirectory { directory in
            // Offline: no registry, no token
            let environment = ["PATH": "/usr/bin:/bin", "HOME": directory.path]
            let first = try runModelctl(["token", "generate", "-q"], in: directory, environment: environment)
            #expect(first.status == 0, "\(first)")
            #expect(first.stderr.isEmpty)
            let token = String(first.stdout.dropLast())
            #expect(Self.isToken(token), "\(first.stdout)")
            let second = try runModelctl(["token", "generate"], in: directory, environment: environment)
            #expect(second.stdout != first.stdout, "random")
            #expect(second.stderr.contains("--admin-token-file"))
            let json = try runModelctl(["token", "generate", "-O", "json"], in: directory, environment: environment)
            let object = try json.object()
            let generated = try #require(object["token"] as? String)
            #expect(object["id"] as? String == Self.id(of: generated))

            // The registry accepts it as its admin token
            let file = directory.appending(path: "admin-token")
            try Data((token + "\n").utf8).write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            let daemon = try DaemonProcess(
                dataDirectory: directory.appending(path: "data"),
                arguments: ["--admin-token-file", file.path]
            )
            let whoami = try runModelctl(
                ["whoami", "-O", "json", "--registry", daemon.baseURL, "--token", token],
                in: directory,
                environment: environment.merging(["XDG_CONFIG_HOME": directory.path]) { $1 }
            )
            #expect(whoami.status == 0, "\(whoami)")
            let identity = try whoami.object()
            #expect(identity["principal"] as? String == "admin")
            #expect((identity["token"] as? [String: Any])?["id"] as? String == Self.id(of: token))
            #expect(daemon.terminate() == 0)
        }
    }

    @Test func badArgumentsAreUsageErrors() async throws {
        try await withTemporaryDirectory { directory in
            for (arguments, message) in [
                (
                    ["role", "grant", "ci", "boss"],
                    "invalid role 'boss': expected one of reader, writer, promoter, admin"
                ),
                (["token", "create", "ci", "--expires", "3x"], "invalid --expires '3x'"),
                (["token", "create", "ci", "--kind", "robot"], "invalid --kind 'robot'"),
                (["token", "revoke", "xyz"], "invalid token id 'xyz'"),
            ] {
                let result = try runModelctl(arguments, in: directory, environment: ["HOME": directory.path])
                #expect(result.status == 64, "\(arguments): \(result)")
                #expect(result.stderr.contains("Error: \(message)"), "\(arguments): \(result.stderr)")
            }
        }
    }
}
