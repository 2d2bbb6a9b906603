/// Rules for entry names inside a bundle, and the order entries are written in.
public enum BundlePath {
    /// Checks a relative, `/`-separated path: no leading `/`, no empty, `.` or `..` component, no backslash, no NUL
    /// or control character, at most 1,024 bytes. Returns the reason it is refused, or `nil` when it is fine.
    public static func problem(with path: String) -> String? {
        if path.isEmpty { return "the name is empty" }
        if path.utf8.count > 1024 { return "the name is longer than 1024 bytes" }
        if path.hasPrefix("/") { return "it is an absolute path" }
        if path.contains("\\") { return "it contains a backslash" }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "it contains a control character"
        }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "it has an empty component" }
            if component == "." || component == ".." { return "it has a '\(component)' component" }
        }
        return nil
    }

    /// Component-wise byte order (`a/z` before `a-b` before `a.txt`), the order OpenSSF model-signing uses.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(separator: "/", omittingEmptySubsequences: false)
        let right = rhs.split(separator: "/", omittingEmptySubsequences: false)
        for (a, b) in zip(left, right) where a != b {
            return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
        }
        return left.count < right.count
    }
}
