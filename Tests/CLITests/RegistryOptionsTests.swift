import ArgumentParser
import Foundation
import Registry
import TestSupport
import Testing

@testable import CLI

@Suite struct ModelReferenceTests {
    @Test(arguments: [
        ("resnet50", ModelReference.latest(model: "resnet50")),
        ("resnet50:3", .version(model: "resnet50", number: 3)),
        ("resnet50@champion", .alias(model: "resnet50", alias: "champion")),
        ("resnet50/production", .stage(model: "resnet50", stage: .production)),
        ("resnet50/STAGING", .stage(model: "resnet50", stage: .staging)),
        ("models:/resnet50/7", .version(model: "resnet50", number: 7)),
        ("models:/resnet50@canary", .alias(model: "resnet50", alias: "canary")),
        ("models:/resnet50/Production", .stage(model: "resnet50", stage: .production)),
    ])
    func everyFormParses(_ text: String, expected: ModelReference) throws {
        let parsed = try ModelReference(parsing: text)
        #expect(parsed == expected)
    }

    @Test(arguments: [
        ("resnet50:0", "a number from 1"), ("resnet50:x", "must be a number"),
        ("resnet50/prod", "invalid stage 'prod'"),
        ("../x", "invalid model name"), ("models:/resnet50", "names a version, alias or stage"),
        ("resnet50@", "alias"), ("", "invalid model name"), ("models:/r/0", "numbered from 1"),
    ])
    func badReferencesNameTheProblemAndTheForms(_ text: String, fragment: String) {
        #expect {
            _ = try ModelReference(parsing: text)
        } throws: { error in
            let message = "\(error)"
            return message.contains(fragment) && message.contains("NAME@ALIAS") && error is ValidationError
        }
    }
}

@Suite struct RegistryOptionsTests {
    static func options(_ arguments: [String]) throws -> RegistryOptions {
        try RegistryOptions.parse(arguments)
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheStoredLogin() async throws {
        try await withTemporaryDirectory { directory in
            let environment = ["XDG_CONFIG_HOME": directory.path]
            try UserConfig(registry: "https://stored.example.com", token: "stored-token")
                .save(to: try UserConfig.location(environment: environment))

            let stored = try Self.options([]).resolve(environment: environment)
            #expect(
                stored == .init(url: URL(string: "https://stored.example.com")!, token: "stored-token", source: .config)
            )

            var withEnvironment = environment
            withEnvironment["MODELCTL_REGISTRY"] = "http://env.example.com:9000/"
            withEnvironment["MODELCTL_TOKEN"] = "env-token"
            let fromEnvironment = try Self.options([]).resolve(environment: withEnvironment)
            #expect(fromEnvironment.url.absoluteString == "http://env.example.com:9000")
            #expect(fromEnvironment.token == "env-token")
            #expect(fromEnvironment.source == .environment)

            let fromFlags = try Self.options(["--registry", "http://127.0.0.1:1234", "--token", "flag-token"])
                .resolve(environment: withEnvironment)
            #expect(fromFlags == .init(url: URL(string: "http://127.0.0.1:1234")!, token: "flag-token", source: .flag))
        }
    }

    @Test func withoutAnythingTheDefaultIsTheLocalRegistryWithoutAToken() async throws {
        try await withTemporaryDirectory { directory in
            let resolved = try Self.options([]).resolve(environment: ["HOME": directory.path])
            #expect(resolved == .init(url: URL(string: "http://127.0.0.1:8080")!, token: nil, source: .builtIn))
        }
    }

    @Test(arguments: ["ftp://x", "localhost:8080", "http://", "http://h/?q=1", "https://user@h"])
    func badRegistryURLsAreUsageErrors(_ url: String) {
        #expect {
            _ = try Self.options(["--registry", url])
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure && Modelctl.message(for: error).contains("'\(url)'")
        }
    }

    @Test func aTokenFileOthersCanReadIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let environment = ["XDG_CONFIG_HOME": directory.path]
            let location = try UserConfig.location(environment: environment)
            try UserConfig(registry: "https://r.example.com", token: "secret").save(to: location)
            let mode = try FileManager.default.attributesOfItem(atPath: location.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(chmod(location.path, 0o644) == 0)
            #expect {
                _ = try Self.options([]).resolve(environment: environment)
            } throws: { error in
                "\(error)".contains("others can read it (mode 644)") && "\(error)".contains("chmod 600")
            }
        }
    }
}

@Suite struct LoginEndToEndTests {
    @Test func loginStoresTheRegistryAndTokenPrivately() async throws {
        try await withTemporaryDirectory { directory in
            var environment = ProcessInfo.processInfo.environment
            environment["XDG_CONFIG_HOME"] = directory.path
            let result = try runModelctl(
                ["login", "https://models.example.com/", "--token", "t0ken", "-O", "json"],
                in: directory,
                environment: environment
            )
            #expect(result.status == 0, "\(result)")
            let config = directory.appending(path: "modelctl/config.toml")
            let text = try String(contentsOf: config, encoding: .utf8)
            #expect(
                text.contains("registry = 'https://models.example.com'")
                    || text.contains(#"registry = "https://models.example.com""#)
            )
            #expect(text.contains("t0ken"))
            #expect(!result.stdout.contains("t0ken"), "the token must not be echoed")
            let mode = try FileManager.default.attributesOfItem(atPath: config.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let directoryMode =
                try FileManager.default.attributesOfItem(
                    atPath: config.deletingLastPathComponent().path
                )[.posixPermissions] as? Int
            #expect(directoryMode == 0o700)

            let bad = try runModelctl(["login", "models.example.com"], in: directory, environment: environment)
            #expect(bad.status == 64, "\(bad)")
            #expect(bad.stderr.contains("invalid registry URL 'models.example.com'"))
        }
    }
}
