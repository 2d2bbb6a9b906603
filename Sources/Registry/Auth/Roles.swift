/// What a principal may do with the models a binding covers; each role includes the ones before it.
///
/// - reader: get, list, download.
/// - writer: + upload blobs, create models and versions, update metadata.
/// - promoter: + stages, aliases, rollback.
/// - admin: + delete models; on `*`, also tokens and role bindings.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case reader, writer, promoter, admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a role name.
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` naming the value and the accepted roles.
    public init(parsing text: String) throws(RegistryError) {
        guard let role = Role(rawValue: text) else {
            throw .invalid(
                "invalid role '\(Validation.printable(text))': expected one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self = role
    }
}

/// The models a role binding covers: `*` (every model), a name with `*` wildcards (`vision-*`), or one name.
///
/// Model names are made of `A–Z a–z 0–9 . _ -`, so `*` is the only special character; matching is case-sensitive,
/// like model names.
public struct ModelPattern: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public static let all = ModelPattern(validated: "*")

    /// Parses a pattern.
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` naming the value and what is accepted.
    public init(parsing text: String) throws(RegistryError) {
        let allowed = text.utf8.allSatisfy {
            Validation.isLetter($0) || Validation.isDigit($0) || "._-*".utf8.contains($0)
        }
        guard !text.isEmpty, text.utf8.count <= Validation.maxNameLength, allowed else {
            throw .invalid(
                "invalid model pattern '\(Validation.printable(text))': use '*', a model name, or a name with * wildcards such as 'vision-*' (1-\(Validation.maxNameLength) characters from A-Z a-z 0-9 . _ - *)"
            )
        }
        self.text = text
    }

    init(validated text: String) { self.text = text }

    public var description: String { text }

    /// Whether the pattern covers every model.
    public var isAll: Bool { text.utf8.allSatisfy { $0 == UInt8(ascii: "*") } }

    /// Whether `name` matches: `*` stands for any run of characters, including none.
    public func matches(_ name: String) -> Bool {
        Self.match(Array(text.utf8)[...], Array(name.utf8)[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        // Greedy matching with backtracking to the last star: linear for the patterns people write.
        var p = pattern.startIndex
        var n = name.startIndex
        var star: (p: Int, n: Int)?
        while n < name.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = (p, n)
                p += 1
            } else if p < pattern.endIndex, pattern[p] == name[n] {
                p += 1
                n += 1
            } else if let last = star {
                p = last.p + 1
                n = last.n + 1
                star = (last.p, last.n + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}

/// A role on the models matching a pattern, held by a principal.
public struct RoleBinding: Hashable, Sendable {
    public var pattern: ModelPattern
    public var role: Role

    public init(pattern: ModelPattern, role: Role) {
        self.pattern = pattern
        self.role = role
    }
}

/// The kinds of principal: people and service accounts use API tokens, agents use device tokens.
public enum PrincipalKind: String, Sendable, Codable, CaseIterable {
    case user, service, device

    /// Parses a kind.
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` naming the value and the accepted kinds.
    public init(parsing text: String) throws(RegistryError) {
        guard let kind = PrincipalKind(rawValue: text) else {
            throw .invalid(
                "invalid principal kind '\(Validation.printable(text))': expected one of user, service, device"
            )
        }
        self = kind
    }
}

extension Validation {
    public static let maxPrincipalNameLength = 64

    /// Principal names: 1–64 of `A–Z a–z 0–9 . _ - @`, starting with a letter or digit (`alice`, `ci-pipeline`,
    /// `cam-17`, `alice@example.com`).
    public static func principalName(_ name: String) throws(RegistryError) {
        guard isToken(name, maxLength: maxPrincipalNameLength, extra: "._-@") else {
            throw .invalid(
                "invalid principal name '\(printable(name))': use 1-\(maxPrincipalNameLength) characters from A-Z a-z 0-9 . _ - @, starting with a letter or digit"
            )
        }
    }
}
