/// What a filter may name, per search endpoint.
///
/// The four vocabularies of MLflow's search endpoints are the static members; a filter that names anything else is
/// rejected with a message that lists what this vocabulary accepts.
struct FilterVocabulary: Sendable {
    /// Attribute names accepted bare or as `attributes.<name>` / `attribute.<name>`, with the value kind each takes.
    var attributes: [String: FilterValueKind]
    /// Whether `tags.<key>` / `tag.<key>` is accepted (string comparisons only).
    var tags: Bool
    /// Whether `params.<key>` / `param.<key>` is accepted (string comparisons only).
    var params: Bool
    /// Whether `metrics.<key>` / `metric.<key>` is accepted (numeric comparisons only).
    var metrics: Bool
    /// Name used in error messages: "registered model", "model version", "run", "logged model".
    var entity: String
    /// Other spellings of attributes, mapped to the name in ``attributes`` (`source` → `source_path`).
    var synonyms: [String: String] = [:]
    /// Number attributes whose value may also be written as a quoted number (`version_number = '3'`).
    var quotedNumberAttributes: Set<String> = []

    /// `registered-models/search`: `name` and tags.
    static let registeredModels = FilterVocabulary(
        attributes: ["name": .string],
        tags: true,
        params: false,
        metrics: false,
        entity: "registered model"
    )

    /// `model-versions/search`: `name`, `run_id`, `source_path` (or `source`), `version_number` and tags.
    static let modelVersions = FilterVocabulary(
        attributes: ["name": .string, "run_id": .string, "source_path": .string, "version_number": .number],
        tags: true,
        params: false,
        metrics: false,
        entity: "model version",
        synonyms: ["source": "source_path"],
        quotedNumberAttributes: ["version_number"]
    )

    /// `runs/search`: run attributes, tags, params and metrics.
    static let runs = FilterVocabulary(
        attributes: [
            "run_id": .string, "run_name": .string, "status": .string, "user_id": .string, "artifact_uri": .string,
            "start_time": .number, "end_time": .number,
        ],
        tags: true,
        params: true,
        metrics: true,
        entity: "run"
    )

    /// `logged-models/search`: logged-model attributes, tags, params and metrics.
    static let loggedModels = FilterVocabulary(
        attributes: [
            "name": .string, "model_id": .string, "status": .string, "source_run_id": .string,
            "creation_timestamp": .number, "last_updated_timestamp": .number,
        ],
        tags: true,
        params: true,
        metrics: true,
        entity: "logged model"
    )

    /// What this vocabulary accepts, for error messages: `name or tags.<key>`.
    var expectedFields: String {
        var names = attributes.keys.sorted()
        if tags { names.append("tags.<key>") }
        if params { names.append("params.<key>") }
        if metrics { names.append("metrics.<key>") }
        guard let last = names.popLast() else { return "nothing (this search takes no filter)" }
        return names.isEmpty ? last : names.joined(separator: ", ") + " or " + last
    }
}

/// The kind of value an attribute is compared with.
enum FilterValueKind: Sendable {
    case string
    case number
}

/// A value of the field a clause names, as the entity being tested has it.
enum FilterOperandValue: Sendable, Equatable {
    case string(String)
    case number(Double)
}

/// A parsed MLflow search filter such as `name LIKE 'resnet%' AND tags.team = 'vision'`.
///
/// The grammar is the one MLflow's search endpoints accept:
///
/// ```
/// filter     := clause (AND clause)*              -- AND in any case; OR is rejected
/// clause     := identifier comparator value
/// identifier := name | prefix "." key             -- prefix: attribute(s), tag(s), param(s), metric(s)
/// key        := bare-key | "key" | `key`          -- quote keys with spaces or operator characters
/// comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
/// value      := 'string' | "string" | number | ( 'string' [, 'string']* )
/// ```
///
/// String attributes, tags and params take `=`, `!=`, `LIKE`, `ILIKE` and a quoted string; string attributes also
/// take `IN` / `NOT IN` with a list. Number attributes and metrics take `=`, `!=`, `<`, `<=`, `>`, `>=` and an
/// unquoted number. Quoted strings end at the next matching quote: there are no escape sequences. A filter has at most
/// ``maxClauses`` clauses and ``maxLength`` bytes. Parentheses around clauses are not supported.
struct SearchFilter: Sendable, Equatable {
    /// What a clause tests: an attribute of the entity (by canonical name) or one of its tags, params or metrics.
    enum Operand: Sendable, Equatable, Hashable {
        case attribute(String)
        case tag(String)
        case param(String)
        case metric(String)

        /// The operand as a filter names it: `name`, `tags.team`, `metrics.acc`.
        var written: String {
            switch self {
            case .attribute(let name): name
            case .tag(let key): "tags.\(key)"
            case .param(let key): "params.\(key)"
            case .metric(let key): "metrics.\(key)"
            }
        }
    }

    enum Comparator: String, Sendable, Equatable {
        case equal = "="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        case like = "LIKE"
        case ilike = "ILIKE"
        case in_ = "IN"
        case notIn = "NOT IN"
    }

    enum Value: Sendable, Equatable {
        case string(String)
        case number(Double)
        case list([String])
    }

    struct Clause: Sendable, Equatable {
        var operand: Operand
        var comparator: Comparator
        var value: Value
    }

    /// The most clauses one filter may join with AND.
    static let maxClauses = 50
    /// The longest filter accepted, in UTF-8 bytes.
    static let maxLength = 4096

    /// The clauses, all of which must hold; empty for a missing or blank filter.
    var clauses: [Clause]

    init(clauses: [Clause]) {
        self.clauses = clauses
    }

    /// Parses a filter string against the vocabulary of one search endpoint.
    ///
    /// - Parameters:
    ///   - text: The filter as the client sent it; `nil`, empty or blank means no condition.
    ///   - vocabulary: What the endpoint's filter may name.
    /// - Throws: ``RegistryError`` `invalidArgument` naming the offending piece and what would be accepted.
    init(parsing text: String?, vocabulary: FilterVocabulary) throws(RegistryError) {
        guard let text else {
            clauses = []
            return
        }
        guard text.utf8.count <= Self.maxLength else {
            throw RegistryError(
                .invalidArgument,
                "invalid filter: it is \(text.utf8.count) bytes long: at most \(Self.maxLength) are accepted"
            )
        }
        var parser = FilterParser(text: text, vocabulary: vocabulary)
        clauses = try parser.parseFilter()
    }

    /// Whether a clause holds for the given value of its operand.
    ///
    /// An entity without the tag, param or attribute (`nil`) matches only `!=` and `NOT IN`: the MLflow client
    /// filters registered models with ``tags.`mlflow.prompt.is_prompt` != 'true'``, which must keep every model
    /// without that tag. A missing metric matches nothing. Strings compare by their UTF-8 bytes; a string value never
    /// matches a number clause and a number value never matches a string clause.
    static func matches(_ clause: Clause, _ value: FilterOperandValue?) -> Bool {
        guard let value else {
            if case .metric = clause.operand { return false }
            return clause.comparator == .notEqual || clause.comparator == .notIn
        }
        switch (clause.value, value) {
        case (.list(let items), .string(let actual)):
            let found = items.contains { sameBytes($0, actual) }
            switch clause.comparator {
            case .in_: return found
            case .notIn: return !found
            default: return false
            }
        case (.string(let expected), .string(let actual)):
            switch clause.comparator {
            case .equal, .in_: return sameBytes(actual, expected)
            case .notEqual, .notIn: return !sameBytes(actual, expected)
            case .like: return likeMatches(actual, pattern: expected, caseSensitive: true)
            case .ilike: return likeMatches(actual, pattern: expected, caseSensitive: false)
            case .less: return actual.utf8.lexicographicallyPrecedes(expected.utf8)
            case .lessOrEqual: return !expected.utf8.lexicographicallyPrecedes(actual.utf8)
            case .greater: return expected.utf8.lexicographicallyPrecedes(actual.utf8)
            case .greaterOrEqual: return !actual.utf8.lexicographicallyPrecedes(expected.utf8)
            }
        case (.number(let expected), .number(let actual)):
            switch clause.comparator {
            case .equal, .in_: return actual == expected
            case .notEqual, .notIn: return actual != expected
            case .less: return actual < expected
            case .lessOrEqual: return actual <= expected
            case .greater: return actual > expected
            case .greaterOrEqual: return actual >= expected
            case .like, .ilike: return false
            }
        default:
            return false
        }
    }

    /// Whether all clauses hold, looking each operand's value up with `value(of:)`.
    func matches(_ value: (Operand) -> FilterOperandValue?) -> Bool {
        clauses.allSatisfy { Self.matches($0, value($0.operand)) }
    }

    /// SQL `LIKE` matching: `%` matches any run of characters (also none), `_` exactly one; everything else matches
    /// itself and the whole value must match. There is no escape character.
    ///
    /// Case-insensitive matching lower-cases both sides first. Characters are Unicode scalars. The matcher keeps only
    /// the position of the last `%`, so it runs in O(value × pattern) time at worst, never exponential.
    static func likeMatches(_ value: String, pattern: String, caseSensitive: Bool) -> Bool {
        let text = Array((caseSensitive ? value : value.lowercased()).unicodeScalars)
        let pattern = Array((caseSensitive ? pattern : pattern.lowercased()).unicodeScalars)
        var t = 0
        var p = 0
        var lastPercent: Int? = nil
        var resumeAt = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "%" {
                lastPercent = p
                resumeAt = t
                p += 1
            } else if p < pattern.count, pattern[p] == "_" || pattern[p] == text[t] {
                t += 1
                p += 1
            } else if let percent = lastPercent {
                // Let the last % swallow one more character and retry the rest of the pattern from there.
                p = percent + 1
                resumeAt += 1
                t = resumeAt
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "%" { p += 1 }
        return p == pattern.count
    }

    private static func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}

/// Parsed MLflow `order_by` entries such as `["name ASC", "last_updated_timestamp DESC"]`.
struct SearchOrder: Sendable, Equatable {
    struct Key: Sendable, Equatable {
        /// The canonical field name (a value of the `allowed` map given to the parser).
        var field: String
        var ascending: Bool
    }

    /// The sort keys, most significant first.
    var keys: [Key]

    init(keys: [Key]) {
        self.keys = keys
    }

    /// Parses MLflow order_by entries, e.g. `["name ASC", "last_updated_timestamp DESC", "version_number"]`.
    ///
    /// Each entry is `<field> [ASC|DESC]` (direction in any case, default ascending). Fields are case-sensitive.
    /// Empty input gives empty keys.
    ///
    /// - Parameters:
    ///   - entries: The `order_by` values as sent.
    ///   - allowed: Accepted spellings mapped to canonical field names (`"timestamp"` → `"last_updated_timestamp"`,
    ///     `"attributes.name"` → `"name"`). A spelling ending in `.*` accepts any key after its prefix, and the field
    ///     is the canonical value followed by the key: with `"metrics.*": "metrics."`, `metrics.acc DESC` and
    ///     ``metrics.`my acc` `` order by `metrics.acc` and `metrics.my acc`.
    ///   - entity: Name used in error messages ("registered model").
    /// - Throws: ``RegistryError`` `invalidArgument` naming the entry and listing the accepted fields.
    init(parsing entries: [String], allowed: [String: String], entity: String) throws(RegistryError) {
        keys = []
        for entry in entries {
            guard let key = Self.key(entry, allowed: allowed) else {
                throw RegistryError(
                    .invalidArgument,
                    "invalid order_by '\(Validation.printable(entry))' for \(entity) search: "
                        + "expected '<field> [ASC|DESC]' with field one of \(Self.expectedFields(allowed))"
                )
            }
            keys.append(key)
        }
    }

    private static func key(_ entry: String, allowed: [String: String]) -> Key? {
        var field = Substring(entry).trimmingWhitespace()
        var ascending = true
        // A last word of ASC or DESC is the direction; any other space must be inside a quoted key.
        if let space = field.lastIndex(where: \.isWhitespace) {
            switch field[field.index(after: space)...].uppercased() {
            case "ASC": field = field[..<space].trimmingWhitespace()
            case "DESC":
                ascending = false
                field = field[..<space].trimmingWhitespace()
            default: break
            }
        }
        guard !field.isEmpty else { return nil }
        if let canonical = allowed[String(field)] { return Key(field: canonical, ascending: ascending) }
        // Prefix spellings (`metrics.*`), longest first so that the most specific wins.
        let prefixes = allowed.filter { $0.key.hasSuffix(".*") }.sorted { $0.key.count > $1.key.count }
        for (spelling, canonical) in prefixes {
            let prefix = spelling.dropLast()
            guard field.hasPrefix(prefix) else { continue }
            let key = field.dropFirst(prefix.count)
            if let quote = key.first, quote == "`" || quote == "\"" {
                let inner = key.dropFirst().dropLast()
                guard key.count >= 3, key.last == quote, !inner.contains(quote) else { return nil }
                return Key(field: canonical + inner, ascending: ascending)
            }
            guard !key.isEmpty, !key.contains(where: \.isWhitespace) else { return nil }
            return Key(field: canonical + key, ascending: ascending)
        }
        return nil
    }

    private static func expectedFields(_ allowed: [String: String]) -> String {
        let names = allowed.keys.map { $0.hasSuffix(".*") ? String($0.dropLast()) + "<key>" : $0 }.sorted()
        return names.isEmpty ? "(none: this search cannot be ordered)" : names.joined(separator: ", ")
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return self[endIndex...] }
        return self[first...last]
    }
}

// MARK: Parser

/// A recursive-descent parser over the UTF-8 bytes of a filter. Every delimiter is ASCII, so slices between them are
/// whole characters.
private struct FilterParser {
    typealias Operand = SearchFilter.Operand
    typealias Comparator = SearchFilter.Comparator

    let bytes: [UInt8]
    let vocabulary: FilterVocabulary
    var position = 0

    init(text: String, vocabulary: FilterVocabulary) {
        self.bytes = Array(text.utf8)
        self.vocabulary = vocabulary
    }

    private var atEnd: Bool { position >= bytes.count }
    private var peek: UInt8? { atEnd ? nil : bytes[position] }

    mutating func parseFilter() throws(RegistryError) -> [SearchFilter.Clause] {
        var clauses: [SearchFilter.Clause] = []
        skipSpace()
        guard !atEnd else { return clauses }
        while true {
            let start = position
            clauses.append(try parseClause())
            guard clauses.count <= SearchFilter.maxClauses else {
                throw invalid(
                    "it has more than \(SearchFilter.maxClauses) clauses: "
                        + "at most \(SearchFilter.maxClauses) are accepted"
                )
            }
            let clause = text(start..<position)
            skipSpace()
            if atEnd { return clauses }
            let wordStart = position
            let word = text(read(while: Self.isLetter))
            switch word.uppercased() {
            case "AND":
                skipSpace()
                guard !atEnd else { throw invalid("the filter ends with '\(word)': expected a clause after it") }
            case "OR":
                throw invalid("'\(word)' is not supported: only AND is supported to join clauses")
            default:
                position = wordStart
                throw invalid(
                    "unexpected \(found()) after '\(Validation.printable(clause))': expected AND and another clause, "
                        + "or the end of the filter"
                )
            }
        }
    }

    private mutating func parseClause() throws(RegistryError) -> SearchFilter.Clause {
        let (operand, kind) = try parseOperand()
        let comparator = try parseComparator(after: operand)
        let accepted = Self.comparators(for: operand, kind: kind)
        guard accepted.contains(comparator) else {
            throw invalid(
                "operator '\(comparator.rawValue)' is not supported for \(quoted(operand)): expected "
                    + accepted.map(\.rawValue).joined(separator: ", ")
            )
        }
        let value: SearchFilter.Value
        switch (comparator, kind) {
        case (.in_, _), (.notIn, _): value = .list(try parseList(for: operand, comparator))
        case (_, .string): value = .string(try parseString(for: operand))
        case (_, .number): value = .number(try parseNumber(for: operand))
        }
        return SearchFilter.Clause(operand: operand, comparator: comparator, value: value)
    }

    private static func comparators(for operand: Operand, kind: FilterValueKind) -> [Comparator] {
        switch (operand, kind) {
        case (.attribute, .string): [.equal, .notEqual, .like, .ilike, .in_, .notIn]
        case (_, .string): [.equal, .notEqual, .like, .ilike]
        case (_, .number): [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual]
        }
    }

    // MARK: Identifiers

    private mutating func parseOperand() throws(RegistryError) -> (Operand, FilterValueKind) {
        let start = position
        let head = text(read(while: Self.isIdentifier))
        guard !head.isEmpty else {
            throw invalid("expected a field name at \(found()): expected \(vocabulary.expectedFields)")
        }
        guard peek == UInt8(ascii: ".") else { return try attribute(head) }
        position += 1
        let key = try parseKey(after: head)
        switch head {
        case "attributes", "attribute":
            return try attribute(key)
        case "tags", "tag":
            guard vocabulary.tags else { throw unsupported("tags") }
            return (.tag(key), .string)
        case "params", "param":
            guard vocabulary.params else { throw unsupported("params") }
            return (.param(key), .string)
        case "metrics", "metric":
            guard vocabulary.metrics else { throw unsupported("metrics") }
            return (.metric(key), .number)
        default:
            throw invalid(
                "unknown field '\(Validation.printable(text(start..<position)))' for \(vocabulary.entity) search: "
                    + "expected \(vocabulary.expectedFields)"
            )
        }
    }

    private func attribute(_ name: String) throws(RegistryError) -> (Operand, FilterValueKind) {
        let canonical = vocabulary.synonyms[name] ?? name
        guard let kind = vocabulary.attributes[canonical] else {
            throw invalid(
                "unknown attribute '\(Validation.printable(name))' for \(vocabulary.entity) search: "
                    + "expected \(vocabulary.expectedFields)"
            )
        }
        return (.attribute(canonical), kind)
    }

    private func unsupported(_ what: String) -> RegistryError {
        invalid("\(what) are not supported for \(vocabulary.entity) search: expected \(vocabulary.expectedFields)")
    }

    /// The key after `tags.` and the like: bare up to a space, operator, quote or parenthesis, or in `"…"` / `` `…` ``.
    private mutating func parseKey(after prefix: String) throws(RegistryError) -> String {
        if let quote = peek, quote == Self.doubleQuote || quote == Self.backtick {
            let key = try readQuoted()
            guard !key.isEmpty else {
                throw invalid("empty key after '\(Validation.printable(prefix)).': expected \(prefix).<key>")
            }
            return key
        }
        let key = text(read { !Self.isSpace($0) && !Self.isDelimiter($0) })
        guard !key.isEmpty else {
            throw invalid(
                "missing key after '\(Validation.printable(prefix)).': expected \(prefix).<key> or \(prefix).`<key>`"
            )
        }
        return key
    }

    // MARK: Comparators

    private mutating func parseComparator(after operand: Operand) throws(RegistryError) -> Comparator {
        skipSpace()
        let start = position
        let symbols = text(read(while: Self.isOperatorSymbol))
        if !symbols.isEmpty {
            if let comparator = Comparator(rawValue: symbols) { return comparator }
            position = start
            throw invalid("unknown operator '\(symbols)' after \(quoted(operand)): expected \(Self.allComparators)")
        }
        switch text(read(while: Self.isLetter)).uppercased() {
        case "LIKE": return .like
        case "ILIKE": return .ilike
        case "IN": return .in_
        case "NOT":
            skipSpace()
            let afterNot = position
            if text(read(while: Self.isLetter)).uppercased() == "IN" { return .notIn }
            position = afterNot
            throw invalid("expected IN after NOT, found \(found()): NOT IN is the only negated operator")
        default:
            position = start
            throw invalid(
                "expected an operator after \(quoted(operand)), found \(found()): expected \(Self.allComparators)"
            )
        }
    }

    private static let allComparators = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN"

    // MARK: Values

    private mutating func parseString(for operand: Operand) throws(RegistryError) -> String {
        skipSpace()
        guard let byte = peek, byte != UInt8(ascii: ")"), byte != UInt8(ascii: ",") else {
            throw invalid(
                "missing value for \(quoted(operand)) at \(found()): expected a string in single or double quotes"
            )
        }
        guard byte == Self.singleQuote || byte == Self.doubleQuote else {
            let token = Validation.printable(text(read(while: Self.isValueByte)))
            throw invalid(
                "value \(token) for \(quoted(operand)) is not quoted: expected a string in single or double quotes, "
                    + "such as '\(token)'"
            )
        }
        return try readQuoted()
    }

    private mutating func parseNumber(for operand: Operand) throws(RegistryError) -> Double {
        skipSpace()
        guard let byte = peek, Self.isValueByte(byte) || byte == Self.singleQuote || byte == Self.doubleQuote else {
            throw invalid("missing value for \(quoted(operand)) at \(found()): expected a number such as 3 or 0.5")
        }
        if byte == Self.singleQuote || byte == Self.doubleQuote {
            let start = position
            let inner = try readQuoted()
            let written = Validation.printable(text(start..<position))
            guard case .attribute(let name) = operand, vocabulary.quotedNumberAttributes.contains(name) else {
                throw invalid("value \(written) for \(quoted(operand)) is quoted: expected a number without quotes")
            }
            guard let number = Self.number(inner) else {
                throw invalid("value \(written) for \(quoted(operand)) is not a number: expected a number such as 3")
            }
            return number
        }
        let token = text(read(while: Self.isValueByte))
        guard let number = Self.number(token) else {
            throw invalid(
                "value '\(Validation.printable(token))' for \(quoted(operand)) is not a number: "
                    + "expected a number such as 3, -1.5 or 2e-3"
            )
        }
        return number
    }

    private mutating func parseList(for operand: Operand, _ comparator: Comparator) throws(RegistryError) -> [String] {
        skipSpace()
        guard peek == UInt8(ascii: "(") else {
            throw invalid(
                "expected '(' after \(comparator.rawValue) for \(quoted(operand)), found \(found()): "
                    + "expected a list such as ('a', 'b')"
            )
        }
        position += 1
        skipSpace()
        guard peek != UInt8(ascii: ")") else {
            throw invalid(
                "empty \(comparator.rawValue) list for \(quoted(operand)): "
                    + "expected one or more quoted strings, such as ('a', 'b')"
            )
        }
        var items: [String] = []
        while true {
            items.append(try parseString(for: operand))
            skipSpace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: ")"):
                position += 1
                return items
            default:
                throw invalid(
                    "expected ',' or ')' in the \(comparator.rawValue) list for \(quoted(operand)), found \(found())"
                )
            }
        }
    }

    /// Reads `'…'`, `"…"` or `` `…` `` starting at the current quote and returns what is between the quotes.
    private mutating func readQuoted() throws(RegistryError) -> String {
        let quote = bytes[position]
        let start = position
        guard let end = bytes[(position + 1)...].firstIndex(of: quote) else {
            let name =
                switch quote {
                case Self.singleQuote: "single quote"
                case Self.doubleQuote: "double quote"
                default: "backtick"
                }
            throw invalid(
                "unterminated quote at \(Validation.printable(text(start..<bytes.count))): expected a closing \(name)"
            )
        }
        position = end + 1
        return text((start + 1)..<end)
    }

    /// A decimal number: optional sign, digits with an optional fraction, optional exponent; finite.
    private static func number(_ text: String) -> Double? {
        let b = Array(text.utf8)
        var i = 0
        func skipDigits() -> Int {
            let start = i
            while i < b.count, Validation.isDigit(b[i]) { i += 1 }
            return i - start
        }
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        var digits = skipDigits()
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            digits += skipDigits()
        }
        guard digits > 0 else { return nil }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard skipDigits() > 0 else { return nil }
        }
        guard i == b.count, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    // MARK: Scanning

    private mutating func skipSpace() {
        while let byte = peek, Self.isSpace(byte) { position += 1 }
    }

    private mutating func read(while predicate: (UInt8) -> Bool) -> Range<Int> {
        let start = position
        while let byte = peek, predicate(byte) { position += 1 }
        return start..<position
    }

    private func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    /// The next whitespace-delimited token, quoted, or "the end of the filter".
    private func found() -> String {
        guard !atEnd else { return "the end of the filter" }
        var end = position
        while end < bytes.count, !Self.isSpace(bytes[end]) { end += 1 }
        return "'\(Validation.printable(text(position..<end)))'"
    }

    private func quoted(_ operand: Operand) -> String { "'\(Validation.printable(operand.written))'" }

    private func invalid(_ detail: String) -> RegistryError {
        RegistryError(.invalidArgument, "invalid filter: \(detail)")
    }

    private static let singleQuote = UInt8(ascii: "'")
    private static let doubleQuote = UInt8(ascii: "\"")
    private static let backtick = UInt8(ascii: "`")

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
    private static func isLetter(_ byte: UInt8) -> Bool { Validation.isLetter(byte) }
    private static func isIdentifier(_ byte: UInt8) -> Bool {
        Validation.isLetter(byte) || Validation.isDigit(byte) || byte == UInt8(ascii: "_")
    }
    private static func isOperatorSymbol(_ byte: UInt8) -> Bool { "=!<>".utf8.contains(byte) }
    /// Characters that end a bare key: operators, quotes, parentheses and commas.
    private static func isDelimiter(_ byte: UInt8) -> Bool { "=!<>()',\"`".utf8.contains(byte) }
    /// Characters of an unquoted value token (a number, or a string someone forgot to quote).
    private static func isValueByte(_ byte: UInt8) -> Bool {
        !isSpace(byte) && !"()',\"`".utf8.contains(byte)
    }
}
