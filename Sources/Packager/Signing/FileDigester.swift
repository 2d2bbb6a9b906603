import Crypto
import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Hashes files with SHA-256 in fixed-size reads, so memory does not grow with the file's size.
enum FileDigester {
    /// The size of each read: 1 MiB, as the model-signing tool uses. It does not affect the digest.
    static let chunkSize = 1 << 20

    /// The raw 32-byte SHA-256 digest of the file at `url`.
    ///
    /// - Parameters:
    ///   - url: The file to read.
    ///   - name: The file's name in error messages (its path relative to the model).
    ///   - progress: Called with the number of bytes just hashed, after each read.
    /// - Throws: ``PackagerError`` `.io` if the file cannot be opened or read.
    static func sha256(of url: URL, name: String, progress: ((Int64) -> Void)? = nil) throws -> [UInt8] {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw PackagerError.io("cannot open '\(name)' to hash it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunkSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PackagerError.io("cannot read '\(name)' to hash it: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            progress?(Int64(count))
        }
        return Array(hasher.finalize())
    }
}
