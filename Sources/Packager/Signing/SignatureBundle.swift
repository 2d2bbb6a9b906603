import Foundation

/// A Sigstore bundle (v0.3) carrying a key-based model signature: a DSSE envelope and a public key hint.
///
/// Writing produces exactly the layout the OpenSSF `model_signing` tool writes: compact JSON, fixed key order,
/// `tlogEntries` empty, `keyid` empty, no other fields. Reading follows the tool's verifier: it requires the v0.3
/// media type, accepts fields in any order, a `hint` that is a string, null or absent, legacy `rawBytes` and
/// `keyDetails`, a `keyid` that is a string, null or absent, and base64 with embedded line breaks; it rejects
/// unknown fields, certificate material, message signatures, transparency-log entries and a byte order mark.
struct SignatureBundle: Sendable, Equatable {
    /// The only media type key-based model signatures use.
    static let mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

    /// The key hint (lowercase hex SHA-256 of the canonical public key PEM), `nil` or empty in older bundles.
    var hint: String?
    /// The envelope's payload type.
    var payloadType: String
    /// The statement bytes, exactly as signed.
    var payload: Data
    /// The first envelope signature, ASN.1 DER ECDSA (the only one verifiers check).
    var signature: Data

    /// The bundle as compact JSON bytes, without a trailing newline.
    func jsonBytes() -> [UInt8] {
        let text =
            "{\"mediaType\":\(JSONText.quoted(Self.mediaType)),"
            + "\"verificationMaterial\":{\"publicKey\":{\"hint\":\(JSONText.quoted(hint ?? ""))},\"tlogEntries\":[]},"
            + "\"dsseEnvelope\":{\"payload\":\"\(payload.base64EncodedString())\","
            + "\"payloadType\":\(JSONText.quoted(payloadType)),"
            + "\"signatures\":[{\"sig\":\"\(signature.base64EncodedString())\",\"keyid\":\"\"}]}}"
        return Array(text.utf8)
    }

    /// Parses a bundle file's bytes.
    ///
    /// - Parameters:
    ///   - data: The file's content.
    ///   - source: The signature file, named in error messages.
    /// - Throws: ``PackagerError`` `.invalidArgument` naming the offending field, or `.unsupported` for
    ///   certificate-based, message-signature or transparency-log bundles.
    static func parse(_ data: Data, source: String) throws -> SignatureBundle {
        func invalid(_ detail: String) -> PackagerError {
            PackagerError.invalid("signature '\(source)' is not a valid model signature bundle: \(detail)")
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { throw invalid("it starts with a byte order mark") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw invalid("it is not a JSON object")
        }
        try checkKeys(
            of: root,
            at: "",
            allowed: ["mediaType", "verificationMaterial", "dsseEnvelope", "messageSignature"],
            invalid
        )
        guard root["mediaType"] as? String == mediaType else {
            throw invalid("`mediaType` must be \"\(mediaType)\"")
        }
        guard let material = root["verificationMaterial"] as? [String: Any] else {
            throw invalid("`verificationMaterial` is missing")
        }
        if material["x509CertificateChain"] != nil || material["certificate"] != nil {
            throw PackagerError.unsupported(
                "signature '\(source)' is certificate-based; only key-based model signatures are supported"
            )
        }
        try checkKeys(
            of: material,
            at: "verificationMaterial.",
            allowed: ["publicKey", "tlogEntries", "timestampVerificationData"],
            invalid
        )
        if let entries = material["tlogEntries"], !(entries is NSNull) {
            guard let list = entries as? [Any] else { throw invalid("`tlogEntries` is not a list") }
            guard list.isEmpty else {
                throw PackagerError.unsupported(
                    "signature '\(source)' carries transparency-log entries; only key-based signatures are supported"
                )
            }
        }
        guard let publicKey = material["publicKey"] as? [String: Any] else {
            throw invalid("`verificationMaterial.publicKey` is missing")
        }
        try checkKeys(
            of: publicKey,
            at: "verificationMaterial.publicKey.",
            allowed: ["hint", "rawBytes", "keyDetails"],
            invalid
        )
        let hint: String?
        switch publicKey["hint"] {
        case nil, is NSNull: hint = nil
        case let text as String: hint = text
        default: throw invalid("`verificationMaterial.publicKey.hint` is not a string")
        }
        if root["messageSignature"] != nil {
            throw PackagerError.unsupported("signature '\(source)' is a message signature, not a DSSE envelope")
        }
        guard let envelope = root["dsseEnvelope"] as? [String: Any] else { throw invalid("`dsseEnvelope` is missing") }
        try checkKeys(of: envelope, at: "dsseEnvelope.", allowed: ["payload", "payloadType", "signatures"], invalid)
        guard let payloadType = envelope["payloadType"] as? String else {
            throw invalid("`dsseEnvelope.payloadType` is missing")
        }
        guard let payloadText = envelope["payload"] as? String, let payload = decodeBase64(payloadText) else {
            throw invalid("`dsseEnvelope.payload` is not padded standard base64")
        }
        guard let signatures = envelope["signatures"] as? [Any], let first = signatures.first as? [String: Any] else {
            throw invalid("`dsseEnvelope.signatures` has no signature")
        }
        try checkKeys(of: first, at: "dsseEnvelope.signatures[0].", allowed: ["sig", "keyid"], invalid)
        switch first["keyid"] {
        case nil, is NSNull, is String: break
        default: throw invalid("`dsseEnvelope.signatures[0].keyid` is not a string")
        }
        guard let signatureText = first["sig"] as? String, let signature = decodeBase64(signatureText) else {
            throw invalid("`dsseEnvelope.signatures[0].sig` is not padded standard base64")
        }
        return SignatureBundle(hint: hint, payloadType: payloadType, payload: payload, signature: signature)
    }

    /// Decodes standard, padded base64, skipping line breaks and other characters outside the alphabet.
    private static func decodeBase64(_ text: String) -> Data? {
        let kept = text.unicodeScalars.filter { scalar in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", "+", "/", "=": true
            default: false
            }
        }
        return Data(base64Encoded: String(String.UnicodeScalarView(kept)))
    }

    private static func checkKeys(
        of object: [String: Any],
        at path: String,
        allowed: Set<String>,
        _ invalid: (String) -> PackagerError
    ) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw invalid("unknown field `\(path)\(unknown)`")
        }
    }
}
