import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Streams a stored blob as a response, honouring a single `Range` and `HEAD`.
enum BlobResponse {
    /// Bytes read from disk per chunk while streaming a blob.
    static let chunkLength = 1 << 20

    static func make(
        location: URL,
        size: Int64,
        digest: Digest,
        request: Request,
        context: RegistryRequestContext
    ) async throws -> Response {
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .acceptRanges: "bytes",
            .eTag: "\"\(digest)\"",
        ]
        headers[.dockerContentDigest] = digest.description
        if let ifNoneMatch = request.headers[.ifNoneMatch], ifNoneMatch == "\"\(digest)\"" {
            return Response(status: .notModified, headers: headers)
        }
        let range = try ByteRange.parse(request.headers[.range], size: size)
        let status: HTTPResponse.Status
        let bytes: ClosedRange<Int64>?
        switch range {
        case .full:
            status = .ok
            bytes = size > 0 ? 0...(size - 1) : nil
        case .partial(let partial):
            status = .partialContent
            bytes = partial
            headers[.contentRange] = "bytes \(partial.lowerBound)-\(partial.upperBound)/\(size)"
        }
        let length = bytes.map { $0.upperBound - $0.lowerBound + 1 } ?? 0
        headers[.contentLength] = String(length)
        guard request.method != .head, let bytes else {
            return Response(status: status, headers: headers, body: ResponseBody())
        }
        let file = try await FileIO().loadFile(
            path: location.path,
            range: Int(bytes.lowerBound)...Int(bytes.upperBound),
            context: context,
            chunkLength: chunkLength
        )
        guard length >= MemoryRelease.threshold else {
            return Response(status: status, headers: headers, body: file)
        }
        // A long transfer leaves freed chunk buffers in malloc's arenas; give them back when it ends.
        let body = ResponseBody(contentLength: file.contentLength) { writer in
            try await file.write(writer)
            MemoryRelease.releaseFreeMemory()
        }
        return Response(status: status, headers: headers, body: body)
    }
}

extension HTTPField.Name {
    /// The digest of the content, as OCI registries name it.
    static let dockerContentDigest = Self("Docker-Content-Digest")!
}
