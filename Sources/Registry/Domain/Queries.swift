/// One page of a listing and the token that fetches the next one (`nil` on the last page).
public struct Page<Element: Sendable>: Sendable {
    public var items: [Element]
    public var nextPageToken: String?

    public init(items: [Element], nextPageToken: String?) {
        self.items = items
        self.nextPageToken = nextPageToken
    }
}

/// A tag condition: the key must be present and, when `value` is given, equal to it.
public struct TagFilter: Sendable, Equatable {
    public var key: String
    public var value: String?

    public init(key: String, value: String? = nil) {
        self.key = key
        self.value = value
    }

    /// Parses `key` or `key=value`.
    public init(parsing text: String) throws(RegistryError) {
        if let equals = text.firstIndex(of: "=") {
            key = String(text[..<equals])
            value = String(text[text.index(after: equals)...])
        } else {
            key = text
            value = nil
        }
        try Validation.key(key, kind: "tag filter key")
    }
}

/// A condition on a metric value, written `name>=0.9`, `name<0.2`, `name=1`.
public struct MetricFilter: Sendable, Equatable {
    public enum Comparison: String, Sendable, CaseIterable {
        case lessThan = "<"
        case lessOrEqual = "<="
        case equal = "="
        case greaterOrEqual = ">="
        case greaterThan = ">"
    }

    public var key: String
    public var comparison: Comparison
    public var value: Double

    public init(key: String, comparison: Comparison, value: Double) {
        self.key = key
        self.comparison = comparison
        self.value = value
    }

    public init(parsing text: String) throws(RegistryError) {
        let syntax = "expected NAME OP NUMBER with OP one of <, <=, =, >=, > (for example accuracy>=0.9)"
        guard let opStart = text.firstIndex(where: { $0 == "<" || $0 == ">" || $0 == "=" }) else {
            throw .invalid("invalid metric filter '\(Validation.printable(text))': \(syntax)")
        }
        let rest = text[opStart...]
        let op = rest.hasPrefix("<=") ? "<=" : rest.hasPrefix(">=") ? ">=" : String(rest.prefix(1))
        let numberText = rest.dropFirst(op.count)
        guard let comparison = Comparison(rawValue: op), let value = Double(numberText), value.isFinite else {
            throw .invalid("invalid metric filter '\(Validation.printable(text))': \(syntax)")
        }
        key = String(text[..<opStart])
        try Validation.key(key, kind: "metric name")
        self.comparison = comparison
        self.value = value
    }
}

/// Which models to list.
public struct ModelQuery: Sendable, Equatable {
    public var namePrefix: String?
    public var tags: [TagFilter]
    public var limit: Int
    public var pageToken: String?
    /// Only models matching one of these patterns or names (what the caller may read); `nil`: every model.
    public var visibleTo: Visibility?

    /// The models a caller may see: by pattern (role bindings) or by name (a device's models).
    public struct Visibility: Sendable, Equatable {
        public var patterns: [ModelPattern]
        public var names: Set<String>

        public init(patterns: [ModelPattern], names: Set<String>) {
            self.patterns = patterns
            self.names = names
        }
    }

    public init(namePrefix: String? = nil, tags: [TagFilter] = [], limit: Int = 100, pageToken: String? = nil) {
        self.namePrefix = namePrefix
        self.tags = tags
        self.limit = limit
        self.pageToken = pageToken
    }
}

/// Which versions of a model to list; newest first unless `ascending`.
public struct VersionQuery: Sendable, Equatable {
    public var model: String
    public var stage: Stage?
    public var status: VersionStatus?
    public var label: String?
    public var tags: [TagFilter]
    public var metrics: [MetricFilter]
    public var ascending: Bool
    public var limit: Int
    public var pageToken: String?

    public init(
        model: String,
        stage: Stage? = nil,
        status: VersionStatus? = nil,
        label: String? = nil,
        tags: [TagFilter] = [],
        metrics: [MetricFilter] = [],
        ascending: Bool = false,
        limit: Int = 100,
        pageToken: String? = nil
    ) {
        self.model = model
        self.stage = stage
        self.status = status
        self.label = label
        self.tags = tags
        self.metrics = metrics
        self.ascending = ascending
        self.limit = limit
        self.pageToken = pageToken
    }
}

/// A version to create (PENDING): its files by digest and its metadata.
public struct NewVersion: Sendable, Equatable {
    public var label: String?
    public var format: String?
    public var files: [VersionFile]
    public var metrics: [String: Double]
    public var params: [String: String]
    public var tags: [String: String]
    public var lineage: Lineage
    public var description: String

    public init(
        label: String? = nil,
        format: String? = nil,
        files: [VersionFile],
        metrics: [String: Double] = [:],
        params: [String: String] = [:],
        tags: [String: String] = [:],
        lineage: Lineage = Lineage(),
        description: String = ""
    ) {
        self.label = label
        self.format = format
        self.files = files
        self.metrics = metrics
        self.params = params
        self.tags = tags
        self.lineage = lineage
        self.description = description
    }
}

/// Metadata changes to a model or a version: set or remove tags, replace the description, set metrics.
public struct MetadataUpdate: Sendable, Equatable {
    public var description: String?
    public var setTags: [String: String]
    public var removeTags: [String]
    public var setMetrics: [String: Double]

    public init(
        description: String? = nil,
        setTags: [String: String] = [:],
        removeTags: [String] = [],
        setMetrics: [String: Double] = [:]
    ) {
        self.description = description
        self.setTags = setTags
        self.removeTags = removeTags
        self.setMetrics = setMetrics
    }

    public var isEmpty: Bool { description == nil && setTags.isEmpty && removeTags.isEmpty && setMetrics.isEmpty }
}
