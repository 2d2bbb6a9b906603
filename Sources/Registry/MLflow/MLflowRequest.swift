import Foundation
import Hummingbird
import NIOCore

/// Parameters of an MLflow request: the query string of a `GET`, the JSON body of anything else.
///
/// MLflow's messages are protobufs: a field may come as a JSON string or number (`"version": "3"` or `3`), and the
/// Python client form-encodes spaces in query strings as `+`. Every failure names the parameter and what it accepts
/// and is answered as `INVALID_PARAMETER_VALUE`.
struct MLflowParameters: Sendable {
    private var values: [String: [JSONValue]]

    static func read(_ request: Request, context: RegistryRequestContext) async throws -> MLflowParameters {
        if request.method == .get {
            return MLflowParameters(values: Self.query(request.uri.query ?? ""))
        }
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        if buffer.readableBytes == 0 { return MLflowParameters(values: [:]) }
        let object: JSONValue
        do {
            guard !Self.hasTrailingComma(buffer.readableBytesView) else {
                throw RegistryError.invalid("trailing comma")
            }
            object = try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
        } catch {
            throw RegistryError.invalid("the request body is not valid JSON: expected a JSON object")
        }
        guard case .object(let dictionary) = object else {
            throw RegistryError.invalid("the request body must be a JSON object")
        }
        var values: [String: [JSONValue]] = [:]
        for (key, value) in dictionary {
            if case .array(let array) = value {
                values[key] = array
            } else {
                values[key] = [value]
            }
        }
        return MLflowParameters(values: values)
    }

    /// Whether a `,` is followed by `}` or `]` outside strings: Foundation's decoder accepts that, JSON does not.
    static func hasTrailingComma(_ bytes: some Collection<UInt8>) -> Bool {
        var inString = false
        var escaped = false
        var afterComma = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                afterComma = false
            case UInt8(ascii: ","): afterComma = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if afterComma { return true }
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): break
            default: afterComma = false
            }
        }
        return false
    }

    /// `a=1&b=x+y&b=z` → `["a": ["1"], "b": ["x y", "z"]]`.
    static func query(_ query: String) -> [String: [JSONValue]] {
        var values: [String: [JSONValue]] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = formDecoded(parts[0])
            values[key, default: []].append(.string(parts.count > 1 ? formDecoded(parts[1]) : ""))
        }
        return values
    }

    /// One component of a query string: `+` is a space and `%XY` a byte. A component with a `%` that is not followed
    /// by two hex digits is taken as it is (with `+` still a space), as Foundation does; bytes that are not UTF-8
    /// become U+FFFD (which no name or value accepts).
    ///
    /// By hand rather than through Foundation's `removingPercentEncoding`: that took 6 % of the CPU of
    /// `registered-models/alias` (bench/mlflow-compat.sh).
    static func formDecoded(_ text: Substring) -> String {
        let plus = UInt8(ascii: "+")
        let percent = UInt8(ascii: "%")
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == plus || $0 == percent }) else { return String(text) }
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var spaced: [UInt8] = []
        var decoded: [UInt8] = []
        var malformed = false
        spaced.reserveCapacity(utf8.count)
        decoded.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index] == plus ? UInt8(ascii: " ") : utf8[index]
            spaced.append(byte)
            index = utf8.index(after: index)
            guard byte == percent else {
                decoded.append(byte)
                continue
            }
            let high = index != utf8.endIndex ? hexValue(utf8[index]) : nil
            let second = high != nil ? utf8.index(after: index) : index
            let low = high != nil && second != utf8.endIndex ? hexValue(utf8[second]) : nil
            guard let high, let low else {
                malformed = true
                continue
            }
            decoded.append(high << 4 | low)
            spaced.append(contentsOf: [utf8[index], utf8[second]])
            index = utf8.index(after: second)
        }
        return String(decoding: malformed ? spaced : decoded, as: UTF8.self)
    }

    func has(_ name: String) -> Bool { values[name]?.contains { $0 != .null } ?? false }

    func string(_ name: String) throws -> String? {
        guard let value = values[name]?.first else { return nil }
        switch value {
        case .null: return nil
        case .string(let text): return text
        case .number(let number): return JSONValue.text(of: number)
        case .bool(let flag): return String(flag)
        case .array, .object:
            throw RegistryError.invalid("Invalid value for parameter '\(name)': expected a string")
        }
    }

    func required(_ name: String) throws -> String {
        guard let value = try string(name), !value.isEmpty else {
            throw RegistryError.invalid("Missing value for required parameter '\(name)'")
        }
        return value
    }

    func int(_ name: String) throws -> Int64? {
        guard let text = try string(name), !text.isEmpty else { return nil }
        guard let value = Int64(text) else {
            throw RegistryError.invalid(
                "Invalid value '\(Validation.printable(text))' for parameter '\(name)': expected an integer"
            )
        }
        return value
    }

    func double(_ name: String) throws -> Double? {
        guard let value = values[name]?.first else { return nil }
        switch value {
        case .number(let number): return number
        case .string(let text):
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let number = Double(text) else {
                    throw RegistryError.invalid(
                        "Invalid value '\(Validation.printable(text))' for parameter '\(name)': expected a number"
                    )
                }
                return number
            }
        case .null: return nil
        default: throw RegistryError.invalid("Invalid value for parameter '\(name)': expected a number")
        }
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = values[name]?.first else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .string(let text) where ["true", "false"].contains(text.lowercased()): return text.lowercased() == "true"
        case .null: return nil
        default: throw RegistryError.invalid("Invalid value for parameter '\(name)': expected true or false")
        }
    }

    /// A repeated string field (`order_by`, `stages`, `experiment_ids`).
    func strings(_ name: String) throws -> [String] {
        try (values[name] ?? []).compactMap { value in
            switch value {
            case .null: return nil
            case .string(let text): return text
            case .number(let number): return JSONValue.text(of: number)
            default: throw RegistryError.invalid("Invalid value for parameter '\(name)': expected strings")
            }
        }
    }

    /// `[{"key": …, "value": …}]`.
    func keyValues(_ name: String) throws -> [(String, String)] {
        try objects(name).map { object in
            guard case .string(let key) = object["key"] ?? .null, !key.isEmpty else {
                throw RegistryError.invalid("Invalid value for parameter '\(name)': every entry needs a 'key' string")
            }
            switch object["value"] ?? .null {
            case .string(let text): return (key, text)
            case .number(let number): return (key, JSONValue.text(of: number))
            case .null: return (key, "")
            default:
                throw RegistryError.invalid(
                    "Invalid value for parameter '\(name)': the value of '\(Validation.printable(key))' must be a string"
                )
            }
        }
    }

    /// A repeated message field, as JSON objects.
    func objects(_ name: String) throws -> [[String: JSONValue]] {
        try (values[name] ?? []).map { value in
            guard case .object(let object) = value else {
                throw RegistryError.invalid("Invalid value for parameter '\(name)': expected a list of objects")
            }
            return object
        }
    }
}

/// One JSON value, decoded strictly (no trailing commas, comments or bare NaN).
enum JSONValue: Equatable, Sendable, Decodable {
    case null
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// A JSON number as text: integers without a fraction (`3`, not `3.0`), anything else (`0.5`, `1e+300`) as Swift
    /// writes a Double. Never traps: a number outside Int64 is not converted to one.
    static func text(of number: Double) -> String {
        Int64(exactly: number).map(String.init) ?? String(number)
    }

    /// The value as an integer (a JSON number or a string of digits, as protobuf's JSON allows for int64).
    var int64: Int64? {
        switch self {
        case .number(let number): Int64(exactly: number)
        case .string(let text): Int64(text)
        default: nil
        }
    }
}

extension MLflowParameters {
    /// `max_results` within `1...limit`, `defaultValue` when absent.
    func maxResults(default defaultValue: Int, limit: Int) throws -> Int {
        guard let value = try int("max_results") else { return defaultValue }
        guard value >= 1, value <= limit else {
            throw RegistryError.invalid(
                "Invalid value \(value) for parameter 'max_results' supplied: it must be at most \(limit) and at least 1"
            )
        }
        return Int(value)
    }

    /// The offset encoded in `page_token` (0 when absent).
    func pageOffset() throws -> Int {
        guard let token = try string("page_token"), !token.isEmpty else { return 0 }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("offset:"), let offset = Int(text.dropFirst(7)), offset >= 0
        else {
            throw RegistryError.invalid(
                "Invalid page token '\(Validation.printable(token))': pass the next_page_token of the previous page unchanged"
            )
        }
        return offset
    }

    static func pageToken(offset: Int) -> String { Data("offset:\(offset)".utf8).base64EncodedString() }
}

/// One page of a sorted, filtered list and the token of the next.
func mlflowPage<T>(_ items: [T], offset: Int, size: Int) -> (items: [T], next: String?) {
    guard offset < items.count else { return ([], nil) }
    let end = min(items.count, offset + size)
    return (Array(items[offset..<end]), end < items.count ? MLflowParameters.pageToken(offset: end) : nil)
}
