import Crypto
import Foundation
import Packager
import TestSupport
import Testing

/// Key files, sign → verify round trips, every kind of tampering, and malformed bundles.
@Suite struct ModelSigningTests {
    static func verifier(_ keys: P256.Signing.PublicKey...) -> ModelVerifier {
        ModelVerifier(trustedKeys: keys.map(TrustedPublicKey.init))
    }

    /// Rewrites the JSON of the signature file at `url` with `change`.
    static func editBundle(at url: URL, _ change: (inout [String: Any]) -> Void) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    static func expectError(_ code: PackagerError.Code, mentioning text: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a PackagerError \(code)")
        } catch let error as PackagerError {
            #expect(error.code == code)
            #expect(error.message.contains(text), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    // MARK: Tests

    @Test func keyGenerationWritesPKCS8WithMode0600AndNeverOverwrites() async throws {
        try await withTemporaryDirectory { directory in
            // Given
            let files = SigningKeyFiles(base: directory.appending(path: "KEY"))

            // When
            let publicKey = try files.generate()

            // Then
            #expect(files.privateKeyURL.lastPathComponent == "KEY.pem")
            #expect(files.publicKeyURL.lastPathComponent == "KEY.pub.pem")
            let attributes = try FileManager.default.attributesOfItem(atPath: files.privateKeyURL.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let privateText = try SigningFixtures.read(files.privateKeyURL)
            #expect(privateText.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
            #expect(try SigningFixtures.read(files.publicKeyURL).hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
            #expect(try files.loadPrivateKey().publicKey.derRepresentation == publicKey.derRepresentation)
            #expect(try files.loadPublicKey().derRepresentation == publicKey.derRepresentation)

            // When generating again, Then it is refused and the key is unchanged.
            Self.expectError(.alreadyExists, mentioning: "KEY.pem") { try files.generate() }
            #expect(try SigningFixtures.read(files.privateKeyURL) == privateText)

            // An existing public key file alone also blocks generation.
            try FileManager.default.removeItem(at: files.privateKeyURL)
            Self.expectError(.alreadyExists, mentioning: "KEY.pub.pem") { try files.generate() }
            #expect(!FileManager.default.fileExists(atPath: files.privateKeyURL.path))
        }
    }

    @Test func signThenVerifyRoundTrips() async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.richModel(in: parent)
            let key = P256.Signing.PrivateKey()
            let other = P256.Signing.PrivateKey()

            // When
            let manifest = try ModelSigner(privateKey: key).sign(directory: directory)

            // Then
            #expect(
                manifest.resources.map(\.name) == [
                    ".hidden", "a/z.txt", "a-b.txt", "a.txt", "config.json", "empty.bin", "sub/.gitignore",
                    "weights/part-1.bin",
                ]
            )
            let text = try SigningFixtures.read(directory.appending(path: "model.sig"))
            #expect(!text.hasSuffix("\n"))
            #expect(
                try Self.verifier(key.publicKey).verify(directory: directory)
                    == .valid(keyIndex: 0, keyHint: TrustedPublicKey(key.publicKey).hint)
            )
            #expect(try Self.verifier(other.publicKey, key.publicKey).verify(directory: directory).isValid)
            if case .valid(let index, _) = try Self.verifier(other.publicKey, key.publicKey).verify(
                directory: directory
            ) {
                #expect(index == 1)
            }
        }
    }

    @Test func statementListsTheGitPathsAndTheSignatureAsIgnored() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            try ModelSigner(privateKey: P256.Signing.PrivateKey()).sign(directory: directory)
            let bundle = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appending(path: "model.sig")))
                    as? [String: Any]
            )
            let envelope = try #require(bundle["dsseEnvelope"] as? [String: Any])
            let payloadText = try #require(envelope["payload"] as? String)
            let payload = try #require(Data(base64Encoded: payloadText))
            let text = String(decoding: payload, as: UTF8.self)
            #expect(text.contains(#""ignore_paths":[".git",".gitattributes",".github",".gitignore","model.sig"]"#))
        }
    }

    @Test func everyChangedAddedAndMissingFileIsNamed() async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.richModel(in: parent)
            let key = P256.Signing.PrivateKey()
            try ModelSigner(privateKey: key).sign(directory: directory)

            // When
            try Data("changed".utf8).write(to: directory.appending(path: "a/z.txt"))
            try Data("x".utf8).write(to: directory.appending(path: "empty.bin"))
            try SigningFixtures.write(["weights/part-2.bin": [1, 2, 3], "notes.md": []], in: directory)
            try FileManager.default.removeItem(at: directory.appending(path: "a-b.txt"))
            // Top-level git paths are never compared.
            try Data("more".utf8).write(to: directory.appending(path: ".gitignore"))
            try SigningFixtures.write([".github/workflows/ci.yml": [1]], in: directory)

            // Then
            #expect(
                try Self.verifier(key.publicKey).verify(directory: directory)
                    == .tampered(
                        changed: ["a/z.txt", "empty.bin"],
                        added: ["notes.md", "weights/part-2.bin"],
                        missing: ["a-b.txt"]
                    )
            )
        }
    }

    @Test(arguments: ["changed", "added", "missing"])
    func eachKindOfTamperingAloneIsReported(kind: String) async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let key = P256.Signing.PrivateKey()
            try ModelSigner(privateKey: key).sign(directory: directory)
            let expected: VerificationResult
            switch kind {
            case "changed":
                try Data("0123456780".utf8).write(to: directory.appending(path: "weights/w.bin"))
                expected = .tampered(changed: ["weights/w.bin"], added: [], missing: [])
            case "added":
                try SigningFixtures.write(["weights/extra.bin": [0]], in: directory)
                expected = .tampered(changed: [], added: ["weights/extra.bin"], missing: [])
            default:
                try FileManager.default.removeItem(at: directory.appending(path: "config.json"))
                expected = .tampered(changed: [], added: [], missing: ["config.json"])
            }
            #expect(try Self.verifier(key.publicKey).verify(directory: directory) == expected)
        }
    }

    @Test func signatureByAnotherKeyIsUntrusted() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let signatureURL = directory.appending(path: "model.sig")
            try ModelSigner(privateKey: P256.Signing.PrivateKey()).sign(directory: directory)
            let trusted = P256.Signing.PrivateKey().publicKey
            #expect(try Self.verifier(trusted).verify(directory: directory) == .untrustedKey)

            // Without the (unsigned) hint, the signature check itself must refuse it.
            try Self.editBundle(at: signatureURL) { bundle in
                var material = bundle["verificationMaterial"] as! [String: Any]
                material["publicKey"] = [String: Any]()
                bundle["verificationMaterial"] = material
            }
            #expect(try Self.verifier(trusted).verify(directory: directory) == .untrustedKey)
        }
    }

    @Test(arguments: [10, 40, 69])
    func corruptedSignatureBytesAreUntrusted(offset: Int) async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let key = P256.Signing.PrivateKey()
            try ModelSigner(privateKey: key).sign(directory: directory)
            try Self.editBundle(at: directory.appending(path: "model.sig")) { bundle in
                var envelope = bundle["dsseEnvelope"] as! [String: Any]
                var signatures = envelope["signatures"] as! [[String: Any]]
                var signature = Data(base64Encoded: signatures[0]["sig"] as! String)!
                let index = min(offset, signature.count - 1)
                signature[index] ^= 0x01
                signatures[0]["sig"] = signature.base64EncodedString()
                envelope["signatures"] = signatures
                bundle["dsseEnvelope"] = envelope
            }
            #expect(try Self.verifier(key.publicKey).verify(directory: directory) == .untrustedKey)
        }
    }

    @Test func alteredPayloadIsUntrusted() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let key = P256.Signing.PrivateKey()
            try ModelSigner(privateKey: key).sign(directory: directory)
            try Self.editBundle(at: directory.appending(path: "model.sig")) { bundle in
                var envelope = bundle["dsseEnvelope"] as! [String: Any]
                let payload = String(decoding: Data(base64Encoded: envelope["payload"] as! String)!, as: UTF8.self)
                envelope["payload"] = Data(payload.replacingOccurrences(of: "tiny", with: "huge").utf8)
                    .base64EncodedString()
                bundle["dsseEnvelope"] = envelope
            }
            #expect(try Self.verifier(key.publicKey).verify(directory: directory) == .untrustedKey)
        }
    }

    @Test func missingSignatureIsUnsigned() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let verifier = Self.verifier(P256.Signing.PrivateKey().publicKey)
            #expect(try verifier.verify(directory: directory) == .unsigned)
            #expect(
                try verifier.verify(directory: directory, signatureURL: parent.appending(path: "none.sig")) == .unsigned
            )
        }
    }

    @Test func olderBundleLayoutsAreAccepted() async throws {
        try await withTemporaryDirectory { parent in
            // Given: no hint, legacy rawBytes/keyDetails, keyid null, no tlogEntries, wrapped base64.
            let directory = try SigningFixtures.tinyModel(in: parent)
            let signatureURL = directory.appending(path: "model.sig")
            let key = P256.Signing.PrivateKey()
            try ModelSigner(privateKey: key).sign(directory: directory)
            try Self.editBundle(at: signatureURL) { bundle in
                bundle["verificationMaterial"] = [
                    "publicKey": [
                        "rawBytes": Data(key.publicKey.pemRepresentation.utf8).base64EncodedString(),
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    ]
                ]
                var envelope = bundle["dsseEnvelope"] as! [String: Any]
                let payload = envelope["payload"] as! String
                envelope["payload"] = String(payload.prefix(76)) + "\n" + String(payload.dropFirst(76))
                envelope["signatures"] = [
                    ["sig": (envelope["signatures"] as! [[String: Any]])[0]["sig"]!, "keyid": NSNull()]
                ]
                bundle["dsseEnvelope"] = envelope
            }

            // Then
            #expect(try Self.verifier(key.publicKey).verify(directory: directory).isValid)
        }
    }

    @Test func malformedBundlesAreRejectedWithAClearError() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            let signatureURL = directory.appending(path: "model.sig")
            let key = P256.Signing.PrivateKey()
            let verifier = Self.verifier(key.publicKey)
            try ModelSigner(privateKey: key).sign(directory: directory)
            let original = try Data(contentsOf: signatureURL)
            let cases: [(PackagerError.Code, String, (inout [String: Any]) -> Void)] = [
                (.invalidArgument, "unknown field `extra`", { $0["extra"] = 1 }),
                (
                    .invalidArgument, "mediaType",
                    { $0["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3" }
                ),
                (.invalidArgument, "dsseEnvelope", { $0["dsseEnvelope"] = nil }),
                (
                    .unsupported, "certificate-based",
                    { bundle in
                        bundle["verificationMaterial"] = ["x509CertificateChain": ["certificates": []]]
                    }
                ),
                (
                    .invalidArgument, "payload",
                    { bundle in
                        var envelope = bundle["dsseEnvelope"] as! [String: Any]
                        envelope["payload"] = "not base64!"
                        bundle["dsseEnvelope"] = envelope
                    }
                ),
                (
                    .invalidArgument, "payload type",
                    { bundle in
                        var envelope = bundle["dsseEnvelope"] as! [String: Any]
                        envelope["payloadType"] = "text/plain"
                        bundle["dsseEnvelope"] = envelope
                    }
                ),
            ]
            for (code, text, change) in cases {
                try original.write(to: signatureURL)
                try Self.editBundle(at: signatureURL, change)
                Self.expectError(code, mentioning: text) { _ = try verifier.verify(directory: directory) }
            }
            try Data([0xEF, 0xBB, 0xBF] + original).write(to: signatureURL)
            Self.expectError(.invalidArgument, mentioning: "byte order mark") {
                _ = try verifier.verify(directory: directory)
            }
            try Data("not json".utf8).write(to: signatureURL)
            Self.expectError(.invalidArgument, mentioning: "model.sig") {
                _ = try verifier.verify(directory: directory)
            }
        }
    }

    @Test func symbolicLinksAreRefusedNamingThePath() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            try FileManager.default.createSymbolicLink(
                at: directory.appending(path: "weights/link.bin"),
                withDestinationURL: directory.appending(path: "config.json")
            )
            Self.expectError(.unsupported, mentioning: "'weights/link.bin'") {
                try ModelSigner(privateKey: P256.Signing.PrivateKey()).sign(directory: directory)
            }
        }
    }

    @Test func largeFilesHashAcrossChunks() async throws {
        try await withTemporaryDirectory { parent in
            let content = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try SigningFixtures.write(["big.bin": content], in: parent)
            let manifest = try ModelManifest.build(directory: parent, ignoring: [])
            #expect(manifest.resources.first?.digest == Array(SHA256.hash(data: content)))
        }
    }
}
