/// A content digest in the form `sha256:<64 lowercase hex digits>`.
///
/// Only SHA-256 is accepted. Parsing is strict: upper-case hex, other algorithms, or any other length are rejected,
/// so a digest can be used as a file name without further checks.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 64 lower-case hexadecimal digits.
    public let hex: String

    /// Parses `sha256:<hex>`.
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` naming the value and the accepted form.
    public init(parsing text: String) throws(RegistryError) {
        let prefix = "sha256:"
        guard text.hasPrefix(prefix) else {
            throw .invalid(
                "invalid digest '\(Self.printable(text))': expected 'sha256:' followed by 64 lowercase hex digits"
            )
        }
        let hex = String(text.dropFirst(prefix.count))
        guard Self.isHex64(hex) else {
            throw .invalid(
                "invalid digest '\(Self.printable(text))': expected 'sha256:' followed by 64 lowercase hex digits"
            )
        }
        self.hex = hex
    }

    /// Wraps hex digits that are known to be valid (for example a freshly computed hash).
    public init(validatedHex hex: String) {
        precondition(Self.isHex64(hex), "not a SHA-256 hex digest")
        self.hex = hex
    }

    public var description: String { "sha256:" + hex }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    static func isHex64(_ text: String) -> Bool {
        let utf8 = text.utf8
        return utf8.count == 64 && utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A value quoted in an error message: cut to a readable length, control characters escaped.
    static func printable(_ text: String) -> String { Validation.printable(text) }
}
