/// Validation of every name, label, key, path and free-text value that reaches the registry from outside.
///
/// Each check throws ``RegistryError`` `invalidArgument` with a message that quotes the bad value (shortened and with
/// control characters escaped) and states what is accepted.
public enum Validation {
    public static let maxNameLength = 128
    public static let maxAliasLength = 64
    public static let maxTagKeyLength = 250
    public static let maxTagValueLength = 5000
    public static let maxDescriptionLength = 65_536
    public static let maxPathLength = 1024
    public static let maxPathComponentLength = 255
    public static let maxFilesPerVersion = 10_000
    public static let maxEntriesPerMap = 1000

    /// Model names: 1–128 of `A–Z a–z 0–9 . _ -`, starting with a letter or digit.
    public static func modelName(_ name: String) throws(RegistryError) {
        guard isToken(name, maxLength: maxNameLength, extra: "._-") else {
            throw .invalid(
                "invalid model name '\(printable(name))': use 1-\(maxNameLength) characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
            )
        }
    }

    /// Version labels such as `1.0.0-20230801`: 1–128 of `A–Z a–z 0–9 . _ - +`, starting with a letter or digit,
    /// and not only digits (a number names a version).
    public static func label(_ label: String) throws(RegistryError) {
        guard isToken(label, maxLength: maxNameLength, extra: "._-+"), !label.utf8.allSatisfy(isDigit) else {
            throw .invalid(
                "invalid label '\(printable(label))': use 1-\(maxNameLength) characters from A-Z a-z 0-9 . _ - +, starting with a letter or digit and not only digits"
            )
        }
    }

    /// Aliases such as `champion`: 1–64 of `A–Z a–z 0–9 _ -`, starting with a letter; `latest` and `v<digits>` are
    /// reserved because references use them.
    public static func alias(_ alias: String) throws(RegistryError) {
        let reserved = alias.lowercased() == "latest" || isVersionLike(alias)
        guard !reserved, let first = alias.utf8.first, isLetter(first),
            isToken(alias, maxLength: maxAliasLength, extra: "_-")
        else {
            throw .invalid(
                "invalid alias '\(printable(alias))': use 1-\(maxAliasLength) characters from A-Z a-z 0-9 _ -, starting with a letter; 'latest' and 'v<number>' are reserved"
            )
        }
    }

    /// Tag, metric and parameter keys: 1–250 of `A–Z a–z 0–9 _ . - / :` (`mlflow.source.type`, `team`).
    public static func key(_ key: String, kind: String = "tag key") throws(RegistryError) {
        let allowed = key.utf8.allSatisfy { isLetter($0) || isDigit($0) || "_.-/:".utf8.contains($0) }
        guard !key.isEmpty, key.utf8.count <= maxTagKeyLength, allowed else {
            throw .invalid(
                "invalid \(kind) '\(printable(key))': use 1-\(maxTagKeyLength) characters from A-Z a-z 0-9 _ . - / :"
            )
        }
    }

    /// Free text (tag values, descriptions, comments): bounded length, no NUL or other control characters except
    /// tab, carriage return and newline.
    public static func text(_ value: String, field: String, maxLength: Int = maxTagValueLength) throws(RegistryError) {
        guard value.utf8.count <= maxLength else {
            throw .invalid("\(field) is \(value.utf8.count) bytes long: at most \(maxLength) are accepted")
        }
        if value.unicodeScalars.contains(where: { isControl($0) && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
            throw .invalid(
                "\(field) '\(printable(value))' contains a control character: only printable text is accepted"
            )
        }
    }

    /// Tags: at most 1,000 keys, each key and value checked.
    public static func tags(_ tags: [String: String], field: String = "tag") throws(RegistryError) {
        guard tags.count <= maxEntriesPerMap else {
            throw .invalid("\(tags.count) \(field)s given: at most \(maxEntriesPerMap) are accepted")
        }
        for (key, value) in tags {
            try Self.key(key, kind: "\(field) key")
            try text(value, field: "value of \(field) '\(key)'")
        }
    }

    /// Metrics: finite numbers under valid keys.
    public static func metrics(_ metrics: [String: Double]) throws(RegistryError) {
        guard metrics.count <= maxEntriesPerMap else {
            throw .invalid("\(metrics.count) metrics given: at most \(maxEntriesPerMap) are accepted")
        }
        for (key, value) in metrics {
            try Self.key(key, kind: "metric name")
            guard value.isFinite else {
                throw .invalid("metric '\(key)' is \(value): only finite numbers are accepted")
            }
        }
    }

    /// A relative file path inside a version: `/`-separated components, none empty, `.` or `..`; no leading `/`,
    /// no backslash, no NUL or control character, no drive prefix; at most 1,024 bytes, 255 per component.
    public static func filePath(_ path: String) throws(RegistryError) {
        func reject(_ reason: String) -> RegistryError {
            .invalid("invalid file path '\(printable(path))': \(reason)")
        }
        guard !path.isEmpty else { throw reject("it is empty") }
        guard path.utf8.count <= maxPathLength else { throw reject("longer than \(maxPathLength) bytes") }
        guard !path.hasPrefix("/") else {
            throw reject("absolute paths are not accepted; give a path relative to the version")
        }
        guard !path.contains("\\") else { throw reject("backslashes are not accepted; separate components with '/'") }
        guard !path.unicodeScalars.contains(where: isControl) else {
            throw reject("control characters are not accepted")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if let first = components.first, first.count == 2, first.last == ":" {
            throw reject("drive prefixes are not accepted")
        }
        for component in components {
            if component.isEmpty { throw reject("empty components ('//' or a trailing '/') are not accepted") }
            if component == "." || component == ".." { throw reject("'.' and '..' components are not accepted") }
            if component.utf8.count > maxPathComponentLength {
                throw reject("a component is longer than \(maxPathComponentLength) bytes")
            }
        }
    }

    /// The files of a version: 1–10,000 valid, distinct paths, none of which is a directory of another.
    public static func files(_ files: [VersionFile]) throws(RegistryError) {
        guard !files.isEmpty else { throw .invalid("a version needs at least one file") }
        guard files.count <= maxFilesPerVersion else {
            throw .invalid("\(files.count) files given: at most \(maxFilesPerVersion) are accepted per version")
        }
        var seen = Set<String>()
        for file in files {
            try filePath(file.path)
            guard file.size >= 0 else {
                throw .invalid("file '\(printable(file.path))' has negative size \(file.size)")
            }
            guard seen.insert(file.path).inserted else {
                throw .invalid("file path '\(printable(file.path))' is listed twice")
            }
        }
        for file in files {
            var prefix = Substring(file.path)
            while let slash = prefix.lastIndex(of: "/") {
                prefix = prefix[..<slash]
                if seen.contains(String(prefix)) {
                    throw .invalid(
                        "file path '\(printable(file.path))' lies inside '\(printable(String(prefix)))', which is listed as a file"
                    )
                }
            }
        }
    }

    /// A value quoted in an error message: at most 80 characters, control characters escaped.
    public static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(80) {
            result += isControl(scalar) ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return text.unicodeScalars.count > 80 ? result + "…" : result
    }

    // MARK: Character classes

    static func isToken(_ text: String, maxLength: Int, extra: String) -> Bool {
        let utf8 = text.utf8
        guard let first = utf8.first, utf8.count <= maxLength, isLetter(first) || isDigit(first) else { return false }
        return utf8.allSatisfy { isLetter($0) || isDigit($0) || extra.utf8.contains($0) }
    }

    static func isVersionLike(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard let first = utf8.first, first == UInt8(ascii: "v") || first == UInt8(ascii: "V"), utf8.count > 1 else {
            return false
        }
        return utf8.dropFirst().allSatisfy(isDigit)
    }

    static func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
