import Crypto
import Foundation
import Packager
import TestSupport
import Testing

/// Signed bundles, unpacked, checked by the real OpenSSF `model_signing` 1.1.1 CLI (see ``ModelSigningTool`` for
/// the skip and CI rules).
@Suite(.enabled(if: ModelSigningTool.shouldRun, "INTEROP TESTS SKIPPED: \(ModelSigningTool.missingMessage)"))
struct BundleSigningInteropTests {
    /// Generates `KEY.pem`/`KEY.pub.pem` under `parent`, packages the fixture model with its spec signed with that key,
    /// and unpacks the bundle (with the system tar when `systemTar`, else with ``BundleReader``).
    static func unpackedSignedBundle(in parent: URL, systemTar: Bool) throws -> (URL, SigningKeyFiles) {
        let keys = SigningKeyFiles(base: parent.appending(path: "KEY"))
        try keys.generate()
        let source = try PackagingFixtures.modelDirectory(in: parent)
        let bundle = parent.appending(path: "resnet.tar.zst")
        _ = try ModelPackager().package(
            source,
            options: .init(
                modelName: "resnet",
                version: 1,
                preprocessing: try PackagingFixtures.spec(),
                signingKey: try keys.loadPrivateKey()
            ),
            to: bundle
        )
        let directory = parent.appending(path: "unpacked")
        if systemTar {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let tar = try PackagingFixtures.run(["tar", "--zstd", "-xf", bundle.path, "-C", directory.path])
            try #require(tar.status == 0, "\(tar.output)")
        } else {
            _ = try BundleReader().extract(bundle, to: directory)
        }
        return (directory, keys)
    }

    // MARK: Tests

    @Test(arguments: [true, false])
    func theToolVerifiesAnUnpackedSignedBundle(systemTar: Bool) async throws {
        try await withTemporaryDirectory { parent in
            let (directory, keys) = try Self.unpackedSignedBundle(in: parent, systemTar: systemTar)
            let result = try ModelSigningTool.verify(
                directory: directory,
                signature: directory.appending(path: "model.sig"),
                publicKey: keys.publicKeyURL,
                in: parent
            )
            #expect(result.0 == 0, "model_signing rejected the bundle's signature: \(result.1)")
            #expect(result.1.contains("Verification succeeded"))
        }
    }

    @Test(arguments: ["manifest.json", "preprocessing.json"])
    func theToolRefusesAnUnpackedBundleWithAChangedMetadataFile(_ name: String) async throws {
        try await withTemporaryDirectory { parent in
            let (directory, keys) = try Self.unpackedSignedBundle(in: parent, systemTar: false)
            // One byte more (a trailing newline keeps the JSON valid)
            let url = directory.appending(path: name)
            try (try Data(contentsOf: url) + Data("\n".utf8)).write(to: url)

            let theirs = try ModelSigningTool.verify(
                directory: directory,
                signature: directory.appending(path: "model.sig"),
                publicKey: keys.publicKeyURL,
                in: parent
            )
            #expect(theirs.0 != 0, "model_signing accepted a changed \(name): \(theirs.1)")
            #expect(theirs.1.contains(name), "\(theirs.1)")
            let ours = try BundleVerifier(trustedKeys: [keys.loadPublicKey()]).verify(directory)
            #expect(ours.signature == .tampered(changed: [name], added: [], missing: []))
        }
    }

    @Test func aToolSignedUnpackedBundleVerifiesWithOurs() async throws {
        try await withTemporaryDirectory { parent in
            let (directory, keys) = try Self.unpackedSignedBundle(in: parent, systemTar: false)
            let signature = directory.appending(path: "model.sig")
            try FileManager.default.removeItem(at: signature)
            let signed = try ModelSigningTool.sign(
                directory: directory,
                signature: signature,
                privateKey: keys.privateKeyURL,
                in: parent
            )
            try #require(signed.0 == 0, "model_signing could not sign: \(signed.1)")
            let result = try BundleVerifier(trustedKeys: [keys.loadPublicKey()]).verify(directory)
            #expect(result.integrityChecked)
            #expect(result.signature == .valid(keyIndex: 0, keyHint: try keys.loadPublicKey().hint))
        }
    }
}
