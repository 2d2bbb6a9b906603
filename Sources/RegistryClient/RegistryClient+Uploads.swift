import AsyncHTTPClient
public import Foundation
import NIOHTTP1

// `/api/v1/uploads`: resumable blob uploads.

extension RegistryClient {
    /// Starts a resumable upload session (`POST /api/v1/uploads`).
    ///
    /// - Returns: the session, at offset 0.
    /// - Throws: ``RegistryClientError`` `unreachable`, `server`.
    public func startUpload() async throws -> UploadSession {
        try await json(UploadSession.self, .POST, "/api/v1/uploads")
    }

    /// The acknowledged offset of a session (`GET /api/v1/uploads/{id}`); ask after a broken connection.
    ///
    /// - Parameter id: the session id.
    /// - Returns: the session with its offset.
    /// - Throws: ``RegistryClientError`` `notFound` for an unknown, finished or cancelled session.
    public func uploadSession(id: String) async throws -> UploadSession {
        try await json(UploadSession.self, .GET, Self.uploadPath(id))
    }

    /// Sends `length` bytes of `file` starting at `offset` as the next chunk of a session
    /// (`PATCH /api/v1/uploads/{id}` with `Content-Range: bytes offset-end/*`).
    ///
    /// The chunk streams from the file; `offset` must be the session's acknowledged offset. A chunk that broke
    /// mid-way is not resent (the registry kept part of it): ask ``uploadSession(id:)`` for the offset.
    ///
    /// - Parameters:
    ///   - id: the session id.
    ///   - file: the file being uploaded.
    ///   - offset: where the chunk starts, in the file and in the session.
    ///   - length: bytes in the chunk (more than 0).
    ///   - progress: bytes of the whole file sent so far, and the file size.
    /// - Returns: the session with its new offset.
    /// - Throws: ``RegistryClientError`` `conflict` with ``RegistryClientError/uploadOffset`` when `offset` is not
    ///   the acknowledged one, `notFound`, `fileSystem`, `unreachable`.
    public func uploadChunk(
        id: String,
        from file: URL,
        offset: Int64,
        length: Int64,
        progress: TransferProgress? = nil
    ) async throws -> UploadSession {
        let total = try Self.fileSize(file)
        let path = Self.uploadPath(id)
        let url = url(path)
        let what = "PATCH \(path)"
        return try await perform(what, method: .PATCH, streaming: true) {
            var request = request(.PATCH, url)
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.headers.add(name: "Content-Range", value: "bytes \(offset)-\(offset + length - 1)/*")
            request.body = .stream(
                FileChunks(url: file, offset: offset, length: length, total: total, progress: progress),
                length: .known(length)
            )
            return request
        } handle: { response in
            try await decodeAnswer(UploadSession.self, response, what: what)
        }
    }

    /// Verifies the uploaded bytes against `digest` and stores them as a blob
    /// (`PUT /api/v1/uploads/{id}?digest=…`).
    ///
    /// - Parameters:
    ///   - id: the session id.
    ///   - digest: `sha256:<hex>` of all bytes sent.
    /// - Returns: the stored blob.
    /// - Throws: ``RegistryClientError`` `integrity` when the bytes hash to something else, `notFound`.
    public func finishUpload(id: String, digest: String) async throws -> RemoteBlob {
        try await json(RemoteBlob.self, .PUT, Self.uploadPath(id), query: [("digest", digest)])
    }

    /// Discards a session and its bytes (`DELETE /api/v1/uploads/{id}`).
    ///
    /// - Parameter id: the session id.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func cancelUpload(id: String) async throws {
        _ = try await exchange(.DELETE, Self.uploadPath(id))
    }

    /// Uploads a file through a resumable session, surviving broken connections and a restarted registry.
    ///
    /// Starts a session (or continues `sessionID` from its acknowledged offset) and sends the rest of the file in one
    /// `PATCH` (or in chunks of `chunkSize` bytes). The registry acknowledges the bytes as they arrive (it records
    /// a durable offset every few MiB, and keeps what arrived when a connection breaks), so after a failure the client
    /// asks for the acknowledged offset and continues from there, up to the retry policy's attempts in a row without
    /// progress. Finally the registry verifies `digest`.
    ///
    /// One request for the whole file is as fast as a plain `PUT`; a chunk per request costs a round trip and a wait
    /// for the registry's `fsync` each time.
    ///
    /// - Parameters:
    ///   - digest: `sha256:<hex>` of the file, computed by the caller.
    ///   - file: the file.
    ///   - chunkSize: bytes per `PATCH`; `nil` (the default) sends the rest of the file in one.
    ///   - sessionID: a session started earlier (by a process that was interrupted), or `nil` for a new one.
    ///   - progress: bytes of the whole file acknowledged or sent so far, and the file size.
    /// - Returns: the stored blob.
    /// - Throws: ``RegistryClientError`` `integrity`, `notFound` (unknown session), `fileSystem`, `unreachable`.
    public func uploadBlobResumably(
        digest: String,
        from file: URL,
        chunkSize: Int64? = nil,
        sessionID: String? = nil,
        progress: TransferProgress? = nil
    ) async throws -> RemoteBlob {
        let size = try Self.fileSize(file)
        let session: UploadSession
        if let sessionID {
            session = try await uploadSession(id: sessionID)
        } else {
            session = try await startUpload()
        }
        var offset = session.offset
        var failures = 0
        while offset < size {
            do {
                let length = min(max(chunkSize ?? size, 1), size - offset)
                offset = try await uploadChunk(
                    id: session.id,
                    from: file,
                    offset: offset,
                    length: length,
                    progress: progress
                ).offset
                failures = 0
            } catch let error as RegistryClientError where error.code == .unreachable || error.uploadOffset != nil {
                failures += 1
                guard failures < configuration.retry.maxAttempts else { throw error }
                if let acknowledged = error.uploadOffset {
                    offset = acknowledged
                } else {
                    try await Task.sleep(for: configuration.retry.delay(afterAttempt: failures))
                    offset = try await uploadSession(id: session.id).offset
                }
            }
        }
        progress?(size, size)
        do {
            return try await finishUpload(id: session.id, digest: digest)
        } catch let error as RegistryClientError where error.code == .notFound {
            // A finish whose answer was lost (the connection broke after the registry stored the blob) is retried
            // and finds the session gone: the blob is what counts.
            guard let info = try await blobInfo(digest: digest) else { throw error }
            return RemoteBlob(digest: info.digest, size: info.size, created: false)
        }
    }

    static func uploadPath(_ id: String) -> String { "/api/v1/uploads/\(segment(id))" }
}
