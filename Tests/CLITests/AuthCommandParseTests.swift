import ArgumentParser
import Foundation
import Registry
import RegistryClient
import Testing

@testable import CLI

/// Parsing of `token`, `role` and `whoami`: every option lands where it should, and every bad value is a usage error
/// (exit 64) whose message names the value. Nothing here talks to a registry.
@Suite struct AuthCommandParseTests {
    static func parse<T>(_ arguments: [String], as type: T.Type = T.self) throws -> T {
        try #require(try Modelctl.parseAsRoot(arguments) as? T)
    }

    /// Whether parsing `arguments` fails as a usage error whose message contains `fragment`.
    static func isUsageError(_ arguments: [String], naming fragment: String) -> Bool {
        do {
            _ = try Modelctl.parseAsRoot(arguments)
            return false
        } catch {
            return Modelctl.exitCode(for: error) == .validationFailure
                && Modelctl.message(for: error).contains(fragment)
        }
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

    // MARK: token create

    @Test func tokenCreateParsesEveryOption() throws {
        let command = try Self.parse(
            [
                "token", "create", "cam-17", "--kind", "device", "--description", "camera 17", "--expires", "30d",
                "--model", "vision-x", "--model", "vision-y", "--registry", "http://127.0.0.1:9000", "--token",
                "t0k", "-O", "json", "-q",
            ],
            as: Modelctl.Token.Create.self
        )
        #expect(command.principal == "cam-17")
        #expect(command.kind == "device")
        #expect(try command.parsedKind() == .device)
        #expect(command.description == "camera 17")
        #expect(command.expires == "30d")
        #expect(command.models == ["vision-x", "vision-y"])
        #expect(command.registryOptions.registry == "http://127.0.0.1:9000")
        #expect(command.registryOptions.token == "t0k")
        #expect(command.outputOptions.isJSON)
        #expect(command.outputOptions.quiet)
    }

    @Test func tokenCreateDefaults() throws {
        let command = try Self.parse(["token", "create", "alice@example.com"], as: Modelctl.Token.Create.self)
        #expect(command.principal == "alice@example.com")
        #expect(command.kind == nil)
        #expect(try command.parsedKind() == nil)
        #expect(command.description == nil)
        #expect(command.expires == nil)
        #expect(command.models.isEmpty)
        #expect(!command.outputOptions.isJSON)
        #expect(!command.outputOptions.quiet)
    }

    @Test(arguments: [
        (["--kind", "robot"], "invalid --kind 'robot': expected one of user, service, device"),
        (["--kind", "service", "--model", "vision-x"], "--model goes with --kind device"),
        (["--model", "../x"], "invalid model name '../x'"),
        (["--expires", "30"], "invalid --expires '30'"),
        (["--expires", "30y"], "invalid --expires '30y'"),
        (["--expires", "0d"], "invalid --expires '0d': the duration must be at least 1"),
        (["--expires", "99999999d"], "at most 100 years"),
        (["--expires", "2020-01-01"], "invalid --expires '2020-01-01': 2020-01-01T00:00:00Z is not in the future"),
        (["--expires", "2027-02-30"], "invalid --expires '2027-02-30'"),
        (["--expires", "2027-01-31T12:00:00"], "invalid --expires '2027-01-31T12:00:00'"),
        (["--expires", "tomorrow"], "expected a duration (90m, 12h, 30d, 8w) or an ISO 8601 date or time"),
        (["--description", String(repeating: "x", count: 1001)], "--description"),
    ])
    func tokenCreateRejectsBadValues(_ arguments: [String], _ fragment: String) {
        #expect(Self.isUsageError(["token", "create", "ci"] + arguments, naming: fragment))
    }

    @Test(arguments: ["", "_ci", "has space", String(repeating: "a", count: 65), "ci/x"])
    func tokenCreateRejectsBadPrincipalNames(_ name: String) {
        #expect(Self.isUsageError(["token", "create", name], naming: "invalid principal name"))
    }

    @Test func tokenCreateNeedsAName() {
        #expect(Self.isUsageError(["token", "create"], naming: "Missing expected argument '<NAME>'"))
    }

    // MARK: --expires

    @Test(
        arguments: [("90m", 5400), ("12h", 43_200), ("30d", 2_592_000), ("8w", 4_838_400), ("1m", 60)]
            as [(String, Double)]
    )
    func expiryDurationsCountFromNow(_ text: String, _ seconds: Double) throws {
        #expect(try TokenExpiry.parse(text, now: Self.now) == Self.now.addingTimeInterval(seconds))
    }

    @Test func expiryDatesAndTimes() throws {
        let day = try TokenExpiry.parse("2027-01-31", now: Self.now)
        #expect(day.ISO8601Format() == "2027-01-31T00:00:00Z", "a date alone is 00:00 UTC")
        let utc = try TokenExpiry.parse("2027-01-31T18:30:00Z", now: Self.now)
        #expect(utc.ISO8601Format() == "2027-01-31T18:30:00Z")
        let offset = try TokenExpiry.parse("2027-01-31T18:30:00+02:00", now: Self.now)
        #expect(offset.ISO8601Format() == "2027-01-31T16:30:00Z")
        let fractional = try TokenExpiry.parse("2027-01-31T18:30:00.250Z", now: Self.now)
        #expect(abs(fractional.timeIntervalSince(utc) - 0.25) < 0.001)
        #expect(throws: ValidationError.self) { try TokenExpiry.parse("2027-01-15", now: Self.now) }
        #expect(throws: ValidationError.self) { try TokenExpiry.parse("2027-1-31", now: Self.now) }
        #expect(throws: ValidationError.self) { try TokenExpiry.parse("2027-01-31 18:30:00Z", now: Self.now) }
        #expect(throws: ValidationError.self) { try TokenExpiry.parse("", now: Self.now) }
    }

    @Test func expiryText() {
        #expect(TokenText.expiry(nil, now: Self.now) == "never expires")
        let later = Self.now.addingTimeInterval(30 * 86_400)
        #expect(TokenText.expiry(later, now: Self.now) == "expires in 30 days (2027-02-14T08:00:00Z)")
        #expect(TokenText.relative(Self.now.addingTimeInterval(2 * 3600 + 5), now: Self.now) == "in 2 hours")
        #expect(TokenText.relative(Self.now.addingTimeInterval(-2 * 86_400), now: Self.now) == "2 days ago")
        #expect(TokenText.expiry(Self.now.addingTimeInterval(-3600), now: Self.now).hasPrefix("expired 1 hour ago"))
        #expect(TokenText.relative(Self.now.addingTimeInterval(400 * 86_400), now: Self.now) == "2028-02-19")
    }

    // MARK: token list, revoke, generate

    @Test func tokenListParsesPrincipal() throws {
        let all = try Self.parse(["token", "list"], as: Modelctl.Token.List.self)
        #expect(all.principal == nil)
        let one = try Self.parse(["token", "list", "--principal", "ci", "-O", "json"], as: Modelctl.Token.List.self)
        #expect(one.principal == "ci")
        #expect(one.outputOptions.isJSON)
        #expect(Self.isUsageError(["token", "list", "--principal", "no pe"], naming: "invalid principal name 'no pe'"))
    }

    @Test func tokenRevokeTakesAnIDOrTheToken() throws {
        let byID = try Self.parse(["token", "revoke", "0123456789abcdef"], as: Modelctl.Token.Revoke.self)
        #expect(try byID.tokenID() == "0123456789abcdef")
        let token = AccessToken.generate()
        let byToken = try Self.parse(["token", "revoke", token.text, "-q"], as: Modelctl.Token.Revoke.self)
        #expect(try byToken.tokenID() == token.id)
        #expect(byToken.outputOptions.quiet)
    }

    @Test(arguments: [
        ("0123456789ABCDEF", "invalid token id '0123456789ABCDEF'"),
        ("0123", "invalid token id '0123'"),
        ("mctl_0123456789abcdef_short", "is not a whole token"),
    ])
    func tokenRevokeRejectsBadIDs(_ id: String, _ fragment: String) {
        #expect(Self.isUsageError(["token", "revoke", id], naming: fragment))
    }

    @Test func tokenRevokeNeverEchoesAMalformedToken() {
        let secretish = "mctl_0123456789abcdef_thisLooksSecret"
        do {
            _ = try Modelctl.parseAsRoot(["token", "revoke", secretish])
            Issue.record("a malformed token must be refused")
        } catch {
            #expect(!Modelctl.message(for: error).contains("thisLooksSecret"))
        }
    }

    @Test func tokenGenerateTakesOnlyOutputOptions() throws {
        let command = try Self.parse(["token", "generate", "-O", "json"], as: Modelctl.Token.Generate.self)
        #expect(command.outputOptions.isJSON)
        #expect(Self.isUsageError(["token", "generate", "--registry", "http://x"], naming: "--registry"))
    }

    @Test func generatedTokensHaveTheRegistrysFormat() throws {
        let first = AccessToken.generate()
        let second = AccessToken.generate()
        #expect(first.text != second.text)
        #expect(first.text.count == AccessToken.length)
        #expect(AccessToken(parsing: first.text) == first)
    }

    // MARK: role

    @Test func roleGrantParsesPrincipalRoleAndPattern() throws {
        let command = try Self.parse(
            ["role", "grant", "ci", "writer", "--models", "vision-*", "-O", "json", "--token", "t"],
            as: Modelctl.Role.Grant.self
        )
        #expect(command.principal == "ci")
        #expect(command.role == "writer")
        #expect(try RoleText.parseRole(command.role) == .writer)
        #expect(command.models == "vision-*")
        #expect(command.outputOptions.isJSON)
        #expect(command.registryOptions.token == "t")
        let everywhere = try Self.parse(["role", "grant", "alice", "admin"], as: Modelctl.Role.Grant.self)
        #expect(everywhere.models == "*", "the pattern defaults to every model")
    }

    @Test(arguments: [
        (["role", "grant", "ci", "boss"], "invalid role 'boss': expected one of reader, writer, promoter, admin"),
        (["role", "grant", "ci", "Writer"], "invalid role 'Writer'"),
        (["role", "grant", "ci", "writer", "--models", "vision/*"], "invalid --models 'vision/*'"),
        (["role", "grant", "ci", "writer", "--models", ""], "invalid --models ''"),
        (["role", "grant", "no pe", "writer"], "invalid principal name 'no pe'"),
        (["role", "grant", "ci"], "Missing expected argument '<ROLE>'"),
        (["role", "revoke", "ci", "--models", "a b"], "invalid --models 'a b'"),
        (["role", "revoke"], "Missing expected argument '<PRINCIPAL>'"),
        (["role", "list", "no pe"], "invalid principal name 'no pe'"),
    ])
    func roleRejectsBadValues(_ arguments: [String], _ fragment: String) {
        #expect(Self.isUsageError(arguments, naming: fragment))
    }

    @Test func roleRevokeAndListParse() throws {
        let revoke = try Self.parse(["role", "revoke", "ci", "--models", "vision-*"], as: Modelctl.Role.Revoke.self)
        #expect(revoke.principal == "ci")
        #expect(revoke.models == "vision-*")
        #expect(try Self.parse(["role", "revoke", "ci"], as: Modelctl.Role.Revoke.self).models == "*")
        #expect(try Self.parse(["role", "list"], as: Modelctl.Role.List.self).principal == nil)
        let one = try Self.parse(["role", "list", "ci", "-q"], as: Modelctl.Role.List.self)
        #expect(one.principal == "ci")
        #expect(one.outputOptions.quiet)
    }

    @Test func roleText() throws {
        let bindings = [
            RemoteRoleBinding(pattern: "*", role: .reader), RemoteRoleBinding(pattern: "vision-*", role: .writer),
            RemoteRoleBinding(pattern: "audio-*", role: .writer),
        ]
        #expect(RoleText.describe(bindings) == "writer on audio-*, writer on vision-*, reader on *")
        #expect(RoleText.describe([]) == "none")
        func change(_ from: String, _ to: String) throws -> String {
            RoleText.describe(
                try Self.decode(
                    RemoteRoleChange.self,
                    #"{"principal": "ci", "pattern": "vision-*", "from": \#(from), "to": \#(to)}"#
                )
            )
        }
        #expect(try change(#""reader""#, #""writer""#) == "ci: reader → writer on vision-*")
        #expect(try change("null", #""writer""#) == "ci: none → writer on vision-*")
        #expect(try change(#""writer""#, "null") == "ci: writer → none on vision-*")
        #expect(try change(#""writer""#, #""writer""#) == "ci: writer on vision-* (unchanged)")
    }

    // MARK: whoami

    @Test func whoamiParsesRegistryAndOutputOptions() throws {
        let command = try Self.parse(
            ["whoami", "--registry", "http://127.0.0.1:9000", "--token", "t", "-v", "-O", "json"],
            as: Modelctl.WhoAmI.self
        )
        #expect(command.registryOptions.registry == "http://127.0.0.1:9000")
        #expect(command.registryOptions.token == "t")
        #expect(command.registryOptions.verbose)
        #expect(command.outputOptions.isJSON)
        #expect(Self.isUsageError(["whoami", "alice"], naming: "alice"))
        #expect(Self.isUsageError(["whoami", "--registry", "ftp://x"], naming: "invalid registry URL 'ftp://x'"))
    }

    /// Decodes the registry's JSON, as the client does.
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(json.utf8))
    }

    @Test func whoamiText() throws {
        let service = try Self.decode(
            RemoteWhoAmI.self,
            """
            {"principal": "ci", "id": "service:ci", "kind": "service", "authentication": "token",
             "token": {"id": "0123456789abcdef", "expires_at": "2027-01-17T08:00:00Z"},
             "roles": [{"pattern": "vision-*", "role": "writer"}]}
            """
        )
        #expect(
            Modelctl.WhoAmI.lines(service, registry: "http://r", now: Self.now) == [
                "principal  ci",
                "kind       service",
                "id         service:ci",
                "token      0123456789abcdef, expires in 2 days (2027-01-17T08:00:00Z)",
                "roles      writer on vision-*",
                "registry   http://r",
            ]
        )
        let device = try Self.decode(
            RemoteWhoAmI.self,
            """
            {"principal": "cam-17", "id": "device:cam-17", "kind": "device", "authentication": "token",
             "token": {"id": "0123456789abcdef"}, "roles": [], "models": ["vision-x", "vision-y"]}
            """
        )
        let deviceLines = Modelctl.WhoAmI.lines(device, registry: "http://r", now: Self.now)
        #expect(deviceLines.contains("models     vision-x, vision-y"))
        #expect(deviceLines.contains("token      0123456789abcdef, never expires"))
        #expect(!deviceLines.contains { $0.hasPrefix("roles") })
        let off = try Self.decode(
            RemoteWhoAmI.self,
            """
            {"principal": "anonymous", "id": "anonymous", "authentication": "none",
             "roles": [{"pattern": "*", "role": "admin"}]}
            """
        )
        #expect(off.authenticationIsOff)
        #expect(
            Modelctl.WhoAmI.lines(off, registry: "http://r") == [
                "authentication is off: http://r runs with --auth none and treats every caller as an administrator"
            ]
        )
    }
}
