import Foundation
import HTTPTypes
import Hummingbird

// Parsing of path parameters, query parameters and headers into validated values. Every failure is a
// `RegistryError.invalidArgument` that names the parameter and what it accepts.

extension RegistryRequestContext {
    func string(_ name: String) throws -> String {
        guard let value = parameters.get(name) else {
            throw RegistryError.invalid("missing path parameter '\(name)'")
        }
        return value.contains("%") ? (value.removingPercentEncoding ?? value) : value
    }

    /// A version number from the path: a positive integer.
    func versionNumber(_ name: String = "version") throws -> Int {
        let text = try string(name)
        guard let number = Int(text), number > 0 else {
            throw RegistryError.invalid("invalid version '\(Validation.printable(text))': expected a positive integer")
        }
        return number
    }

    func digest(_ name: String = "digest") throws -> Digest {
        try Digest(parsing: try string(name))
    }
}

extension Request {
    func queryInt(_ name: String, default defaultValue: Int) throws -> Int {
        guard let text = uri.queryParameters.get(name) else { return defaultValue }
        guard let value = Int(text) else {
            throw RegistryError.invalid("invalid \(name) '\(Validation.printable(text))': expected an integer")
        }
        return value
    }

    func queryBool(_ name: String) throws -> Bool {
        guard let text = uri.queryParameters.get(name) else { return false }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no", "": return false
        default: throw RegistryError.invalid("invalid \(name) '\(Validation.printable(text))': expected true or false")
        }
    }

    func queryAll(_ name: String) -> [String] {
        uri.queryParameters.getAll(name).map { String($0) }
    }

    /// The revision in `If-Match` (`"7"`, `7`, `W/"7"`); `nil` when absent or `*`.
    func expectedRevision() throws -> Int64? {
        guard let header = headers[.ifMatch]?.trimmingCharacters(in: .whitespaces), header != "*" else { return nil }
        var text = Substring(header)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
        guard let revision = Int64(text), revision > 0 else {
            throw RegistryError.invalid(
                "invalid If-Match '\(Validation.printable(header))': expected the model's revision as an entity tag, such as \"7\""
            )
        }
        return revision
    }
}

/// A single byte range requested with `Range: bytes=…`.
enum ByteRange: Equatable {
    case full
    case partial(ClosedRange<Int64>)

    /// Parses a `Range` header against a representation of `size` bytes.
    ///
    /// Syntactically invalid headers and multiple ranges are ignored (the whole content is served), as RFC 9110
    /// allows; a well-formed range that starts beyond the end is unsatisfiable.
    static func parse(_ header: String?, size: Int64) throws -> ByteRange {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .full }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .full }
        let unsatisfiable = RegistryError(
            .rangeNotSatisfiable,
            "range '\(Validation.printable(header))' is outside the \(size) bytes available",
            details: ["size": String(size)]
        )
        if parts[0].isEmpty {
            guard let suffix = Int64(parts[1]) else { return .full }
            guard suffix > 0, size > 0 else { throw unsatisfiable }
            return .partial(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int64(parts[0]) else { return .full }
        let end: Int64
        if parts[1].isEmpty {
            end = size - 1
        } else {
            guard let last = Int64(parts[1]), last >= start else { return .full }
            end = min(last, size - 1)
        }
        guard start < size else { throw unsatisfiable }
        return .partial(start...end)
    }
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`) of an upload chunk.
struct ContentRange: Equatable {
    var start: Int64
    var end: Int64
    var total: Int64?

    static func parse(_ header: String?) throws -> ContentRange {
        let syntax = "expected 'bytes START-END/TOTAL' or 'bytes START-END/*'"
        guard let header else { throw RegistryError.invalid("missing Content-Range: \(syntax)") }
        guard header.hasPrefix("bytes ") else {
            throw RegistryError.invalid("invalid Content-Range '\(Validation.printable(header))': \(syntax)")
        }
        let spec = header.dropFirst("bytes ".count)
        let halves = spec.split(separator: "/", maxSplits: 1)
        let bounds = halves.first?.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false) ?? []
        let isNumber = { (text: Substring) in !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        guard halves.count == 2, bounds.count == 2, isNumber(bounds[0]), isNumber(bounds[1]),
            let start = Int64(bounds[0]), let end = Int64(bounds[1]), end >= start
        else {
            throw RegistryError.invalid("invalid Content-Range '\(Validation.printable(header))': \(syntax)")
        }
        var total: Int64?
        if halves[1] != "*" {
            guard let value = Int64(halves[1]), value > end else {
                throw RegistryError.invalid(
                    "invalid Content-Range '\(Validation.printable(header))': \(syntax), TOTAL > END"
                )
            }
            total = value
        }
        return ContentRange(start: start, end: end, total: total)
    }
}
