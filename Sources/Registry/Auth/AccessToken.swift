import Crypto
public import Foundation

/// An API or device token: `mctl_<id>_<secret>`.
///
/// - `id`: 16 lowercase hex digits, random, public. It names the token in lists, in the audit trail and in `revoke`,
///   and is how the registry finds the token's record.
/// - `secret`: 32 random bytes (256 bits) in unpadded base64url (43 characters). Only its SHA-256 is stored; a
///   presented secret is hashed and compared with the stored hash in constant time.
///
/// The secret has full entropy, so one SHA-256 is enough to make a stolen database useless for logging in (a slow
/// password hash guards low-entropy secrets; these are not).
public struct AccessToken: Sendable, Equatable {
    public static let prefix = "mctl_"
    static let idLength = 16
    static let secretLength = 43
    public static let length = prefix.utf8.count + idLength + 1 + secretLength

    public let id: String
    let secret: String

    /// A new random token.
    public static func generate() -> AccessToken {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<(idLength / 2)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let id = idBytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        let secret = Data(secretBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return AccessToken(id: id, secret: secret)
    }

    /// Parses `mctl_<id>_<secret>`; `nil` for anything else (the caller answers 401 without saying more).
    public init?(parsing text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == Self.length, text.hasPrefix(Self.prefix) else { return nil }
        let idStart = Self.prefix.utf8.count
        let idBytes = bytes[idStart..<(idStart + Self.idLength)]
        let separator = idStart + Self.idLength
        let secretBytes = bytes[(separator + 1)...]
        guard bytes[separator] == UInt8(ascii: "_"),
            idBytes.allSatisfy({ Validation.isDigit($0) || (0x61...0x66).contains($0) }),
            secretBytes.allSatisfy({
                Validation.isLetter($0) || Validation.isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            })
        else { return nil }
        self.id = String(decoding: idBytes, as: UTF8.self)
        self.secret = String(decoding: secretBytes, as: UTF8.self)
    }

    private init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// The token as the client sends it. Shown once, when it is created; never logged.
    public var text: String { "\(Self.prefix)\(id)_\(secret)" }

    /// What the registry stores: SHA-256 of the secret.
    public var secretHash: Data { Data(SHA256.hash(data: Data(secret.utf8))) }

    /// Whether this token's secret hashes to `stored`, compared in constant time.
    public func matches(hash stored: Data) -> Bool {
        let computed = secretHash
        guard stored.count == computed.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(stored, computed) { difference |= a ^ b }
        return difference == 0
    }

    /// Whether `id` has the shape of a token id (16 lowercase hex digits).
    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == idLength && id.utf8.allSatisfy { Validation.isDigit($0) || (0x61...0x66).contains($0) }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
