public import Foundation

/// `manifest.json`, the first entry of every bundle: what the bundle holds and how to check it.
///
/// The manifest lists every model file with its size, SHA-256 and role. Readers refuse entries it does not list and
/// files whose size or digest differ, so a bundle cannot carry anything its manifest does not declare.
public struct BundleManifest: Codable, Sendable, Equatable {
    /// The manifest schema this code writes and reads.
    public static let currentSchemaVersion = 1
    /// Entry names reserved by the bundle format.
    public static let manifestName = "manifest.json"
    public static let preprocessingName = "preprocessing.json"
    public static let signatureName = "model.sig"

    public struct ModelInfo: Codable, Sendable, Equatable {
        public var name: String
        public var version: Int?
        public var label: String?

        public init(name: String, version: Int? = nil, label: String? = nil) {
            self.name = name
            self.version = version
            self.label = label
        }
    }

    public struct File: Codable, Sendable, Equatable {
        /// Relative path inside the bundle, `/`-separated.
        public var path: String
        public var size: Int64
        /// Lowercase hex SHA-256 of the content.
        public var sha256: String
        public var role: String

        public init(path: String, size: Int64, sha256: String, role: String) {
            self.path = path
            self.size = size
            self.sha256 = sha256
            self.role = role
        }
    }

    public var schemaVersion: Int
    public var model: ModelInfo
    public var format: ModelFormat
    public var files: [File]
    /// The preprocessing spec as JSON, also stored as `preprocessing.json`; `nil` when the bundle has none.
    public var preprocessing: JSONValue?
    public var annotations: [String: String]

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case model, format, files, preprocessing, annotations
    }

    public init(
        model: ModelInfo,
        format: ModelFormat,
        files: [File],
        preprocessing: JSONValue? = nil,
        annotations: [String: String] = [:]
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.model = model
        self.format = format
        self.files = files
        self.preprocessing = preprocessing
        self.annotations = annotations
    }

    /// Canonical bytes: sorted keys, no insignificant whitespace, so equal manifests give equal bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// Any JSON value, kept as parsed (used for the preprocessing spec inside the manifest).
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
