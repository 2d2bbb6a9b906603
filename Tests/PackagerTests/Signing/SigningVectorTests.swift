import Crypto
import Foundation
import TestSupport
import Testing

@testable import Packager

/// The test vectors of the model-signing reference (§7): key hint, PAE, resource order, subject digest and the
/// canonical statement and bundle bytes, plus the bundles of vectors A (the real tool) and B (canonical).
@Suite struct SigningVectorTests {
    @Test func hintIsTheSHA256OfTheCanonicalPEMWithItsFinalLineFeed() throws {
        // Given
        let key = try TrustedPublicKey(pemRepresentation: SigningFixtures.testPublicKeyPEM)
        let fromPrivate = TrustedPublicKey(try SigningFixtures.testPrivateKey().publicKey)

        // Then
        #expect(key.hint == SigningFixtures.testKeyHint)
        #expect(fromPrivate.hint == SigningFixtures.testKeyHint)
        #expect(key.canonicalPEM == SigningFixtures.testPublicKeyPEM)
        #expect(
            Hex.encode(key.derRepresentation)
                == "3059301306072a8648ce3d020106082a8648ce3d03010703420004ea2b4282f0d0a035696f423758a1f6e3c3d7cd04e2d"
                + "2c8f4295c46b09f4fb2d0ed85e657c0c9b571f0ec5ec07efcaa786373a30e1e4646ac28b057445cc3448f"
        )
        // The wrong values the reference warns about: swift-crypto's PEM (no final LF) and the DER.
        let swiftCryptoPEM = try SigningFixtures.testPrivateKey().publicKey.pemRepresentation
        #expect(Hex.encode(SHA256.hash(data: Array(swiftCryptoPEM.utf8))).hasPrefix("8db8478a"))
        #expect(Hex.encode(SHA256.hash(data: key.derRepresentation)).hasPrefix("ae91eb45"))
    }

    @Test func preAuthenticationEncodingMatchesVectorB() {
        // Given
        let statement = Array(SigningFixtures.vectorBStatement.utf8)

        // When
        let pae = DSSE.preAuthenticationEncoding(payload: statement)

        // Then
        #expect(statement.count == 632)
        #expect(pae.count == 675)
        #expect(
            Hex.encode(pae.prefix(43))
                == "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e2036333220"
        )
        #expect(
            Hex.encode(SHA256.hash(data: pae)) == "c76ca9a5210946a550925a1b9ede8e00fd8a4d290b9bf8f7efe2b437f346cac8"
        )
    }

    @Test func resourcesAreOrderedComponentWiseByUTF8Bytes() {
        // Given
        let names = ["sub/a.txt", "config.json", "a.txt", "a-b.txt", "a/z.txt", ".hidden"]

        // When
        let sorted = names.sorted(by: ModelManifest.precedes)

        // Then
        #expect(sorted == [".hidden", "a/z.txt", "a-b.txt", "a.txt", "config.json", "sub/a.txt"])
        // Bytes, not canonical equivalence: decomposed "e" + U+0301 (65 CC 81) before precomposed U+00E9 (C3 A9).
        #expect(ModelManifest.precedes("e\u{301}", "\u{E9}"))
        #expect(!ModelManifest.precedes("\u{E9}", "e\u{301}"))
        #expect(ModelManifest.precedes("a", "a/b"))
    }

    @Test func tinyModelHasTheReferenceDigests() async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.tinyModel(in: parent)

            // When
            let manifest = try ModelManifest.build(directory: directory, ignoring: ModelManifest.gitPaths)

            // Then
            #expect(manifest.resources.map(\.name) == ["config.json", "weights/w.bin"])
            #expect(
                manifest.resources.map(\.hexDigest) == [
                    "09d343c37de0bba143b7ff45f82c0ab9308531dcc78b56b8eb40c5938c4be418",
                    "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882",
                ]
            )
            #expect(Hex.encode(manifest.subjectDigest) == SigningFixtures.tinyModelSubjectDigest)
        }
    }

    @Test func emptyModelHasTheDigestOfNothing() async throws {
        try await withTemporaryDirectory { parent in
            let manifest = try ModelManifest.build(directory: parent, ignoring: [])
            #expect(manifest.resources.isEmpty)
            #expect(
                Hex.encode(manifest.subjectDigest)
                    == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            )
        }
    }

    @Test func signerReproducesVectorBExceptTheSignature() async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.tinyModel(in: parent)
            let signatureURL = parent.appending(path: "tiny-model.sig")

            // When
            try ModelSigner(privateKey: try SigningFixtures.testPrivateKey())
                .sign(directory: directory, signatureURL: signatureURL)

            // Then
            let written = try Data(contentsOf: signatureURL)
            let bundle = try SignatureBundle.parse(written, source: "tiny-model.sig")
            #expect(bundle.payload == Data(SigningFixtures.vectorBStatement.utf8))
            #expect(
                Hex.encode(SHA256.hash(data: bundle.payload))
                    == "9e41a10f1f723608f33f59976531f65f073398cef8ff69f36856106f640b6a81"
            )
            #expect(bundle.hint == SigningFixtures.testKeyHint)
            #expect(written.last != UInt8(ascii: "\n"))
            // With vector B's deterministic signature in place of ours, the file is vector B byte for byte.
            let vectorSignature = try #require(
                Data(
                    base64Encoded:
                        "MEYCIQCRnhFniRv/p6D1o8uchUu6Mgl4WiJ0KVPcl5jDeWHcJgIhALMNt+FDmF9qHMx9UvLfTeCFxIZcuXjfLOHXONolHACE"
                )
            )
            var withVectorSignature = bundle
            withVectorSignature.signature = vectorSignature
            #expect(String(decoding: withVectorSignature.jsonBytes(), as: UTF8.self) == SigningFixtures.vectorBBundle)
        }
    }

    @Test(arguments: ["A", "B"])
    func referenceBundlesVerify(vector: String) async throws {
        try await withTemporaryDirectory { parent in
            // Given
            let directory = try SigningFixtures.tinyModel(in: parent)
            let signatureURL = parent.appending(path: "tiny-model.sig")
            let text = vector == "A" ? SigningFixtures.vectorABundle : SigningFixtures.vectorBBundle
            try Data(text.utf8).write(to: signatureURL)
            let verifier = ModelVerifier(
                trustedKeys: [try TrustedPublicKey(pemRepresentation: SigningFixtures.testPublicKeyPEM)]
            )

            // When
            let result = try verifier.verify(directory: directory, signatureURL: signatureURL)

            // Then
            #expect(result == .valid(keyIndex: 0, keyHint: SigningFixtures.testKeyHint))
        }
    }
}
