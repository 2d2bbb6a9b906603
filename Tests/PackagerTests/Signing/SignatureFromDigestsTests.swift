import Crypto
import Foundation
import Packager
import TestSupport
import Testing

/// `ModelSigner.signature(for:modelName:ignorePaths:)` and `ModelVerifier.verify(signature:source:files:)`: signing
/// and verifying from known digests, without a directory.
@Suite struct SignatureFromDigestsTests {
    static func resource(_ name: String, _ content: String) -> ModelManifest.Resource {
        .init(name: name, digest: Array(SHA256.hash(data: Data(content.utf8))))
    }

    static let files = ModelManifest(resources: [
        resource("config.json", "{}"), resource("a/z.bin", "z"), resource("a-b.bin", "ab"),
        resource("weights/w.bin", "0123456789"),
    ])

    /// The DSSE payload (the signed statement) of a signature file.
    static func payload(of signature: Data) throws -> Data {
        let object = try #require(try JSONSerialization.jsonObject(with: signature) as? [String: Any])
        let envelope = try #require(object["dsseEnvelope"] as? [String: Any])
        let text = try #require(envelope["payload"] as? String)
        return try #require(Data(base64Encoded: text))
    }

    // MARK: Tests

    @Test func signThenVerifyFromDigestsRoundTrips() throws {
        let key = P256.Signing.PrivateKey()
        let trusted = TrustedPublicKey(key.publicKey)
        let signature = try ModelSigner(privateKey: key).signature(
            for: Self.files,
            modelName: "m",
            ignorePaths: ModelManifest.gitPaths + ["model.sig"]
        )
        let other = TrustedPublicKey(P256.Signing.PrivateKey().publicKey)
        let verifier = ModelVerifier(trustedKeys: [other, trusted])

        // The same files in any order
        let reversed = ModelManifest(resources: Self.files.resources.reversed())
        #expect(
            try verifier.verify(signature: signature, source: "test:model.sig", files: reversed)
                == .valid(keyIndex: 1, keyHint: trusted.hint)
        )
        // Ignored paths present among the files do not count
        let withIgnored = ModelManifest(
            resources: Self.files.resources + [Self.resource(".git/HEAD", "x"), Self.resource("model.sig", "sig")]
        )
        #expect(try verifier.verify(signature: signature, source: "s", files: withIgnored).isValid)

        // Changed, added and missing files
        var changed = Self.files.resources.filter { $0.name != "a-b.bin" }
        changed[0] = Self.resource(changed[0].name, "other")
        changed.append(Self.resource("new.bin", "n"))
        #expect(
            try verifier.verify(signature: signature, source: "s", files: ModelManifest(resources: changed))
                == .tampered(changed: ["config.json"], added: ["new.bin"], missing: ["a-b.bin"])
        )
        // Another key only
        #expect(
            try ModelVerifier(trustedKeys: [other]).verify(signature: signature, source: "s", files: Self.files)
                == .untrustedKey
        )
        // No key at all
        PackagingFixtures.expectError(.invalidArgument, mentioning: ["'test:model.sig'"]) {
            _ = try ModelVerifier(trustedKeys: []).verify(
                signature: signature,
                source: "test:model.sig",
                files: Self.files
            )
        }
        // A malformed signature names its source
        PackagingFixtures.expectError(.invalidArgument, mentioning: ["bundle.tar.zst:model.sig"]) {
            _ = try verifier.verify(signature: Data("{}".utf8), source: "bundle.tar.zst:model.sig", files: Self.files)
        }
    }

    @Test func theStatementIsTheOneSigningTheDirectoryGives() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let key = try SigningFixtures.testPrivateKey()
            let manifest = try ModelManifest.build(directory: directory, ignoring: ModelManifest.gitPaths)

            // Reference vector B: tiny-model signed with the signature outside the directory
            let fromDigests = try ModelSigner(privateKey: key).signature(
                for: ModelManifest(resources: manifest.resources.reversed()),
                modelName: "tiny-model",
                ignorePaths: ModelManifest.gitPaths
            )
            #expect(try Self.payload(of: fromDigests) == Data(SigningFixtures.vectorBStatement.utf8))

            // The same as sign(directory:) with the signature inside
            try ModelSigner(privateKey: key).sign(directory: directory)
            let fromDirectory = try Data(contentsOf: directory.appending(path: "model.sig"))
            let again = try ModelSigner(privateKey: key).signature(
                for: manifest,
                modelName: "tiny-model",
                ignorePaths: ModelManifest.gitPaths + ["model.sig"]
            )
            #expect(try Self.payload(of: again) == Self.payload(of: fromDirectory))
            // And the directory verifier accepts the signature made from digests
            try again.write(to: directory.appending(path: "model.sig"))
            let trusted = TrustedPublicKey(key.publicKey)
            #expect(
                try ModelVerifier(trustedKeys: [trusted]).verify(directory: directory)
                    == .valid(keyIndex: 0, keyHint: SigningFixtures.testKeyHint)
            )
        }
    }

    @Test(
        arguments: [
            ["a.bin", "a.bin"], ["../a.bin"], ["a/../b.bin"], ["/abs.bin"], ["./a.bin"], ["a/"], [""], ["a//b"],
        ]
    )
    func duplicateAndUnsafeNamesAreRefused(_ names: [String]) {
        let manifest = ModelManifest(resources: names.map { Self.resource($0, "x") })
        PackagingFixtures.expectError(.invalidArgument, mentioning: ["'\(names.last!)'"]) {
            _ = try ModelSigner(privateKey: P256.Signing.PrivateKey()).signature(
                for: manifest,
                modelName: "m",
                ignorePaths: []
            )
        }
    }

    @Test func digestsOfTheWrongLengthAreRefused() {
        let manifest = ModelManifest(resources: [.init(name: "a.bin", digest: [1, 2, 3])])
        PackagingFixtures.expectError(.invalidArgument, mentioning: ["'a.bin'", "32 bytes"]) {
            _ = try ModelSigner(privateKey: P256.Signing.PrivateKey()).signature(
                for: manifest,
                modelName: "m",
                ignorePaths: []
            )
        }
    }

    /// `verify(signature:source:files:)` is public and takes any manifest: a file listed twice must be an error, not a
    /// trap (`Dictionary(uniqueKeysWithValues:)` in `ModelVerifier.compare`). Run in a child process so a crash does
    /// not take the test runner down.
    @Test func duplicateFilesToVerifyAreAnErrorNotACrash() async {
        await #expect(processExitsWith: .success) {
            let key = P256.Signing.PrivateKey()
            let files = ModelManifest(resources: [
                .init(name: "a.bin", digest: Array(SHA256.hash(data: Data("a".utf8))))
            ])
            guard
                let signature = try? ModelSigner(privateKey: key).signature(for: files, modelName: "m", ignorePaths: [])
            else { exit(2) }
            let duplicated = ModelManifest(resources: files.resources + files.resources)
            do {
                _ = try ModelVerifier(trustedKeys: [TrustedPublicKey(key.publicKey)])
                    .verify(signature: signature, source: "s", files: duplicated)
                exit(1)
            } catch {
                exit((error as? PackagerError)?.code == .invalidArgument ? 0 : 3)
            }
        }
    }
}
