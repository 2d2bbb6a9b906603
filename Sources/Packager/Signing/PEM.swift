import Foundation

/// Reads and writes PEM text (RFC 7468) for the key files of model signing.
enum PEM {
    /// The canonical PEM text of `der` under `label`: header line, base64 wrapped at 64 columns, footer line, each
    /// ending in LF, including the last one.
    ///
    /// This is the text whose SHA-256 is a model-signing key hint. swift-crypto's `pemRepresentation` produces the
    /// same text without the final LF, so it must not be hashed as is.
    static func encode(der: some DataProtocol, label: String) -> String {
        let base64 = Data(der).base64EncodedString()
        var text = "-----BEGIN \(label)-----\n"
        var start = base64.startIndex
        while start < base64.endIndex {
            let end = base64.index(start, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            text += base64[start..<end] + "\n"
            start = end
        }
        return text + "-----END \(label)-----\n"
    }

    /// The first `BEGIN`…`END` block in `text` whose label is one of `labels`, without any text around it, or
    /// `nil` if there is none.
    ///
    /// swift-crypto accepts exactly one PEM block, while key files written by other tools may carry a text preamble
    /// or an `EC PARAMETERS` block first.
    static func block(labeled labels: [String], in text: String) -> (label: String, text: String)? {
        var best: (label: String, text: String, start: String.Index)?
        for label in labels {
            let header = "-----BEGIN \(label)-----"
            let footer = "-----END \(label)-----"
            guard let start = text.range(of: header),
                let end = text.range(of: footer, range: start.upperBound..<text.endIndex)
            else { continue }
            if best == nil || start.lowerBound < best!.start {
                best = (label, String(text[start.lowerBound..<end.upperBound]), start.lowerBound)
            }
        }
        return best.map { ($0.label, $0.text) }
    }
}
