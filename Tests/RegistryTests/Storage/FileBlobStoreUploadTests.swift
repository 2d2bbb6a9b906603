import Crypto
import Foundation
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// Upload sessions of the file store, below HTTP: a long request records durable progress while it is still running.
@Suite struct FileBlobStoreUploadTests {
    /// `count` bytes of a repeating pattern, in 1 MiB buffers.
    static func buffers(_ count: Int, seed: UInt8) -> [ByteBuffer] {
        stride(from: 0, to: count, by: 1 << 20).map { start in
            let length = min(1 << 20, count - start)
            return ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ start / 4096) &+ seed })
        }
    }

    static func digest(_ buffers: [ByteBuffer]) -> Registry.Digest {
        var hasher = SHA256()
        for buffer in buffers { buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
        return Registry.Digest(validatedHex: hasher.finalize().hexString)
    }

    /// Waits until `condition` holds, up to 30 s.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<3000 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test(.timeLimit(.minutes(1)))
    func aLongRequestCheckpointsItsOffsetWhileItIsStillReceiving() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileBlobStore(root: directory)
            let id = try await store.createUpload()
            let first = Self.buffers(Int(FileBlobStore.checkpointInterval) + (4 << 20), seed: 1)
            let rest = Self.buffers(3 << 20, seed: 2)
            let total = Int64((first + rest).reduce(0) { $0 + $1.readableBytes })
            let (body, input) = AsyncStream<ByteBuffer>.makeStream()
            let request = Task { try await store.appendUpload(id, at: 0, maxLength: total, body) }

            // Given a request that has sent more than a checkpoint's worth of bytes and is still open
            for buffer in first { input.yield(buffer) }
            // Then a second store on the same directory (what a restarted registry would read) sees a durable offset
            let restarted = try FileBlobStore(root: directory)
            var seen: Int64 = 0
            let checkpointed = try await Self.eventually {
                seen = try await restarted.uploadOffset(id)
                return seen > 0
            }
            #expect(checkpointed, "no checkpoint while the request was open")
            #expect(seen >= FileBlobStore.checkpointInterval && seen <= Int64(first.count << 20))
            let data = try FileManager.default.attributesOfItem(
                atPath: store.uploadURL(id).appending(path: "data").path
            )
            #expect((data[.size] as? NSNumber)?.int64Value ?? 0 >= seen, "the offset is ahead of the data")

            // When the rest arrives and the request ends
            for buffer in rest { input.yield(buffer) }
            input.finish()
            let length = try await request.value
            // Then everything is acknowledged, and the blob is what was sent
            #expect(length == total)
            #expect(try await restarted.uploadOffset(id) == total)
            let stored = try await store.finishUpload(id, expected: Self.digest(first + rest))
            #expect(stored.size == total)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aRestartedStoreContinuesFromTheCheckpointAndDropsTheBytesAfterIt() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileBlobStore(root: directory)
            let id = try await store.createUpload()
            let all = Self.buffers(Int(FileBlobStore.checkpointInterval) * 2 + (3 << 20), seed: 7)
            let total = Int64(all.reduce(0) { $0 + $1.readableBytes })
            // Given a request that ended early, after a checkpoint (what arrived is acknowledged)…
            let head = Array(all.prefix(Int(FileBlobStore.checkpointInterval >> 20) + 2))
            let headLength = Int64(head.reduce(0) { $0 + $1.readableBytes })
            let acknowledged = try await store.appendUpload(id, at: 0, maxLength: total, head.async)
            #expect(acknowledged == headLength)
            // …and junk after the acknowledged end, as a registry killed mid-write leaves it
            let handle = try FileHandle(forWritingTo: store.uploadURL(id).appending(path: "data"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(repeating: 0xEE, count: 5000))
            try handle.close()

            // When a restarted store (no hash in memory) receives the rest from the acknowledged offset
            let restarted = try FileBlobStore(root: directory)
            #expect(try await restarted.uploadOffset(id) == headLength)
            let tail = Array(all.dropFirst(head.count))
            let length = try await restarted.appendUpload(id, at: headLength, maxLength: total - headLength, tail.async)
            // Then the junk is gone and the digest of what was sent matches
            #expect(length == total)
            let stored = try await restarted.finishUpload(id, expected: Self.digest(all))
            #expect(stored.size == total)
        }
    }
}

extension Array where Element == ByteBuffer {
    /// The buffers as an asynchronous sequence, like a request body.
    fileprivate var async: AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for buffer in self { continuation.yield(buffer) }
            continuation.finish()
        }
    }
}
