import Crypto

/// SHA-256 over a sequence of text fields, each preceded by its length in bytes, so that no two different sequences
/// hash the same bytes.
struct ContentHasher {
    private var hash = SHA256()

    mutating func add(_ field: String) {
        let bytes = Array(field.utf8)
        hash.update(data: Array("\(bytes.count):".utf8))
        hash.update(data: bytes)
    }

    var hex: String {
        hash.finalize().map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}
