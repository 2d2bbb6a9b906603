import Crypto
import Foundation
import Packager
import TestSupport
import Testing

/// Runs the OpenSSF `model_signing` 1.1.1 CLI from the repository's `.venv` against our signer and verifier.
///
/// `scripts/python-tools.sh` creates the virtualenv. Without it these tests fail when `CI` is `true` and are
/// skipped, loudly, otherwise.
enum ModelSigningTool {
    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let executable = repositoryRoot.appending(path: ".venv/bin/model_signing")

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable.path) }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static let missingMessage = "model_signing not found at \(executable.path); run scripts/python-tools.sh"

    /// Whether the interop tests run: always on CI (where a missing tool fails them), else only when installed.
    static var shouldRun: Bool {
        if isInstalled || isCI { return true }
        FileHandle.standardError.write(Data("\n*** INTEROP TESTS SKIPPED: \(missingMessage) ***\n\n".utf8))
        return false
    }

    /// Runs `model_signing` with `arguments`; returns its exit status and combined output.
    static func run(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        guard isInstalled else {
            Issue.record("INTEROP TESTS FAILED: \(missingMessage) (required because CI=true)")
            throw PackagerError(.notFound, missingMessage)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    static func verify(directory: URL, signature: URL, publicKey: URL, in cwd: URL) throws -> (Int32, String) {
        try run(
            ["verify", "key", "--signature", signature.path, "--public_key", publicKey.path, directory.path],
            in: cwd
        )
    }

    static func sign(directory: URL, signature: URL, privateKey: URL, in cwd: URL) throws -> (Int32, String) {
        try run(
            ["sign", "key", "--signature", signature.path, "--private_key", privateKey.path, directory.path],
            in: cwd
        )
    }
}

@Suite(.enabled(if: ModelSigningTool.shouldRun, "INTEROP TESTS SKIPPED: \(ModelSigningTool.missingMessage)"))
struct ModelSigningInteropTests {
    // MARK: Tests

    @Test(arguments: [true, false])
    func ourSignatureVerifiesWithTheToolAndTamperingFailsIt(signatureInside: Bool) async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.richModel(in: parent)
            let keys = SigningKeyFiles(base: parent.appending(path: "KEY"))
            try keys.generate()
            let signatureURL =
                signatureInside ? directory.appending(path: "model.sig") : parent.appending(path: "x.sig")

            // When
            try ModelSigner(privateKeyAt: keys.privateKeyURL).sign(directory: directory, signatureURL: signatureURL)
            let good = try ModelSigningTool.verify(
                directory: directory,
                signature: signatureURL,
                publicKey: keys.publicKeyURL,
                in: parent
            )

            // Then
            #expect(good.0 == 0, "model_signing rejected our signature: \(good.1)")
            #expect(good.1.contains("Verification succeeded"))

            // When a file changes, Then both verifiers refuse.
            try Data("tampered".utf8).write(to: directory.appending(path: "config.json"))
            let bad = try ModelSigningTool.verify(
                directory: directory,
                signature: signatureURL,
                publicKey: keys.publicKeyURL,
                in: parent
            )
            #expect(bad.0 != 0)
            #expect(bad.1.contains("config.json"))
            let ours = try ModelVerifier(trustedKeys: [keys.loadPublicKey()])
                .verify(directory: directory, signatureURL: signatureURL)
            #expect(ours == .tampered(changed: ["config.json"], added: [], missing: []))
        }
    }

    @Test(arguments: [true, false])
    func toolSignatureVerifiesWithOursAndTamperingFailsIt(signatureInside: Bool) async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.richModel(in: parent)
            let keys = SigningKeyFiles(base: parent.appending(path: "KEY"))
            try keys.generate()
            let signatureURL =
                signatureInside ? directory.appending(path: "model.sig") : parent.appending(path: "x.sig")
            let signed = try ModelSigningTool.sign(
                directory: directory,
                signature: signatureURL,
                privateKey: keys.privateKeyURL,
                in: parent
            )
            try #require(signed.0 == 0, "model_signing could not sign: \(signed.1)")
            let verifier = ModelVerifier(trustedKeys: [
                TrustedPublicKey(P256.Signing.PrivateKey().publicKey), try keys.loadPublicKey(),
            ])

            // When
            let result = try verifier.verify(directory: directory, signatureURL: signatureURL)

            // Then
            #expect(result == .valid(keyIndex: 1, keyHint: try keys.loadPublicKey().hint))

            // When files change, appear and disappear, Then both verifiers refuse and ours names each file.
            try Data("changed".utf8).write(to: directory.appending(path: "weights/part-1.bin"))
            try SigningFixtures.write(["added.txt": [1]], in: directory)
            try FileManager.default.removeItem(at: directory.appending(path: ".hidden"))
            #expect(
                try verifier.verify(directory: directory, signatureURL: signatureURL)
                    == .tampered(changed: ["weights/part-1.bin"], added: ["added.txt"], missing: [".hidden"])
            )
            let theirs = try ModelSigningTool.verify(
                directory: directory,
                signature: signatureURL,
                publicKey: keys.publicKeyURL,
                in: parent
            )
            #expect(theirs.0 != 0)
        }
    }

    @Test func toolRefusesOurSignatureUnderAnotherKey() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let keys = SigningKeyFiles(base: parent.appending(path: "KEY"))
            let others = SigningKeyFiles(base: parent.appending(path: "OTHER"))
            try keys.generate()
            try others.generate()
            try ModelSigner(privateKeyAt: keys.privateKeyURL).sign(directory: directory)
            let result = try ModelSigningTool.verify(
                directory: directory,
                signature: directory.appending(path: "model.sig"),
                publicKey: others.publicKeyURL,
                in: parent
            )
            #expect(result.0 != 0)
            #expect(
                try ModelVerifier(trustedKeys: [others.loadPublicKey()]).verify(directory: directory) == .untrustedKey
            )
        }
    }
}
