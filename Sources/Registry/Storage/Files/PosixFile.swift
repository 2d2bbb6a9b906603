import CSystemShims
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for writing with plain POSIX calls; owned by one task at a time and closed on `deinit`.
/// (`@unchecked Sendable`: it is handed to the thread pool for `fsync`, either while its owning task awaits that call
/// or, for an upload checkpoint, beside the owner's writes; `fsync` only reads the descriptor, and the owner awaits
/// the checkpoint before it closes the file.)
///
/// The blob paths write sequentially and need `fsync`, `ftruncate` and `rename` with exact error reporting, which
/// is why they use the system calls directly rather than `FileHandle`.
final class PosixFile: @unchecked Sendable {
    let path: String
    private(set) var descriptor: Int32

    /// Opens `path` for writing. With `create`, the file must not exist yet (O_EXCL) and gets `mode`.
    init(path: String, create: Bool, mode: mode_t = 0o640) throws {
        self.path = path
        let flags = O_WRONLY | O_CLOEXEC | (create ? (O_CREAT | O_EXCL) : 0)
        let descriptor = open(path, flags, mode)
        guard descriptor >= 0 else { throw PosixFile.error("open", path) }
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// Bytes between write-behind requests: every time this much new data has been written, the kernel is asked to
    /// start writing it out, so that disk writes overlap with receiving and the final `fsync` is short.
    static let writeBehindInterval: Int64 = 8 << 20

    /// Offset of the next write (the file is written sequentially).
    private(set) var position: Int64 = 0
    private var writtenBack: Int64 = 0

    /// Writes the whole buffer at the current offset.
    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw PosixFile.error("write", path)
                }
                offset += written
            }
        }
        position += Int64(buffer.readableBytes)
        if position - writtenBack >= Self.writeBehindInterval {
            startWriteback(offset: writtenBack, length: position - writtenBack)
            writtenBack = position
        }
    }

    func truncate(to size: Int64) throws {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw PosixFile.error("truncate", path) }
        position = min(position, size)
        writtenBack = min(writtenBack, size)
    }

    func seekToEnd() throws {
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else { throw PosixFile.error("seek", path) }
        position = Int64(end)
        writtenBack = Int64(end)
    }

    /// Starts writing `length` bytes from `offset` to disk without waiting (so the final `fsync` is short).
    /// Failure is not an error: the final `fsync` still makes the data durable.
    func startWriteback(offset: Int64, length: Int64) {
        _ = shims_start_writeback(descriptor, off_t(offset), off_t(length))
    }

    func sync() throws {
        guard fsync(descriptor) == 0 else { throw PosixFile.error("fsync", path) }
    }

    func close() throws {
        let result = Glibc.close(descriptor)
        descriptor = -1
        guard result == 0 else { throw PosixFile.error("close", path) }
    }

    /// Makes a rename or unlink inside `directory` durable.
    static func syncDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw error("open directory", directory) }
        defer { _ = Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw error("fsync directory", directory) }
    }

    /// Atomically renames `source` to `destination` (same file system).
    static func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else { throw error("rename", source) }
    }

    static func error(_ operation: String, _ path: String) -> RegistryError {
        let code = errno
        let reason = String(cString: strerror(code))
        let category: RegistryError.Code = (code == ENOSPC || code == EDQUOT || code == EIO) ? .unavailable : .internal
        return RegistryError(category, "\(operation) failed for \(path): \(reason)")
    }
}
