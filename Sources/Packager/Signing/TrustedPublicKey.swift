public import Crypto
public import Foundation

/// A public key that model signatures are verified against, with its model-signing key hint.
///
/// It accepts ECDSA keys on P-256, P-384 and P-521 — the curves the OpenSSF model-signing tool supports — each
/// verified with its own hash (SHA-256, SHA-384, SHA-512). Ed25519 and RSA keys are refused, as the tool refuses
/// them.
public struct TrustedPublicKey: Sendable {
    private enum Key: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
    }

    private let key: Key

    /// The DER SubjectPublicKeyInfo of the key.
    public let derRepresentation: Data

    /// The key hint: lowercase hex SHA-256 of the canonical PEM text of the key, trailing LF included.
    public var hint: String { Hex.encode(SHA256.hash(data: Array(canonicalPEM.utf8))) }

    /// The canonical `PUBLIC KEY` PEM text: 64-column base64, every line ending in LF.
    public var canonicalPEM: String { PEM.encode(der: derRepresentation, label: "PUBLIC KEY") }

    /// Wraps a P-256 public key.
    public init(_ key: P256.Signing.PublicKey) {
        self.init(key: .p256(key), der: key.derRepresentation)
    }

    private init(key: Key, der: Data) {
        self.key = key
        self.derRepresentation = der
    }

    /// Reads a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM; text around the block is ignored.
    ///
    /// - Throws: ``PackagerError`` `.invalidArgument` if there is no such block or it is not an EC key on a
    ///   supported curve.
    public init(pemRepresentation text: String) throws {
        guard let block = PEM.block(labeled: ["PUBLIC KEY"], in: text) else {
            throw PackagerError.invalid("no '-----BEGIN PUBLIC KEY-----' PEM block in the public key text")
        }
        if let key = try? P256.Signing.PublicKey(pemRepresentation: block.text) {
            self.init(key)
        } else if let key = try? P384.Signing.PublicKey(pemRepresentation: block.text) {
            self.init(key: .p384(key), der: key.derRepresentation)
        } else if let key = try? P521.Signing.PublicKey(pemRepresentation: block.text) {
            self.init(key: .p521(key), der: key.derRepresentation)
        } else {
            throw PackagerError.invalid(
                "the public key is not an ECDSA key on P-256, P-384 or P-521 (the curves model signing supports)"
            )
        }
    }

    /// Reads a `PUBLIC KEY` PEM file such as `KEY.pub.pem`.
    ///
    /// - Throws: ``PackagerError`` `.notFound` if the file does not exist, `.io` if it cannot be read,
    ///   `.invalidArgument` (naming the file) if it holds no supported public key.
    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PackagerError.notFound("public key file '\(url.path)' does not exist")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw PackagerError.io("cannot read public key file '\(url.path)'", cause: error)
        }
        do {
            try self.init(pemRepresentation: text)
        } catch let error as PackagerError {
            throw PackagerError(error.code, "public key file '\(url.path)': \(error.message)")
        }
    }

    /// Whether `signature` (ASN.1 DER ECDSA) is a valid signature of `message` by this key.
    ///
    /// The message is hashed with the curve's hash. Bytes that are not a DER signature are simply not valid.
    func isValidSignature(der signature: Data, for message: [UInt8]) -> Bool {
        switch key {
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        case .p384(let key):
            guard let parsed = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        case .p521(let key):
            guard let parsed = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: message)
        }
    }
}
