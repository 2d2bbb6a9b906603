public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The exclusive lock `modelctl serve` holds on its data directory: `serve.lock`, locked with `flock` and holding
/// the daemon's pid. A second daemon on the same directory is refused at start-up instead of sharing the SQLite
/// file and the blob store behind the first one's back (the first one's caches, upload sessions and group commit
/// assume they are the only writer). The kernel releases the lock when the process ends, however it ends, so a
/// daemon killed with SIGKILL or by a power loss never leaves a stale lock behind.
public final class DataDirectoryLock: Sendable {
    public static let fileName = "serve.lock"

    let descriptor: Int32

    /// Takes the lock, creating the directory and the lock file if needed.
    ///
    /// - Throws: ``RegistryError`` `unavailable` when another process holds the lock (naming its pid) or the file
    ///   cannot be opened.
    public init(directory: URL) throws {
        let path = directory.appending(path: Self.fileName).path
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(.unavailable, "cannot create the data directory \(directory.path): \(error)")
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw RegistryError(.unavailable, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw RegistryError(.unavailable, "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw RegistryError(
                .unavailable,
                "the data directory \(directory.path) is in use by another modelctl serve\(holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? ""): one daemon per data directory; stop that one, or give this one another --data-dir"
            )
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}
