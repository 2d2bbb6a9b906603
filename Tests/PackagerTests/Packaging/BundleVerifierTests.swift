import Crypto
import Foundation
import Packager
import TestSupport
import Testing

@Suite struct BundleVerifierTests {
    typealias Fixtures = PackagingFixtures

    /// Packages the fixture model directory under `parent` (with the spec), signed with `key` when given.
    static func bundle(
        in parent: URL,
        key: P256.Signing.PrivateKey? = nil,
        name: String = "resnet.tar.zst"
    ) throws -> URL {
        let source = try Fixtures.modelDirectory(in: parent, name: "src-\(name)")
        let bundle = parent.appending(path: name)
        _ = try ModelPackager().package(
            source,
            options: .init(
                modelName: "resnet",
                version: 1,
                preprocessing: try Fixtures.spec(),
                signingKey: key,
                compression: name.hasSuffix(".zst") ? .zstd : .none
            ),
            to: bundle
        )
        return bundle
    }

    /// Packages and signs the fixture, then unpacks it with ``BundleReader`` into `parent/unpacked`.
    static func unpackedSignedBundle(in parent: URL, key: P256.Signing.PrivateKey) throws -> URL {
        let directory = parent.appending(path: "unpacked")
        _ = try BundleReader().extract(try bundle(in: parent, key: key), to: directory)
        return directory
    }

    /// Rewrites the archive at `url`, passing each entry through `change`.
    static func rewrite(_ url: URL, _ change: (String, Data) -> Data) throws {
        let entries = try Fixtures.entries(of: url).map { (name: $0.name, data: change($0.name, $0.data)) }
        try FileManager.default.removeItem(at: url)
        try Fixtures.writeArchive(entries, to: url, zstd: url.pathExtension == "zst")
    }

    /// `data` with its last byte changed, same size.
    static func flipLastByte(_ data: Data) -> Data {
        var data = data
        data[data.count - 1] ^= 0x01
        return data
    }

    // MARK: Bundles

    @Test(arguments: ["resnet.tar.zst", "resnet.tar"])
    func signatureOutcomesOfABundle(_ name: String) async throws {
        try await withTemporaryDirectory { parent in
            let key = P256.Signing.PrivateKey()
            let trusted = TrustedPublicKey(key.publicKey)
            let other = TrustedPublicKey(P256.Signing.PrivateKey().publicKey)
            let signed = try Self.bundle(in: parent, key: key, name: name)
            let unsigned = try Self.bundle(in: parent, name: "unsigned-" + name)
            let manifest = try BundleReader().check(signed).manifest

            // Unsigned with keys
            let plain = try BundleVerifier(trustedKeys: [trusted]).verify(unsigned)
            #expect(plain.kind == .bundle && plain.integrityChecked && plain.signature == .unsigned)
            #expect(!plain.isValid)

            // Signed, the right key second of three
            let good = try BundleVerifier(trustedKeys: [other, trusted, other]).verify(signed)
            #expect(good.signature == .valid(keyIndex: 1, keyHint: trusted.hint))
            #expect(good.kind == .bundle && good.integrityChecked && good.isValid)
            #expect(good.manifest == manifest)

            // Signed, only a wrong key
            let wrong = try BundleVerifier(trustedKeys: [other]).verify(signed)
            #expect(wrong.signature == .untrustedKey && !wrong.isValid && wrong.integrityChecked)

            // No keys: integrity only
            for bundle in [signed, unsigned] {
                let integrity = try BundleVerifier(trustedKeys: []).verify(bundle)
                #expect(integrity.signature == nil && integrity.integrityChecked && integrity.isValid)
                #expect(integrity.manifest?.files.map(\.path) == ["config/x.json", "labels.txt", "model.onnx"])
            }
        }
    }

    @Test func aBundleWithAChangedModelFileFailsIntegrity() async throws {
        try await withTemporaryDirectory { parent in
            let key = P256.Signing.PrivateKey()
            let bundle = try Self.bundle(in: parent, key: key)
            // The original manifest, one byte of model.onnx changed
            try Self.rewrite(bundle) { name, data in name == "model.onnx" ? Self.flipLastByte(data) : data }
            for keys in [[], [TrustedPublicKey(key.publicKey)]] {
                Fixtures.expectError(.integrityFailure, mentioning: ["'model.onnx'", "does not match the manifest"]) {
                    _ = try BundleVerifier(trustedKeys: keys).verify(bundle)
                }
            }
        }
    }

    @Test func aBundleWhoseSignedMetadataChangedIsTampered() async throws {
        try await withTemporaryDirectory { parent in
            let key = P256.Signing.PrivateKey()
            let trusted = [TrustedPublicKey(key.publicKey)]
            // preprocessing.json gets an extra space; the manifest does not list it, so integrity holds
            let spec = try Self.bundle(in: parent, key: key, name: "spec.tar.zst")
            try Self.rewrite(spec) { name, data in name == "preprocessing.json" ? data + Data(" ".utf8) : data }
            let specResult = try BundleVerifier(trustedKeys: trusted).verify(spec)
            #expect(specResult.integrityChecked)
            #expect(specResult.signature == .tampered(changed: ["preprocessing.json"], added: [], missing: []))

            // manifest.json gets another annotation: the files still match it, the signature does not
            let manifest = try Self.bundle(in: parent, key: key, name: "manifest.tar.zst")
            try Self.rewrite(manifest) { name, data in
                guard name == "manifest.json", var value = try? JSONDecoder().decode(BundleManifest.self, from: data)
                else { return data }
                value.annotations["injected"] = "yes"
                return (try? value.encoded()) ?? data
            }
            let manifestResult = try BundleVerifier(trustedKeys: trusted).verify(manifest)
            #expect(manifestResult.manifest?.annotations == ["injected": "yes"])
            #expect(manifestResult.signature == .tampered(changed: ["manifest.json"], added: [], missing: []))

            // A signature of another bundle does not fit this one
            let donor = try Self.bundle(in: parent, key: key, name: "donor.tar.zst")
            let unsigned = try Self.bundle(in: parent, name: "target.tar.zst")
            let donorSignature = try #require(try Fixtures.entries(of: donor).last?.data)
            let target = parent.appending(path: "transplant.tar.zst")
            var entries = try Fixtures.entries(of: unsigned)
            // The donor's manifest is identical (same files), so change the target's model name via the manifest
            entries[0].data = try {
                var value = try JSONDecoder().decode(BundleManifest.self, from: entries[0].data)
                value.model.name = "other"
                return try value.encoded()
            }()
            entries.append((name: "model.sig", data: donorSignature))
            try Fixtures.writeArchive(entries, to: target)
            #expect(
                try BundleVerifier(trustedKeys: trusted).verify(target).signature
                    == .tampered(changed: ["manifest.json"], added: [], missing: [])
            )
        }
    }

    @Test func missingAndMalformedBundlesAreErrors() async throws {
        try await withTemporaryDirectory { parent in
            let missing = parent.appending(path: "nope.tar.zst")
            Fixtures.expectError(.notFound, mentioning: [missing.path]) {
                _ = try BundleVerifier(trustedKeys: []).verify(missing)
            }
            let junk = parent.appending(path: "junk.tar.zst")
            try Data("not a bundle".utf8).write(to: junk)
            Fixtures.expectError(.invalidArgument, mentioning: [junk.path]) {
                _ = try BundleVerifier(trustedKeys: []).verify(junk)
            }
            // A signature that is not a Sigstore bundle is an error, not a result
            let key = P256.Signing.PrivateKey()
            let bundle = try Self.bundle(in: parent, key: key)
            try Self.rewrite(bundle) { name, data in name == "model.sig" ? Data("{}".utf8) : data }
            Fixtures.expectError(.invalidArgument, mentioning: ["model.sig"]) {
                _ = try BundleVerifier(trustedKeys: [TrustedPublicKey(key.publicKey)]).verify(bundle)
            }
        }
    }

    // MARK: Directories

    @Test func anUnpackedSignedBundleVerifiesAndEachChangeIsCaught() async throws {
        try await withTemporaryDirectory { parent in
            let key = P256.Signing.PrivateKey()
            let trusted = TrustedPublicKey(key.publicKey)
            let directory = try Self.unpackedSignedBundle(in: parent, key: key)
            let verifier = BundleVerifier(trustedKeys: [TrustedPublicKey(P256.Signing.PrivateKey().publicKey), trusted])

            // Unchanged: valid, integrity checked against the manifest
            let good = try verifier.verify(directory)
            #expect(good.kind == .directory && good.integrityChecked && good.isValid)
            #expect(good.signature == .valid(keyIndex: 1, keyHint: trusted.hint))
            #expect(good.manifest == (try BundleReader().check(parent.appending(path: "resnet.tar.zst")).manifest))
            // Without keys: integrity only
            let integrity = try BundleVerifier(trustedKeys: []).verify(directory)
            #expect(integrity.integrityChecked && integrity.signature == nil && integrity.manifest != nil)
            // Top-level git paths are ignored
            try Fixtures.write([".git/HEAD": Data("x".utf8)], in: directory)
            #expect(try verifier.verify(directory).isValid)

            // A model file changed: the manifest comparison names it
            let model = directory.appending(path: "model.onnx")
            let original = try Data(contentsOf: model)
            try Self.flipLastByte(original).write(to: model)
            for keys in [[], [trusted]] {
                Fixtures.expectError(.integrityFailure, mentioning: ["changed: model.onnx"]) {
                    _ = try BundleVerifier(trustedKeys: keys).verify(directory)
                }
            }
            try original.write(to: model)

            // preprocessing.json changed: not in the manifest's file list, so integrity holds; the signature catches it
            let spec = directory.appending(path: "preprocessing.json")
            let specBytes = try Data(contentsOf: spec)
            try (specBytes + Data("\n".utf8)).write(to: spec)
            let tampered = try verifier.verify(directory)
            #expect(tampered.integrityChecked && !tampered.isValid)
            #expect(tampered.signature == .tampered(changed: ["preprocessing.json"], added: [], missing: []))
            try specBytes.write(to: spec)

            // A file added: not in the manifest
            try Fixtures.write(["config/extra.json": Data("{}".utf8)], in: directory)
            Fixtures.expectError(.integrityFailure, mentioning: ["not in the manifest: config/extra.json"]) {
                _ = try verifier.verify(directory)
            }
            try FileManager.default.removeItem(at: directory.appending(path: "config/extra.json"))

            // A file removed: missing
            let labels = directory.appending(path: "labels.txt")
            try FileManager.default.removeItem(at: labels)
            Fixtures.expectError(.integrityFailure, mentioning: ["missing: labels.txt"]) {
                _ = try verifier.verify(directory)
            }
            try Fixtures.labels.write(to: labels)

            // The signature removed: unsigned
            let signature = directory.appending(path: "model.sig")
            let signatureBytes = try Data(contentsOf: signature)
            try FileManager.default.removeItem(at: signature)
            #expect(try verifier.verify(directory).signature == .unsigned)
            try signatureBytes.write(to: signature)
            #expect(try verifier.verify(directory).signature == .valid(keyIndex: 1, keyHint: trusted.hint))
        }
    }

    @Test func knownDigestsStandForTheFilesButMustAccountForEveryOne() async throws {
        try await withTemporaryDirectory { parent in
            let key = P256.Signing.PrivateKey()
            let directory = try Self.unpackedSignedBundle(in: parent, key: key)
            let verifier = BundleVerifier(trustedKeys: [TrustedPublicKey(key.publicKey)])
            let files = try ModelManifest.build(directory: directory, ignoring: [])

            // The digests the caller checked: valid without hashing again
            let good = try verifier.verify(directory: directory, knownDigests: files)
            #expect(good.integrityChecked && good.isValid)

            // A digest that differs from the manifest (a registry that changed a file and its digest) fails
            let model = try #require(files.resources.first { $0.name.hasSuffix(".onnx") })
            let forged = ModelManifest(
                resources: files.resources.map {
                    $0.name == model.name ? .init(name: $0.name, digest: Array(repeating: 7, count: 32)) : $0
                }
            )
            PackagingFixtures.expectError(.integrityFailure, mentioning: [model.name]) {
                _ = try verifier.verify(directory: directory, knownDigests: forged)
            }

            // A file the caller did not account for, or one it lists that is absent, fails
            try Data("x".utf8).write(to: directory.appending(path: "stray.txt"))
            PackagingFixtures.expectError(.integrityFailure, mentioning: ["stray.txt"]) {
                _ = try verifier.verify(directory: directory, knownDigests: files)
            }
            try FileManager.default.removeItem(at: directory.appending(path: "stray.txt"))
            let extra = ModelManifest(resources: files.resources + [.init(name: "gone.bin", digest: model.digest)])
            PackagingFixtures.expectError(.integrityFailure, mentioning: ["gone.bin"]) {
                _ = try verifier.verify(directory: directory, knownDigests: extra)
            }
        }
    }

    @Test func aPlainSignedDirectoryVerifiesWithKeys() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.richModel(in: parent)
            let key = P256.Signing.PrivateKey()
            let trusted = TrustedPublicKey(key.publicKey)
            try ModelSigner(privateKey: key).sign(directory: directory)

            let result = try BundleVerifier(trustedKeys: [trusted]).verify(directory)
            #expect(result.kind == .directory && result.manifest == nil && !result.integrityChecked)
            #expect(result.signature == .valid(keyIndex: 0, keyHint: trusted.hint))
            #expect(result.isValid)

            try Data("changed".utf8).write(to: directory.appending(path: "a.txt"))
            #expect(
                try BundleVerifier(trustedKeys: [trusted]).verify(directory).signature
                    == .tampered(changed: ["a.txt"], added: [], missing: [])
            )
            let other = TrustedPublicKey(P256.Signing.PrivateKey().publicKey)
            #expect(try BundleVerifier(trustedKeys: [other]).verify(directory).signature == .untrustedKey)
        }
    }

    @Test func aPlainDirectoryWithNothingToCheckIsRefused() async throws {
        try await withTemporaryDirectory { parent in
            let directory = try SigningFixtures.tinyModel(in: parent)
            Fixtures.expectError(.invalidArgument, mentioning: [directory.path, "manifest.json", "no trusted key"]) {
                _ = try BundleVerifier(trustedKeys: []).verify(directory)
            }
            // With keys but no signature it is unsigned
            let key = TrustedPublicKey(P256.Signing.PrivateKey().publicKey)
            #expect(try BundleVerifier(trustedKeys: [key]).verify(directory).signature == .unsigned)
            // A path that does not exist
            let missing = parent.appending(path: "nope")
            Fixtures.expectError(.notFound, mentioning: [missing.path]) {
                _ = try BundleVerifier(trustedKeys: [key]).verify(missing)
            }
        }
    }

    @Test func aDirectoryWithAMalformedManifestIsRefused() async throws {
        try await withTemporaryDirectory { parent in
            let key = P256.Signing.PrivateKey()
            let directory = try Self.unpackedSignedBundle(in: parent, key: key)
            try Data("{".utf8).write(to: directory.appending(path: "manifest.json"))
            #expect {
                _ = try BundleVerifier(trustedKeys: []).verify(directory)
            } throws: { error in
                (error as? PackagerError)?.code == .invalidArgument
            }
        }
    }
}
