import Crypto
import Foundation
public import NIOCore
import NIOPosix

/// In-memory state of the upload sessions of one process: which sessions have a request in progress, and the running
/// hash of each session so that finishing does not read the data again (after a restart it is recomputed from disk).
actor UploadSessions {
    private var busy: Set<String> = []
    private var hashers: [String: (hasher: SHA256, length: Int64)] = [:]

    func acquire(_ id: String) throws {
        guard busy.insert(id).inserted else {
            throw RegistryError.conflict(
                "upload session '\(id)' is busy with another request; retry when it has finished"
            )
        }
    }

    func release(_ id: String) { busy.remove(id) }

    func hasher(_ id: String, at length: Int64) -> SHA256? {
        guard let state = hashers[id], state.length == length else { return nil }
        return state.hasher
    }

    func store(_ id: String, hasher: SHA256?, length: Int64) {
        hashers[id] = hasher.map { (hasher: $0, length: length) }
    }

    func forget(_ id: String) { hashers[id] = nil }
}

extension FileBlobStore: ResumableBlobUploads {
    public func createUpload(owner: String?) async throws -> String {
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let directory = uploadURL(id)
        try await NIOThreadPool.singleton.runIfActive {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            let data = try PosixFile(path: directory.appending(path: "data").path, create: true)
            try data.sync()
            try data.close()
            if let owner {
                // Before the offset file, which makes the session exist: a session never exists without its owner.
                let file = try PosixFile(path: directory.appending(path: "owner").path, create: true)
                var buffer = ByteBuffer()
                buffer.writeString(owner)
                try file.write(buffer)
                try file.sync()
                try file.close()
            }
            try Self.writeOffset(0, in: directory)
            try PosixFile.syncDirectory(directory.deletingLastPathComponent().path)
        }
        await uploads.store(id, hasher: SHA256(), length: 0)
        return id
    }

    public func uploadOwner(_ id: String) async throws -> String? {
        let file = try sessionDirectory(id).appending(path: "owner")
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try String(contentsOf: file, encoding: .utf8)
    }

    public func uploadOffset(_ id: String) async throws -> Int64 {
        try Self.readOffset(in: try sessionDirectory(id))
    }

    public func appendUpload<Body: AsyncSequence & Sendable>(
        _ id: String,
        at offset: Int64,
        maxLength: Int64,
        _ body: Body
    ) async throws
        -> Int64
    where Body.Element == ByteBuffer {
        let directory = try sessionDirectory(id)
        try await uploads.acquire(id)
        do {
            let length = try await appendLocked(id, directory: directory, at: offset, maxLength: maxLength, body)
            await uploads.release(id)
            return length
        } catch {
            await uploads.release(id)
            throw error
        }
    }

    private func appendLocked<Body: AsyncSequence & Sendable>(
        _ id: String,
        directory: URL,
        at offset: Int64,
        maxLength: Int64,
        _ body: Body
    ) async throws -> Int64 where Body.Element == ByteBuffer {
        let committed = try Self.readOffset(in: directory)
        guard offset == committed else {
            throw RegistryError(
                .conflict,
                "upload '\(id)' is at offset \(committed), the chunk starts at \(offset): resume from \(committed)",
                details: ["offset": String(committed)]
            )
        }
        let file = try PosixFile(path: directory.appending(path: "data").path, create: false)
        // Bytes beyond the acknowledged length were never confirmed to the client: drop them.
        try file.truncate(to: committed)
        try file.seekToEnd()
        var hasher = await uploads.hasher(id, at: committed)
        var length = committed
        var failure: (any Error)?
        // A long chunk records its progress as it arrives, so that a registry killed mid-request loses at most the
        // bytes since the last checkpoint. Checkpoints run beside the receiving loop; one at a time.
        var checkpoint: Task<Void, any Error>?
        var checkpointed = committed
        do {
            for try await var chunk in body {
                let room = committed + maxLength - length
                if chunk.readableBytes > room {
                    chunk = chunk.getSlice(at: chunk.readerIndex, length: Int(room)) ?? ByteBuffer()
                    failure = RegistryError.invalid(
                        "the chunk has more bytes than its Content-Range declares (\(maxLength)); the first \(maxLength) were kept"
                    )
                }
                try file.write(chunk)
                if hasher != nil { chunk.withUnsafeReadableBytes { hasher!.update(bufferPointer: $0) } }
                length += Int64(chunk.readableBytes)
                if failure != nil { break }
                if length - checkpointed >= Self.checkpointInterval {
                    try await checkpoint?.value
                    checkpoint = Self.startCheckpoint(file, at: length, in: directory)
                    checkpointed = length
                }
            }
        } catch {
            // A broken connection: keep and acknowledge what arrived so the client can resume from there.
            failure = error
        }
        let newLength = length
        // The file stays open until the checkpoint's fsync is done, and the final offset is written after its offset.
        // (A checkpoint that failed fails the final fsync too.)
        _ = try? await checkpoint?.value
        try await NIOThreadPool.singleton.runIfActive {
            try file.sync()
            try file.close()
            try Self.writeOffset(newLength, in: directory)
        }
        await uploads.store(id, hasher: hasher, length: newLength)
        if let failure { throw failure }
        return newLength
    }

    /// Bytes of one request between durable checkpoints of its session's offset.
    static let checkpointInterval: Int64 = 16 << 20

    /// Makes the first `length` bytes of the session's data durable and records `length` as its acknowledged offset,
    /// on the thread pool, while the request goes on writing after them.
    private static func startCheckpoint(_ file: PosixFile, at length: Int64, in directory: URL) -> Task<Void, any Error>
    {
        Task {
            try await NIOThreadPool.singleton.runIfActive {
                try file.sync()
                try writeOffset(length, in: directory)
            }
        }
    }

    public func finishUpload(_ id: String, expected: Digest) async throws -> StoredBlob {
        let directory = try sessionDirectory(id)
        try await uploads.acquire(id)
        do {
            let stored = try await finishLocked(id, directory: directory, expected: expected)
            await uploads.release(id)
            return stored
        } catch {
            await uploads.release(id)
            throw error
        }
    }

    private func finishLocked(_ id: String, directory: URL, expected: Digest) async throws -> StoredBlob {
        let length = try Self.readOffset(in: directory)
        let dataPath = directory.appending(path: "data").path
        let digest: Digest
        if let hasher = await uploads.hasher(id, at: length) {
            digest = Digest(validatedHex: hasher.finalize().hexString)
        } else {
            digest = try await NIOThreadPool.singleton.runIfActive { try Self.hashFile(dataPath, length: length) }
        }
        guard digest == expected else {
            await uploads.forget(id)
            try? FileManager.default.removeItem(at: directory)
            throw RegistryError(
                .integrityFailure,
                "digest mismatch: upload '\(id)' (\(length) bytes) hashes to \(digest), not \(expected); the upload was discarded",
                details: ["actual": digest.description, "expected": expected.description]
            )
        }
        let file = try PosixFile(path: dataPath, create: false)
        try file.truncate(to: length)
        let stored = try await place(file, as: digest, size: length)
        await uploads.forget(id)
        try? FileManager.default.removeItem(at: directory)
        return stored
    }

    public func cancelUpload(_ id: String) async throws {
        let directory = try sessionDirectory(id)
        try await uploads.acquire(id)
        await uploads.forget(id)
        try? FileManager.default.removeItem(at: directory)
        await uploads.release(id)
    }

    // MARK: Helpers

    /// The directory of an existing session; the id is checked before it is used in a path.
    func sessionDirectory(_ id: String) throws -> URL {
        guard id.utf8.count == 32, id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else {
            throw RegistryError.invalid(
                "invalid upload id '\(Validation.printable(id))': expected 32 lowercase hex digits"
            )
        }
        let directory = uploadURL(id)
        guard FileManager.default.fileExists(atPath: directory.appending(path: "offset").path) else {
            throw RegistryError.notFound("upload session '\(id)' does not exist (finished, cancelled or never created)")
        }
        return directory
    }

    static func readOffset(in directory: URL) throws -> Int64 {
        let text = try String(contentsOf: directory.appending(path: "offset"), encoding: .utf8)
        guard let offset = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), offset >= 0 else {
            throw RegistryError(.internal, "upload state in \(directory.path) is corrupt")
        }
        return offset
    }

    /// Durably records the acknowledged length: write a temporary file, fsync, rename over the old one.
    static func writeOffset(_ offset: Int64, in directory: URL) throws {
        let temporary = directory.appending(path: "offset.tmp").path
        unlink(temporary)
        let file = try PosixFile(path: temporary, create: true)
        var buffer = ByteBuffer()
        buffer.writeString(String(offset))
        try file.write(buffer)
        try file.sync()
        try file.close()
        try PosixFile.rename(temporary, to: directory.appending(path: "offset").path)
        try PosixFile.syncDirectory(directory.path)
    }

    static func hashFile(_ path: String, length: Int64) throws -> Digest {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        var remaining = length
        while remaining > 0 {
            let data = try handle.read(upToCount: Int(min(remaining, 4 << 20))) ?? Data()
            if data.isEmpty { break }
            hasher.update(data: data)
            remaining -= Int64(data.count)
        }
        guard remaining == 0 else {
            throw RegistryError(.internal, "upload data \(path) is shorter than its acknowledged length")
        }
        return Digest(validatedHex: hasher.finalize().hexString)
    }
}
