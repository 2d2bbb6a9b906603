import Crypto
public import Foundation
public import NIOCore
import NIOPosix

/// ``BlobStore`` in a local directory, with resumable upload sessions.
///
/// Layout under `root`:
/// - `blobs/sha256/<first two hex digits>/<hex>`: complete, verified blobs (read-only once in place);
/// - `tmp/`: single-request uploads in progress (removed on failure; leftovers of a crash are removed at start-up);
/// - `uploads/<session id>/`: resumable upload sessions: `data` and `offset`, the acknowledged length, replaced
///   atomically after each chunk is fsynced.
///
/// Writes hash while streaming, `fsync` the data, rename it into place and `fsync` the directory, so after a crash
/// a blob is either complete under its digest or absent.
public struct FileBlobStore: BlobStore {
    public let root: URL
    let uploads: UploadSessions

    /// Creates the directory layout if needed and removes temporary files left by a crash.
    public init(root: URL) throws {
        self.root = root
        self.uploads = UploadSessions()
        let manager = FileManager.default
        for directory in ["blobs/sha256", "tmp", "uploads"] {
            try manager.createDirectory(at: root.appending(path: directory), withIntermediateDirectories: true)
        }
        for leftover in (try? manager.contentsOfDirectory(atPath: tmpDirectory.path)) ?? [] {
            try? manager.removeItem(at: tmpDirectory.appending(path: leftover))
        }
    }

    var tmpDirectory: URL { root.appending(path: "tmp") }

    func blobURL(_ digest: Digest) -> URL {
        root.appending(path: "blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)")
    }

    func uploadURL(_ id: String) -> URL { root.appending(path: "uploads/\(id)") }

    public func size(of digest: Digest) async throws -> Int64? {
        var info = stat()
        guard stat(blobURL(digest).path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    public func fileURL(of digest: Digest) async throws -> URL? {
        try await size(of: digest) == nil ? nil : blobURL(digest)
    }

    public func write<Body: AsyncSequence & Sendable>(_ body: Body, expected: Digest?) async throws -> StoredBlob
    where Body.Element == ByteBuffer {
        let temporary = tmpDirectory.appending(path: UUID().uuidString.lowercased()).path
        let file = try PosixFile(path: temporary, create: true)
        do {
            var hasher = SHA256()
            var size: Int64 = 0
            for try await chunk in body {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                try file.write(chunk)
                size += Int64(chunk.readableBytes)
            }
            let digest = Digest(validatedHex: hasher.finalize().hexString)
            if let expected, expected != digest {
                throw RegistryError(
                    .integrityFailure,
                    "digest mismatch: the uploaded \(size) bytes hash to \(digest), not \(expected) as the URL says; nothing was stored",
                    details: ["actual": digest.description, "expected": expected.description]
                )
            }
            return try await place(file, as: digest, size: size)
        } catch {
            try? file.close()
            unlink(temporary)
            throw error
        }
    }

    /// Makes `file` durable and renames it to the blob path of `digest` (or drops it when that blob exists).
    func place(_ file: PosixFile, as digest: Digest, size: Int64) async throws -> StoredBlob {
        let destination = blobURL(digest)
        if try await self.size(of: digest) != nil {
            try? file.close()
            unlink(file.path)
            return StoredBlob(digest: digest, size: size, created: false)
        }
        let directory = destination.deletingLastPathComponent().path
        try await NIOThreadPool.singleton.runIfActive {
            try file.sync()
            try file.close()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try PosixFile.rename(file.path, to: destination.path)
            try PosixFile.syncDirectory(directory)
        }
        if size >= MemoryRelease.threshold { MemoryRelease.releaseFreeMemory() }
        return StoredBlob(digest: digest, size: size, created: true)
    }
}

extension SHA256.Digest {
    var hexString: String {
        var text = ""
        text.reserveCapacity(64)
        for byte in self {
            let hex = String(byte, radix: 16)
            if hex.count == 1 { text += "0" }
            text += hex
        }
        return text
    }
}
