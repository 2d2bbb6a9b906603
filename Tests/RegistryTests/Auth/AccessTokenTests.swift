import Crypto
import Foundation
import Testing

@testable import Registry

/// `mctl_<16 hex id>_<43 base64url secret>`: generation, parsing, hashing and comparison.
@Suite struct AccessTokenTests {
    static let sample = "mctl_0123456789abcdef_" + String(repeating: "A", count: 43)

    /// `text` with the byte at `offset` replaced by `replacement`.
    static func replacing(_ text: String, at offset: Int, with replacement: String) -> String {
        var characters = Array(text)
        characters[offset] = Character(replacement)
        return String(characters)
    }

    // MARK: Tests

    @Test func aGeneratedTokenParsesBackToItself() throws {
        for _ in 0..<100 {
            // Given a new token
            let token = AccessToken.generate()
            // When its text is parsed
            let parsed = try #require(AccessToken(parsing: token.text), "\(token.text)")
            // Then it is the same token, of the documented shape
            #expect(parsed == token)
            #expect(parsed.secretHash == token.secretHash)
            #expect(token.text.utf8.count == AccessToken.length)
            #expect(AccessToken.length == 65)
            #expect(token.text.hasPrefix("mctl_\(token.id)_"))
            #expect(AccessToken.isValidID(token.id))
        }
    }

    @Test func theSecretIs256RandomBitsInBase64URL() throws {
        var secrets = Set<String>()
        var ids = Set<String>()
        for _ in 0..<200 {
            let token = AccessToken.generate()
            let secret = String(token.text.dropFirst("mctl_".count + 17))
            // Then the secret is 43 base64url characters that decode to 32 bytes
            #expect(secret.count == 43)
            #expect(secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            let base64 = secret.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="
            #expect(Data(base64Encoded: base64)?.count == 32)
            // And the id is 16 lowercase hex digits
            #expect(token.id.count == 16)
            #expect(token.id.allSatisfy { "0123456789abcdef".contains($0) })
            secrets.insert(secret)
            ids.insert(token.id)
        }
        // And no two tokens share a secret or an id
        #expect(secrets.count == 200)
        #expect(ids.count == 200)
        // And every base64url character turns up (the secret is not drawn from a smaller alphabet)
        let characters = Set(secrets.joined())
        #expect(characters.count == 64)
    }

    @Test func onlyTheSHA256OfTheSecretIsStored() {
        let token = AccessToken.generate()
        let secret = String(token.text.suffix(43))
        #expect(token.secretHash == Data(SHA256.hash(data: Data(secret.utf8))))
        #expect(token.secretHash.count == 32)
    }

    static let malformed: [(String, String)] = [
        ("empty", ""),
        ("one character short", String(sample.dropLast())),
        ("one character long", sample + "A"),
        ("whitespace around it", " " + sample),
        ("trailing newline", String(sample.dropLast()) + "\n"),
        ("upper-case prefix", "MCTL_" + sample.dropFirst(5)),
        ("other prefix", "mctx_" + sample.dropFirst(5)),
        ("dash after the prefix", "mctl-" + sample.dropFirst(5)),
        ("no separator after the id", replacing(sample, at: 21, with: "-")),
        ("upper-case hex in the id", replacing(sample, at: 5, with: "A")),
        ("non-hex letter in the id", replacing(sample, at: 6, with: "g")),
        ("underscore in the id", replacing(sample, at: 7, with: "_")),
        ("plus in the secret", replacing(sample, at: 30, with: "+")),
        ("slash in the secret", replacing(sample, at: 30, with: "/")),
        ("padding in the secret", replacing(sample, at: 64, with: "=")),
        ("dot in the secret", replacing(sample, at: 40, with: ".")),
        ("non-ASCII letter in the secret", String(sample.dropLast(2)) + "é"),
        ("NUL in the secret", replacing(sample, at: 50, with: "\u{0}")),
        ("the id only", "mctl_0123456789abcdef"),
    ]

    @Test(arguments: malformed)
    func malformedTokensAreRejected(_ what: String, _ text: String) {
        #expect(AccessToken(parsing: text) == nil, "\(what): '\(text)' was accepted")
    }

    @Test func theSampleItselfIsWellFormed() throws {
        let token = try #require(AccessToken(parsing: Self.sample))
        #expect(token.id == "0123456789abcdef")
        #expect(token.text == Self.sample)
        // And a substring of a longer text parses too
        #expect(AccessToken(parsing: ("x" + Self.sample).dropFirst()) == token)
    }

    @Test func matchesOnlyTheHashOfItsOwnSecret() throws {
        // Given a token and one with the same id and another secret
        let token = AccessToken.generate()
        let impostor = try #require(AccessToken(parsing: "mctl_\(token.id)_\(AccessToken.generate().text.suffix(43))"))
        // Then each matches its own hash only
        #expect(token.matches(hash: token.secretHash))
        #expect(!impostor.matches(hash: token.secretHash))
        #expect(!token.matches(hash: impostor.secretHash))
        // And hashes of another length or with one bit flipped never match
        #expect(!token.matches(hash: Data()))
        #expect(!token.matches(hash: token.secretHash.prefix(31)))
        #expect(!token.matches(hash: token.secretHash + [0]))
        for index in [0, 15, 31] {
            var flipped = token.secretHash
            flipped[index] ^= 0x01
            #expect(!token.matches(hash: flipped))
        }
    }

    @Test func idsAreSixteenLowerCaseHexDigits() {
        #expect(AccessToken.isValidID("0123456789abcdef"))
        #expect(!AccessToken.isValidID("0123456789ABCDEF"))
        #expect(!AccessToken.isValidID("0123456789abcde"))
        #expect(!AccessToken.isValidID("0123456789abcdef0"))
        #expect(!AccessToken.isValidID("0123456789abcdeg"))
        #expect(!AccessToken.isValidID(""))
    }
}
