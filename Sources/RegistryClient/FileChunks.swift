import Foundation
import NIOCore

/// Progress of an upload or download: bytes of the whole file done so far, and the file's size when known.
///
/// Called on the task doing the transfer after every chunk (1 MiB or what the network delivered), so keep it
/// cheap. A retried upload starts counting again from where the retry starts.
public typealias TransferProgress = @Sendable (_ completed: Int64, _ total: Int64?) -> Void

/// A region of a file read as a sequence of `ByteBuffer`s of at most ``RegistryClient/chunkLength`` bytes, for
/// streaming request bodies. Each iteration opens the file again, so a retried request re-reads it.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let url: URL
    let offset: Int64
    let length: Int64
    /// `total` passed to ``progress``.
    let total: Int64?
    let progress: TransferProgress?

    func makeAsyncIterator() -> Iterator {
        Iterator(chunks: self)
    }

    struct Iterator: AsyncIteratorProtocol {
        let chunks: FileChunks
        var handle: FileHandle?
        var sent: Int64 = 0

        init(chunks: FileChunks) { self.chunks = chunks }

        mutating func next() async throws -> ByteBuffer? {
            guard sent < chunks.length else {
                try? handle?.close()
                handle = nil
                return nil
            }
            let handle = try openIfNeeded()
            let count = Int(Swift.min(Int64(RegistryClient.chunkLength), chunks.length - sent))
            let data: Data?
            do {
                data = try handle.read(upToCount: count)
            } catch {
                throw RegistryClientError(.fileSystem, "cannot read \(chunks.url.path): \(error.localizedDescription)")
            }
            guard let data, !data.isEmpty else {
                throw RegistryClientError(
                    .fileSystem,
                    "\(chunks.url.path) ended at byte \(chunks.offset + sent), before the \(chunks.length) bytes to send"
                )
            }
            sent += Int64(data.count)
            chunks.progress?(chunks.offset + sent, chunks.total)
            return ByteBuffer(bytes: data)
        }

        private mutating func openIfNeeded() throws -> FileHandle {
            if let handle { return handle }
            do {
                let handle = try FileHandle(forReadingFrom: chunks.url)
                try handle.seek(toOffset: UInt64(chunks.offset))
                self.handle = handle
                return handle
            } catch {
                throw RegistryClientError(.fileSystem, "cannot read \(chunks.url.path): \(error.localizedDescription)")
            }
        }
    }
}

extension RegistryClient {
    /// The size of a local file.
    static func fileSize(_ url: URL) throws -> Int64 {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            guard let size = attributes[.size] as? NSNumber else {
                throw RegistryClientError(.fileSystem, "cannot read the size of \(url.path)")
            }
            return size.int64Value
        } catch let error as RegistryClientError {
            throw error
        } catch {
            throw RegistryClientError(.fileSystem, "cannot read \(url.path): \(error.localizedDescription)")
        }
    }
}
