/// Writes JSON string literals for the hand-built, byte-reproducible JSON of signatures.
///
/// Only `"`, `\` and control characters are escaped; everything else, non-ASCII included, is written raw as UTF-8.
/// `/` is not escaped. This is the canonical layout of the model-signing statement our signer emits.
enum JSONText {
    /// `text` as a quoted JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = Hex.encode([UInt8(scalar.value)])
                result += "\\u00" + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `items` as a JSON array of string literals.
    static func array(_ items: [String]) -> String {
        "[" + items.map(quoted).joined(separator: ",") + "]"
    }
}
