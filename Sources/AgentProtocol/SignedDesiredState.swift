public import Crypto
public import Foundation
import Packager

/// A desired-state document as it travels: a DSSE envelope (`payloadType`, base64 `payload`, `signatures`) whose
/// payload is the JSON of a ``DesiredState``. The signature covers the DSSE pre-authentication encoding of the
/// payload bytes exactly as carried, so nothing is re-serialised before verification.
public struct SignedDesiredState: Codable, Sendable, Equatable {
    public var payloadType: String
    public var payload: Data
    public var signatures: [Signature]

    public struct Signature: Codable, Sendable, Equatable {
        public var keyid: String
        public var sig: Data

        public init(keyid: String, sig: Data) {
            self.keyid = keyid
            self.sig = sig
        }
    }

    public init(payloadType: String, payload: Data, signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// Signs `state` with the registry's key.
    public init(signing state: DesiredState, with key: RegistrySigningKey) throws {
        let payload = try DesiredStateCoding.encoder.encode(state)
        let signed = DSSE.preAuthenticationEncoding(payloadType: DesiredState.payloadType, payload: payload)
        self.init(
            payloadType: DesiredState.payloadType,
            payload: payload,
            signatures: [Signature(keyid: key.keyID, sig: try key.privateKey.signature(for: signed))]
        )
    }

    /// The envelope's JSON, as served and as an agent stores it.
    public func encoded() throws -> Data { try DesiredStateCoding.encoder.encode(self) }

    /// Parses an envelope; `DesiredStateError.malformed` when the bytes are not one.
    public static func decode(_ data: Data) throws(DesiredStateError) -> SignedDesiredState {
        do {
            return try DesiredStateCoding.decoder.decode(SignedDesiredState.self, from: data)
        } catch {
            throw .malformed("the desired-state document is not a signed envelope: \(error)")
        }
    }

    /// Verifies the signature with one of `trustedKeys` and returns the payload, without judging its times or
    /// generation (``DesiredStateVerifier`` does).
    ///
    /// - Throws: ``DesiredStateError`` `unsigned` (no signature), `untrustedKey` (no signature by a trusted key),
    ///   `badSignature` (a trusted key's signature does not verify), `malformed` (wrong payload type or JSON).
    public func verifiedPayload(trustedKeys: [RegistryPublicKey]) throws(DesiredStateError) -> DesiredState {
        guard !signatures.isEmpty else { throw .unsigned }
        guard payloadType == DesiredState.payloadType else {
            throw .malformed("payload type '\(payloadType)', expected '\(DesiredState.payloadType)'")
        }
        let signed = DSSE.preAuthenticationEncoding(payloadType: payloadType, payload: payload)
        var verifiedBy: RegistryPublicKey?
        var badKey: String?
        for signature in signatures {
            guard let key = trustedKeys.first(where: { $0.keyID == signature.keyid }) else { continue }
            if key.publicKey.isValidSignature(signature.sig, for: signed) {
                verifiedBy = key
                break
            }
            badKey = key.keyID
        }
        guard verifiedBy != nil else {
            if let badKey { throw .badSignature(keyID: badKey) }
            throw .untrustedKey(keyIDs: signatures.map(\.keyid))
        }
        do {
            return try DesiredStateCoding.decoder.decode(DesiredState.self, from: payload)
        } catch {
            throw .malformed("the signed payload is not a desired state: \(error)")
        }
    }
}

/// Why a desired-state document was refused.
public enum DesiredStateError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsigned
    case untrustedKey(keyIDs: [String])
    case badSignature(keyID: String)
    case expired(expiresAt: Date, now: Date)
    case notYetValid(issuedAt: Date, now: Date)
    case wrongAgent(document: String, agent: String)
    case rollback(generation: Int64, accepted: Int64)
    case unsupportedSchema(Int)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed desired state: \(reason)"
        case .unsigned: "the desired state is not signed"
        case .untrustedKey(let ids):
            "the desired state is signed only by keys this agent does not trust (\(ids.joined(separator: ", ")))"
        case .badSignature(let id): "the desired state's signature by key \(id) does not verify"
        case .expired(let expiresAt, let now):
            "the desired state expired at \(Timestamp.text(expiresAt)) (now \(Timestamp.text(now)))"
        case .notYetValid(let issuedAt, let now):
            "the desired state was issued at \(Timestamp.text(issuedAt)), after now (\(Timestamp.text(now)))"
        case .wrongAgent(let document, let agent):
            "the desired state is for agent '\(document)', not '\(agent)'"
        case .rollback(let generation, let accepted):
            "the desired state has generation \(generation), older than the accepted generation \(accepted)"
        case .unsupportedSchema(let schema):
            "the desired state has schema \(schema); this agent reads schema \(DesiredState.currentSchema)"
        }
    }
}

/// The registry's Ed25519 key for desired-state documents (its private part never leaves the registry).
public struct RegistrySigningKey: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(privateKey: Curve25519.Signing.PrivateKey) { self.privateKey = privateKey }

    public static func generate() -> RegistrySigningKey { RegistrySigningKey(privateKey: .init()) }

    public var publicKey: RegistryPublicKey { RegistryPublicKey(publicKey: privateKey.publicKey) }
    public var keyID: String { publicKey.keyID }
}

/// The public part of a registry key, as agents trust it: `ed25519` with the raw 32 bytes in base64.
public struct RegistryPublicKey: Codable, Sendable, Equatable {
    public static let algorithm = "ed25519"

    public let publicKey: Curve25519.Signing.PublicKey

    public init(publicKey: Curve25519.Signing.PublicKey) { self.publicKey = publicKey }

    /// Parses the raw 32-byte key in base64; `nil` for anything else.
    public init?(base64: String) {
        guard let raw = Data(base64Encoded: base64), raw.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return nil }
        self.publicKey = key
    }

    /// Hex SHA-256 of the raw key: names the key in signatures.
    public var keyID: String {
        SHA256.hash(data: publicKey.rawRepresentation).map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    public var base64: String { publicKey.rawRepresentation.base64EncodedString() }

    public static func == (lhs: RegistryPublicKey, rhs: RegistryPublicKey) -> Bool {
        lhs.publicKey.rawRepresentation == rhs.publicKey.rawRepresentation
    }

    enum CodingKeys: String, CodingKey {
        case algorithm
        case keyID = "key_id"
        case publicKey = "public_key"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let algorithm = try container.decode(String.self, forKey: .algorithm)
        guard algorithm == Self.algorithm else {
            throw DecodingError.dataCorruptedError(
                forKey: .algorithm,
                in: container,
                debugDescription: "key algorithm '\(algorithm)', expected '\(Self.algorithm)'"
            )
        }
        let text = try container.decode(String.self, forKey: .publicKey)
        guard let key = RegistryPublicKey(base64: text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .publicKey,
                in: container,
                debugDescription: "not a base64 Ed25519 public key (32 bytes)"
            )
        }
        self = key
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.algorithm, forKey: .algorithm)
        try container.encode(keyID, forKey: .keyID)
        try container.encode(base64, forKey: .publicKey)
    }
}

/// Judges a verified document against the agent's clock, name and the last generation it accepted.
public struct DesiredStateVerifier: Sendable {
    public var trustedKeys: [RegistryPublicKey]
    public var agent: String
    /// How far the registry's clock may be ahead of the agent's before `issued_at` counts as in the future.
    public var clockSkew: TimeInterval

    public init(trustedKeys: [RegistryPublicKey], agent: String, clockSkew: TimeInterval = 300) {
        self.trustedKeys = trustedKeys
        self.agent = agent
        self.clockSkew = clockSkew
    }

    /// The payload of `envelope` if it is signed by a trusted key, meant for this agent, current at `now`, and not
    /// older than `acceptedGeneration`.
    public func verify(
        _ envelope: SignedDesiredState,
        acceptedGeneration: Int64?,
        now: Date = Date()
    ) throws(DesiredStateError) -> DesiredState {
        let state = try envelope.verifiedPayload(trustedKeys: trustedKeys)
        guard state.schema == DesiredState.currentSchema else { throw .unsupportedSchema(state.schema) }
        guard state.agent == agent else { throw .wrongAgent(document: state.agent, agent: agent) }
        guard state.expiresAt > now else { throw .expired(expiresAt: state.expiresAt, now: now) }
        guard state.issuedAt <= now.addingTimeInterval(clockSkew) else {
            throw .notYetValid(issuedAt: state.issuedAt, now: now)
        }
        if let acceptedGeneration, state.generation < acceptedGeneration {
            throw .rollback(generation: state.generation, accepted: acceptedGeneration)
        }
        return state
    }
}

/// The JSON coders of the agent protocol: sorted keys, ISO 8601 times.
public enum DesiredStateCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

enum Timestamp {
    static func text(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
