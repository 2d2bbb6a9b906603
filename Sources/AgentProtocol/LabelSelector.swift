/// Which agents a deployment targets: `key=value` and `key!=value` terms separated by commas, all of which must hold
/// (`site=plant-3,gpu=jetson`). The empty selector matches every agent.
public struct LabelSelector: Sendable, Equatable, CustomStringConvertible {
    public struct Term: Sendable, Equatable {
        public var key: String
        public var value: String
        public var equals: Bool
    }

    public var terms: [Term]

    /// The selector that matches every agent.
    public init() { terms = [] }

    /// Parses a selector. Throws ``LabelError`` naming the bad term.
    public init(parsing text: String) throws(LabelError) {
        var terms: [Term] = []
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else {
            self.terms = []
            return
        }
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let term = String(part).trimmingSpaces
            let equals: Bool
            let pieces: [Substring]
            if term.contains("!=") {
                equals = false
                pieces = term.split(separator: "!=", maxSplits: 1, omittingEmptySubsequences: false).map { $0 }
            } else {
                equals = true
                pieces = term.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            }
            guard pieces.count == 2 else {
                throw LabelError("invalid target term '\(term)': expected key=value or key!=value")
            }
            let key = String(pieces[0]).trimmingSpaces
            let value = String(pieces[1]).trimmingSpaces
            try Labels.validate(key: key, value: value)
            terms.append(Term(key: key, value: value, equals: equals))
        }
        self.terms = terms
    }

    public func matches(_ labels: [String: String]) -> Bool {
        terms.allSatisfy { term in (labels[term.key] == term.value) == term.equals }
    }

    /// The canonical text: terms in the order given, without spaces.
    public var description: String {
        terms.map { "\($0.key)\($0.equals ? "=" : "!=")\($0.value)" }.joined(separator: ",")
    }
}

/// A label key or value that is not allowed, with the rule it broke.
public struct LabelError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Rules for agent labels: keys of 1–63 characters from `a-z 0-9 . _ / -` starting with a letter or digit; values
/// of 0–63 characters from `A-Z a-z 0-9 . _ -`.
public enum Labels {
    public static let maximumCount = 32

    public static func validate(key: String, value: String) throws(LabelError) {
        let keyBytes = Array(key.utf8)
        guard (1...63).contains(keyBytes.count),
            isLowerAlphanumeric(keyBytes[0]),
            keyBytes.allSatisfy({ isLowerAlphanumeric($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2F || $0 == 0x2D })
        else {
            throw LabelError(
                "invalid label key '\(printable(key))': expected 1-63 characters of a-z, 0-9, '.', '_', '/', '-', starting with a letter or digit"
            )
        }
        let valueBytes = Array(value.utf8)
        guard valueBytes.count <= 63,
            valueBytes.allSatisfy({
                isLowerAlphanumeric($0) || (0x41...0x5A).contains($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
            })
        else {
            throw LabelError(
                "invalid value '\(printable(value))' for label '\(key)': expected at most 63 characters of A-Z, a-z, 0-9, '.', '_', '-'"
            )
        }
    }

    /// Validates a whole label set.
    public static func validate(_ labels: [String: String]) throws(LabelError) {
        guard labels.count <= maximumCount else {
            throw LabelError("too many labels (\(labels.count)): at most \(maximumCount)")
        }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) { try validate(key: key, value: value) }
    }

    /// Parses `key=value` (one label, as given on a command line).
    public static func parse(_ text: String) throws(LabelError) -> (key: String, value: String) {
        let pieces = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard pieces.count == 2 else { throw LabelError("invalid label '\(printable(text))': expected key=value") }
        let key = String(pieces[0])
        let value = String(pieces[1])
        try validate(key: key, value: value)
        return (key, value)
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
    }

    static func printable(_ text: String) -> String {
        let limited = text.unicodeScalars.prefix(80).map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? "?" : String(scalar)
        }.joined()
        return text.unicodeScalars.count > 80 ? limited + "…" : limited
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
