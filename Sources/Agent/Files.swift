import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Durable file operations of the agent: everything it writes goes to a temporary name, is fsynced, renamed into
/// place and its directory fsynced, so that after a crash or power loss a file is either the old one or the new
/// one, never a mix.
enum Files {
    /// Writes `data` to `url` atomically and durably, with `mode`.
    static func writeAtomically(_ data: Data, to url: URL, mode: mode_t = 0o644) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appending(path: ".\(url.lastPathComponent).tmp-\(UInt32.random(in: .min ... .max))")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error("cannot create \(temporary.path)") }
        var failed: AgentError?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failed = error("cannot write \(temporary.path)")
                    return
                }
                offset += written
            }
        }
        if failed == nil, fsync(fd) != 0 { failed = error("cannot fsync \(temporary.path)") }
        close(fd)
        if let failed {
            unlink(temporary.path)
            throw failed
        }
        try rename(temporary, to: url)
    }

    /// `rename(2)` followed by an fsync of the destination's directory.
    static func rename(_ source: URL, to destination: URL) throws {
        guard Glibc.rename(source.path, destination.path) == 0 else {
            let failure = error("cannot rename \(source.path) to \(destination.path)")
            throw failure
        }
        try syncDirectory(destination.deletingLastPathComponent())
    }

    static func syncDirectory(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open the directory \(url.path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error("cannot fsync the directory \(url.path)") }
    }

    static func fsyncFile(_ url: URL) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error("cannot open \(url.path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw error("cannot fsync \(url.path)") }
    }

    /// Points the symbolic link `link` at `target` atomically: a new link under a temporary name, renamed over it.
    static func replaceSymlink(_ link: URL, target: String) throws {
        let temporary = link.deletingLastPathComponent()
            .appending(path: ".\(link.lastPathComponent).tmp-\(UInt32.random(in: .min ... .max))")
        guard symlink(target, temporary.path) == 0 else { throw error("cannot create the link \(temporary.path)") }
        do {
            try rename(temporary, to: link)
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    static func readLink(_ url: URL) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(url.path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func exists(_ url: URL) -> Bool {
        var status = stat()
        return lstat(url.path, &status) == 0
    }

    static func isDirectory(_ url: URL) -> Bool {
        var status = stat()
        return lstat(url.path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    static func size(_ url: URL) -> Int64? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }

    static func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.fileSystem, "cannot create the directory \(url.path): \(error.localizedDescription)")
        }
    }

    static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// Names in a directory (none when it does not exist).
    static func names(in url: URL) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
    }

    /// Bytes free for an unprivileged writer on the file system holding `url`.
    static func freeBytes(at url: URL) -> Int64? {
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Total size of the regular files under `url`.
    static func usedBytes(under url: URL) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: url.path) else { return 0 }
        var total: Int64 = 0
        while let name = enumerator.nextObject() as? String {
            let path = url.appending(path: name)
            var status = stat()
            if lstat(path.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG { total += Int64(status.st_size) }
        }
        return total
    }

    static func error(_ message: String) -> AgentError {
        AgentError(.fileSystem, "\(message): \(String(cString: strerror(errno)))")
    }
}
