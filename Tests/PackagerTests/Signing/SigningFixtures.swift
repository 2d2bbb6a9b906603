import Crypto
import Foundation
import Packager

/// Shared inputs of the signing tests: the reference test vectors of `shared/reference/model-signing.md` §7
/// (the "tiny-model" tree and its **test-only** P-256 key) and small helpers.
enum SigningFixtures {
    /// The reference's test-only private key (PKCS#8).
    static let testPrivateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguIxpKVjAo6L6fZYm
        U0NEeVCw9lzXMWgb2j5SuRajkg+hRANCAATqK0KC8NCgNWlvQjdYofbjw9fNBOLS
        yPQpXEawn0+y0O2F5lfAybVx8OxewH78qnhjc6MOHkZGrCiwV0Rcw0SP
        -----END PRIVATE KEY-----

        """

    /// The reference's canonical public key PEM, final LF included.
    static let testPublicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6itCgvDQoDVpb0I3WKH248PXzQTi
        0sj0KVxGsJ9PstDtheZXwMm1cfDsXsB+/Kp4Y3OjDh5GRqwosFdEXMNEjw==
        -----END PUBLIC KEY-----

        """

    static let testKeyHint = "5998904968c27e2c48d741f6ad2b7ef2b1ab9841a5ed4ac9604c0810239912ea"
    static let tinyModelSubjectDigest = "f2133bf99e9a09f25700a7658da5fe995f938cfa98363f748a94d52029265551"

    /// Vector B: the canonical statement (632 bytes).
    static let vectorBStatement =
        #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"tiny-model","digest":{"sha256":"f2133bf99e9a09f25700a7658da5fe995f938cfa98363f748a94d52029265551"}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{"serialization":{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":[".git",".gitattributes",".github",".gitignore"]},"resources":[{"name":"config.json","algorithm":"sha256","digest":"09d343c37de0bba143b7ff45f82c0ab9308531dcc78b56b8eb40c5938c4be418"},{"name":"weights/w.bin","algorithm":"sha256","digest":"84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"}]}}"#

    /// Vector B: the canonical bundle with a deterministic signature (1243 bytes).
    static let vectorBBundle =
        #"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"5998904968c27e2c48d741f6ad2b7ef2b1ab9841a5ed4ac9604c0810239912ea"},"tlogEntries":[]},"dsseEnvelope":{"payload":"eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbeyJuYW1lIjoidGlueS1tb2RlbCIsImRpZ2VzdCI6eyJzaGEyNTYiOiJmMjEzM2JmOTllOWEwOWYyNTcwMGE3NjU4ZGE1ZmU5OTVmOTM4Y2ZhOTgzNjNmNzQ4YTk0ZDUyMDI5MjY1NTUxIn19XSwicHJlZGljYXRlVHlwZSI6Imh0dHBzOi8vbW9kZWxfc2lnbmluZy9zaWduYXR1cmUvdjEuMCIsInByZWRpY2F0ZSI6eyJzZXJpYWxpemF0aW9uIjp7Im1ldGhvZCI6ImZpbGVzIiwiaGFzaF90eXBlIjoic2hhMjU2IiwiYWxsb3dfc3ltbGlua3MiOmZhbHNlLCJpZ25vcmVfcGF0aHMiOlsiLmdpdCIsIi5naXRhdHRyaWJ1dGVzIiwiLmdpdGh1YiIsIi5naXRpZ25vcmUiXX0sInJlc291cmNlcyI6W3sibmFtZSI6ImNvbmZpZy5qc29uIiwiYWxnb3JpdGhtIjoic2hhMjU2IiwiZGlnZXN0IjoiMDlkMzQzYzM3ZGUwYmJhMTQzYjdmZjQ1ZjgyYzBhYjkzMDg1MzFkY2M3OGI1NmI4ZWI0MGM1OTM4YzRiZTQxOCJ9LHsibmFtZSI6IndlaWdodHMvdy5iaW4iLCJhbGdvcml0aG0iOiJzaGEyNTYiLCJkaWdlc3QiOiI4NGQ4OTg3N2YwZDQwNDFlZmI2YmY5MWExNmYwMjQ4ZjJmZDU3M2U2YWYwNWMxOWY5NmJlZGI5Zjg4MmY3ODgyIn1dfX0=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEYCIQCRnhFniRv/p6D1o8uchUu6Mgl4WiJ0KVPcl5jDeWHcJgIhALMNt+FDmF9qHMx9UvLfTeCFxIZcuXjfLOHXONolHACE","keyid":""}]}}"#

    /// Vector A: a bundle written by `model_signing sign key` 1.1.1 (protobuf-style, indented payload).
    static let vectorABundle =
        #"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"5998904968c27e2c48d741f6ad2b7ef2b1ab9841a5ed4ac9604c0810239912ea"},"tlogEntries":[]},"dsseEnvelope":{"payload":"ewogICJfdHlwZSI6ICJodHRwczovL2luLXRvdG8uaW8vU3RhdGVtZW50L3YxIiwKICAic3ViamVjdCI6IFsKICAgIHsKICAgICAgIm5hbWUiOiAidGlueS1tb2RlbCIsCiAgICAgICJkaWdlc3QiOiB7CiAgICAgICAgInNoYTI1NiI6ICJmMjEzM2JmOTllOWEwOWYyNTcwMGE3NjU4ZGE1ZmU5OTVmOTM4Y2ZhOTgzNjNmNzQ4YTk0ZDUyMDI5MjY1NTUxIgogICAgICB9CiAgICB9CiAgXSwKICAicHJlZGljYXRlVHlwZSI6ICJodHRwczovL21vZGVsX3NpZ25pbmcvc2lnbmF0dXJlL3YxLjAiLAogICJwcmVkaWNhdGUiOiB7CiAgICAic2VyaWFsaXphdGlvbiI6IHsKICAgICAgImhhc2hfdHlwZSI6ICJzaGEyNTYiLAogICAgICAiYWxsb3dfc3ltbGlua3MiOiBmYWxzZSwKICAgICAgIm1ldGhvZCI6ICJmaWxlcyIsCiAgICAgICJpZ25vcmVfcGF0aHMiOiBbCiAgICAgICAgIi5naXRhdHRyaWJ1dGVzIiwKICAgICAgICAiLmdpdGh1YiIsCiAgICAgICAgIi5naXQiLAogICAgICAgICIuZ2l0aWdub3JlIgogICAgICBdCiAgICB9LAogICAgInJlc291cmNlcyI6IFsKICAgICAgewogICAgICAgICJhbGdvcml0aG0iOiAic2hhMjU2IiwKICAgICAgICAibmFtZSI6ICJjb25maWcuanNvbiIsCiAgICAgICAgImRpZ2VzdCI6ICIwOWQzNDNjMzdkZTBiYmExNDNiN2ZmNDVmODJjMGFiOTMwODUzMWRjYzc4YjU2YjhlYjQwYzU5MzhjNGJlNDE4IgogICAgICB9LAogICAgICB7CiAgICAgICAgImFsZ29yaXRobSI6ICJzaGEyNTYiLAogICAgICAgICJuYW1lIjogIndlaWdodHMvdy5iaW4iLAogICAgICAgICJkaWdlc3QiOiAiODRkODk4NzdmMGQ0MDQxZWZiNmJmOTFhMTZmMDI0OGYyZmQ1NzNlNmFmMDVjMTlmOTZiZWRiOWY4ODJmNzg4MiIKICAgICAgfQogICAgXQogIH0KfQ==","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEYCIQD5rmD6ErTG0uKLIX6lNV+ZggU0ER/cdH+JTDdTPcch2gIhANE29TmNvG3SJLYnIGyfzVzOUFUZ6r/8wIcTTtguZv88","keyid":""}]}}"#

    static func testPrivateKey() throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(pemRepresentation: testPrivateKeyPEM)
    }

    /// Writes files (relative path → content) under `directory`, creating parent directories.
    static func write(_ files: [String: [UInt8]], in directory: URL) throws {
        for (path, content) in files {
            let url = directory.appending(path: path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(content).write(to: url)
        }
    }

    /// Creates the reference's `tiny-model` directory under `parent` and returns it.
    static func tinyModel(in parent: URL) throws -> URL {
        let directory = parent.appending(path: "tiny-model")
        try write(
            ["config.json": Array("{\"layers\": 2}\n".utf8), "weights/w.bin": Array("0123456789".utf8)],
            in: directory
        )
        return directory
    }

    /// A model with nested directories, a dotfile, an empty file, ordering traps and git paths (top-level ones are
    /// never signed; a nested `.gitignore` is).
    static func richModel(in parent: URL) throws -> URL {
        let directory = parent.appending(path: "rich-model")
        try write(
            [
                "config.json": Array("{\"layers\": 4}\n".utf8),
                "a.txt": Array("a".utf8),
                "a-b.txt": Array("a-b".utf8),
                "a/z.txt": Array("z".utf8),
                ".hidden": Array("hidden".utf8),
                "empty.bin": [],
                "weights/part-1.bin": [UInt8](repeating: 7, count: 4096),
                "sub/.gitignore": Array("*.tmp\n".utf8),
                ".gitignore": Array("*.pyc\n".utf8),
                ".git/config": Array("[core]\n".utf8),
            ],
            in: directory
        )
        return directory
    }

    static func read(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }
}
