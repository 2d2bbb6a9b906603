import AsyncHTTPClient
import Crypto
public import Foundation
import NIOCore
import NIOHTTP1

// `/api/v1/blobs/{digest}` and file downloads: existence, streaming upload, streaming download with resume.

extension RegistryClient {
    /// Size and digest of a stored blob, or `nil` when it is not stored (`HEAD /api/v1/blobs/{digest}`).
    ///
    /// - Parameter digest: `sha256:<hex>`.
    /// - Returns: what the registry has, or `nil`.
    /// - Throws: ``RegistryClientError`` `invalidArgument` for a malformed digest, `unreachable`, `server`.
    public func blobInfo(digest: String) async throws -> RemoteContentInfo? {
        let path = Self.blobPath(digest)
        let answer = try await exchange(.HEAD, path, accept: { (200..<300).contains($0) || $0 == 404 })
        guard answer.status != 404 else { return nil }
        return try contentInfo(answer, fallbackDigest: digest, what: "HEAD \(path)")
    }

    /// Whether a blob is stored (`HEAD /api/v1/blobs/{digest}`).
    ///
    /// - Parameter digest: `sha256:<hex>`.
    /// - Returns: `true` when the registry has those bytes.
    /// - Throws: ``RegistryClientError`` `invalidArgument`, `unreachable`, `server`.
    public func blobExists(digest: String) async throws -> Bool {
        try await blobInfo(digest: digest) != nil
    }

    /// Size and digest of a version's file (`HEAD /api/v1/models/{name}/versions/{version}/files/{path}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    ///   - path: the file's path inside the version.
    /// - Returns: its size and digest.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func fileInfo(model: String, version: Int, path: String) async throws -> RemoteContentInfo {
        let route = Self.filePath(model, version, path)
        let answer = try await exchange(.HEAD, route, accept: { (200..<300).contains($0) || $0 == 404 })
        guard answer.status != 404 else {
            throw RegistryClientError(
                .notFound,
                "model '\(model)' version \(version) has no file '\(path)' (or the version does not exist)",
                status: 404
            )
        }
        return try contentInfo(answer, fallbackDigest: nil, what: "HEAD \(route)")
    }

    /// Uploads a file as one blob in a single streaming `PUT /api/v1/blobs/{digest}`.
    ///
    /// The file is read in 1 MiB chunks while it is sent, and is not hashed here: the caller passes the digest it
    /// already computed, and the registry verifies it. A failed attempt is retried by reading the file again. For
    /// files of many gigabytes over unreliable links prefer
    /// ``uploadBlobResumably(digest:from:chunkSize:sessionID:progress:)``.
    ///
    /// - Parameters:
    ///   - digest: `sha256:<hex>` of the file.
    ///   - file: the file to send.
    ///   - skipIfPresent: ask first (`HEAD`) and send nothing when the registry already has the blob.
    ///   - progress: bytes sent so far and the file size.
    /// - Returns: the stored blob; ``RemoteBlob/created`` is `false` when it was already there.
    /// - Throws: ``RegistryClientError`` `integrity` when the bytes do not hash to `digest`, `fileSystem` when the
    ///   file cannot be read, `unreachable`, `server`.
    public func uploadBlob(
        digest: String,
        from file: URL,
        skipIfPresent: Bool = true,
        progress: TransferProgress? = nil
    ) async throws -> RemoteBlob {
        let size = try Self.fileSize(file)
        if skipIfPresent, let info = try await blobInfo(digest: digest) {
            progress?(size, size)
            return RemoteBlob(digest: info.digest, size: info.size, created: false)
        }
        let path = Self.blobPath(digest)
        let url = url(path)
        let what = "PUT \(path)"
        return try await perform(what, method: .PUT, streaming: true) {
            var request = request(.PUT, url)
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.body = .stream(
                FileChunks(url: file, offset: 0, length: size, total: size, progress: progress),
                length: .known(size)
            )
            return request
        } handle: { response in
            try await decodeAnswer(RemoteBlob.self, response, what: what)
        }
    }

    /// Downloads a blob to a file, resuming a partial file and verifying the digest
    /// (`GET /api/v1/blobs/{digest}`).
    ///
    /// See ``downloadFile(model:version:path:to:expectedDigest:resume:progress:)`` for how resuming and
    /// verification work.
    ///
    /// - Parameters:
    ///   - digest: `sha256:<hex>`.
    ///   - destination: the file to write.
    ///   - resume: keep the bytes already in `destination` and ask only for the rest.
    ///   - progress: bytes of the whole file present so far, and its size.
    /// - Returns: the verified digest and size, and how much came over the network.
    /// - Throws: ``RegistryClientError`` `notFound`, `integrity` (the file is removed), `fileSystem`,
    ///   `unreachable`.
    public func downloadBlob(
        digest: String,
        to destination: URL,
        resume: Bool = true,
        progress: TransferProgress? = nil
    ) async throws -> DownloadResult {
        try await download(
            Self.blobPath(digest),
            expectedDigest: digest,
            to: destination,
            resume: resume,
            progress: progress
        )
    }

    /// Downloads a version's file to a local file, resuming a partial file and verifying the digest
    /// (`GET /api/v1/models/{name}/versions/{version}/files/{path}`).
    ///
    /// The body streams to `destination` chunk by chunk while it is hashed; memory does not grow with the size.
    /// When `resume` is set and `destination` already holds bytes, those are hashed and only the rest is requested
    /// with `Range: bytes=N-`; if the registry sends the whole content instead (200), the file is rewritten from
    /// the start. A connection that breaks mid-way is retried (see ``RegistryClient``) from the bytes already
    /// written. At the end the SHA-256 of the whole file must equal `expectedDigest` (or, when `nil`, the digest the
    /// registry announces in `Docker-Content-Digest`); otherwise the file is removed.
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    ///   - path: the file's path inside the version.
    ///   - destination: the file to write; its directory must exist.
    ///   - expectedDigest: the digest to verify against, from ``RemoteFile/digest``; the registry's when `nil`.
    ///   - resume: keep the bytes already in `destination` and ask only for the rest.
    ///   - progress: bytes of the whole file present so far, and its size.
    /// - Returns: the verified digest and size, and how much came over the network.
    /// - Throws: ``RegistryClientError`` `notFound`, `integrity` (the file is removed), `fileSystem`,
    ///   `unreachable`.
    public func downloadFile(
        model: String,
        version: Int,
        path: String,
        to destination: URL,
        expectedDigest: String? = nil,
        resume: Bool = true,
        progress: TransferProgress? = nil
    ) async throws -> DownloadResult {
        try await download(
            Self.filePath(model, version, path),
            expectedDigest: expectedDigest,
            to: destination,
            resume: resume,
            progress: progress
        )
    }

    // MARK: Implementation

    static func blobPath(_ digest: String) -> String { "/api/v1/blobs/\(segment(digest))" }

    /// Collects a JSON answer of a streamed request and decodes it, or throws its error.
    func decodeAnswer<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse, what: String) async throws -> T {
        let data = Data(try await response.body.collect(upTo: Self.maxJSONLength).readableBytesView)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            throw RegistryClientError.fromResponse(status: status, body: data, sentIfMatch: false, what: what)
        }
        return try decode(type, data, what: what)
    }

    private func contentInfo(_ answer: Answer, fallbackDigest: String?, what: String) throws -> RemoteContentInfo {
        guard let size = answer.headers.first(name: "Content-Length").flatMap({ Int64($0) }),
            let digest = answer.headers.first(name: "Docker-Content-Digest") ?? fallbackDigest
        else {
            throw RegistryClientError(
                .protocolError,
                "unexpected answer from the registry at \(registryName) to \(what): no Content-Length or digest"
            )
        }
        return RemoteContentInfo(digest: digest, size: size)
    }

    /// What one download attempt ended with.
    private enum DownloadStep {
        case complete
        /// The partial file is longer than the content: start again from zero.
        case restart
    }

    /// Streams `path` into `destination`; see ``downloadFile(model:version:path:to:expectedDigest:resume:progress:)``.
    func download(
        _ path: String,
        expectedDigest: String?,
        to destination: URL,
        resume: Bool,
        progress: TransferProgress?
    ) async throws -> DownloadResult {
        let url = url(path)
        let what = "GET \(path)"
        let file = try DownloadFile(destination, resume: resume)
        defer { file.close() }
        let resumedFrom = file.length
        var expected = expectedDigest
        var total: Int64?
        var restarted = false
        while true {
            let step: DownloadStep = try await perform(what, method: .GET, streaming: true) {
                var request = request(.GET, url)
                if file.length > 0 { request.headers.add(name: "Range", value: "bytes=\(file.length)-") }
                return request
            } handle: { response in
                switch response.status.code {
                case 200:
                    if file.length > 0 { try file.truncate() }
                    total = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
                case 206:
                    let range = response.headers.first(name: "Content-Range").flatMap(ContentRange.init)
                    guard let range, range.start == file.length else {
                        throw RegistryClientError(
                            .protocolError,
                            "unexpected answer from the registry at \(registryName) to \(what) with Range "
                                + "bytes=\(file.length)-: Content-Range "
                                + (response.headers.first(name: "Content-Range") ?? "missing")
                        )
                    }
                    total = range.size
                case 416 where file.length > 0:
                    _ = try? await response.body.collect(upTo: Self.maxJSONLength)
                    let size = response.headers.first(name: "Content-Range").flatMap(ContentRange.init)?.size
                    if size == file.length {
                        total = size
                        return .complete
                    }
                    try file.truncate()
                    return .restart
                default:
                    let data = Data(try await response.body.collect(upTo: Self.maxJSONLength).readableBytesView)
                    throw RegistryClientError.fromResponse(
                        status: Int(response.status.code),
                        body: data,
                        sentIfMatch: false,
                        what: what
                    )
                }
                if expected == nil { expected = response.headers.first(name: "Docker-Content-Digest") }
                progress?(file.length, total)
                for try await buffer in response.body {
                    try file.append(buffer)
                    progress?(file.length, total)
                }
                return .complete
            }
            guard step == .restart, !restarted else { break }
            restarted = true
        }
        if let total, total != file.length {
            throw RegistryClientError(
                .protocolError,
                "\(what) ended after \(file.length) of \(total) bytes"
            )
        }
        let digest = file.digest()
        if let expected, digest != expected {
            file.close()
            try? FileManager.default.removeItem(at: destination)
            throw RegistryClientError(
                .integrity,
                "downloaded \(destination.path) hashes to \(digest), expected \(expected); the file was removed",
                details: ["actual": digest, "expected": expected]
            )
        }
        return DownloadResult(
            digest: digest,
            size: file.length,
            resumedFrom: resumedFrom,
            bytesReceived: file.received
        )
    }
}

/// `Content-Range: bytes START-END/SIZE` or `bytes */SIZE`.
struct ContentRange {
    var start: Int64?
    var size: Int64?

    init?(_ header: String) {
        guard header.hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst("bytes ".count)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        size = Int64(parts[1])
        if parts[0] == "*" {
            start = nil
        } else {
            guard let first = parts[0].split(separator: "-").first, let start = Int64(first) else { return nil }
            self.start = start
        }
    }
}

/// The destination of a download: the bytes written so far and their running SHA-256.
///
/// Only used by the task running the download.
private final class DownloadFile {
    let url: URL
    private var handle: FileHandle?
    private var hasher = SHA256()
    /// Bytes in the file (kept from before, plus received).
    private(set) var length: Int64 = 0
    /// Bytes received over the network.
    private(set) var received: Int64 = 0

    /// Opens `url`, keeping and hashing its bytes when `resume` is set, emptying it otherwise.
    init(_ url: URL, resume: Bool) throws {
        self.url = url
        let manager = FileManager.default
        if !manager.fileExists(atPath: url.path) {
            guard manager.createFile(atPath: url.path, contents: nil) else {
                throw RegistryClientError(.fileSystem, "cannot create \(url.path)")
            }
        }
        do {
            let handle = try FileHandle(forUpdating: url)
            self.handle = handle
            if resume {
                while let data = try handle.read(upToCount: RegistryClient.chunkLength), !data.isEmpty {
                    hasher.update(data: data)
                    length += Int64(data.count)
                }
            } else {
                try handle.truncate(atOffset: 0)
            }
        } catch {
            throw RegistryClientError(.fileSystem, "cannot open \(url.path): \(error.localizedDescription)")
        }
    }

    func append(_ buffer: ByteBuffer) throws {
        guard let handle else { return }
        do {
            try buffer.withUnsafeReadableBytes { try handle.write(contentsOf: $0) }
        } catch {
            throw RegistryClientError(.fileSystem, "cannot write \(url.path): \(error.localizedDescription)")
        }
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        length += Int64(buffer.readableBytes)
        received += Int64(buffer.readableBytes)
    }

    func truncate() throws {
        do {
            try handle?.truncate(atOffset: 0)
        } catch {
            throw RegistryClientError(.fileSystem, "cannot truncate \(url.path): \(error.localizedDescription)")
        }
        hasher = SHA256()
        length = 0
    }

    func digest() -> String {
        "sha256:" + hasher.finalize().map { Self.hex[Int($0)] }.joined()
    }

    func close() {
        try? handle?.close()
        handle = nil
    }

    private static let hex = (0..<256).map { String(format: "%02x", $0) }
}
