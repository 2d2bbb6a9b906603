import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/api/v1/uploads`: resumable uploads (create, PATCH chunks with `Content-Range`, status, finish with the digest,
/// cancel).
@Suite struct UploadsControllerTests {
    static let blob = BlobFixture(count: 1000, seed: 21)
    static let unknownID = String(repeating: "ab", count: 16)

    func createUpload(_ client: APIClient, sourceLocation: SourceLocation = #_sourceLocation) async throws -> APIUpload
    {
        let response = try await send(client, .post, "/api/v1/uploads")
        try expectStatus(response, .created, sourceLocation: sourceLocation)
        return try response.decode(APIUpload.self, sourceLocation: sourceLocation)
    }

    /// PATCHes `bytes[start...end]` with `Content-Range: bytes start-end/total` (total `*` when nil).
    func appendChunk(
        _ client: APIClient,
        _ id: String,
        _ bytes: [UInt8],
        start: Int,
        end: Int? = nil,
        total: Int? = nil,
        contentRange: String? = nil
    ) async throws -> TestResponse {
        let last = end ?? (start + bytes.count - 1)
        let range = contentRange ?? "bytes \(start)-\(last)/\(total.map(String.init) ?? "*")"
        return try await send(
            client,
            .patch,
            "/api/v1/uploads/\(id)",
            body: ByteBuffer(bytes: bytes),
            headers: [.contentRange: range]
        )
    }

    func uploadStatus(_ client: APIClient, _ id: String, method: HTTPRequest.Method = .get) async throws -> TestResponse
    {
        try await send(client, method, "/api/v1/uploads/\(id)")
    }

    func finishUpload(_ client: APIClient, _ id: String, digest: String?) async throws -> TestResponse {
        try await send(client, .put, "/api/v1/uploads/\(id)" + (digest.map { "?digest=\($0)" } ?? ""))
    }

    func cancelUpload(_ client: APIClient, _ id: String) async throws -> TestResponse {
        try await send(client, .delete, "/api/v1/uploads/\(id)")
    }

    // MARK: Tests

    @Test func createAnswers201WithTheSessionAtOffsetZero() async throws {
        try await withTestRegistry { client in
            // Given / When an upload is started
            let response = try await send(client, .post, "/api/v1/uploads")
            // Then it is 201 with a 32-hex id, its location and offset 0
            try expectStatus(response, .created)
            let upload = try response.decode(APIUpload.self)
            #expect(upload.id.count == 32)
            #expect(upload.id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(upload.offset == 0)
            #expect(upload.location == "/api/v1/uploads/\(upload.id)")
            #expect(response.headers[.location] == upload.location)
            #expect(response.headers[uploadOffsetField] == "0")
            // And two uploads get different ids
            #expect(try await createUpload(client).id != upload.id)
        }
    }

    @Test func chunksAppendAndFinishingStoresTheBlob() async throws {
        try await withTestRegistry { client in
            // Given an upload
            let upload = try await createUpload(client)
            let bytes = Self.blob.bytes
            // When the bytes are sent in three chunks
            let first = try await appendChunk(client, upload.id, Array(bytes[0..<400]), start: 0)
            let second = try await appendChunk(client, upload.id, Array(bytes[400..<700]), start: 400, total: 1000)
            // Then each chunk is acknowledged with the new offset, in the body and headers
            try expectStatus(first, .ok)
            #expect(try first.decode(APIUpload.self).offset == 400)
            #expect(first.headers[uploadOffsetField] == "400")
            #expect(first.headers[.range] == "bytes=0-399")
            #expect(first.headers[.location] == "/api/v1/uploads/\(upload.id)")
            try expectStatus(second, .ok)
            #expect(second.headers[uploadOffsetField] == "700")
            // And GET and HEAD report the offset
            let status = try await uploadStatus(client, upload.id)
            try expectStatus(status, .ok)
            #expect(try status.decode(APIUpload.self).offset == 700)
            #expect(status.headers[uploadOffsetField] == "700")
            #expect(status.headers[.range] == "bytes=0-699")
            let head = try await uploadStatus(client, upload.id, method: .head)
            #expect(head.status == .ok)
            #expect(head.headers[uploadOffsetField] == "700")
            // When the last chunk is sent and the upload finished with the digest
            try expectStatus(try await appendChunk(client, upload.id, Array(bytes[700...]), start: 700), .ok)
            let finished = try await finishUpload(client, upload.id, digest: Self.blob.digest)
            // Then the blob is stored under its digest
            try expectStatus(finished, .created)
            #expect(finished.headers[.location] == "/api/v1/blobs/\(Self.blob.digest)")
            #expect(finished.headers[contentDigestField] == Self.blob.digest)
            let stored = try finished.decode(APIBlob.self)
            #expect(stored.digest == Self.blob.digest)
            #expect(stored.size == 1000)
            #expect(stored.created)
            #expect(try await send(client, .get, "/api/v1/blobs/\(Self.blob.digest)").bytes == bytes)
            // And the session is gone
            expectError(try await uploadStatus(client, upload.id), .notFound, "not_found", mentioning: [upload.id])
        }
    }

    @Test func aFreshSessionReportsNoRange() async throws {
        try await withTestRegistry { client in
            // Given a new upload
            let upload = try await createUpload(client)
            // When its status is read
            let status = try await uploadStatus(client, upload.id)
            // Then the offset is 0 and no Range is announced
            try expectStatus(status, .ok)
            #expect(status.headers[uploadOffsetField] == "0")
            #expect(status.headers[.range] == nil)
        }
    }

    @Test func finishingWithABlobAlreadyStoredAnswers200NotCreated() async throws {
        try await withTestRegistry { client in
            // Given the blob already stored, and an upload of the same bytes
            try expectStatus(try await uploadBlob(client, Self.blob), .created)
            let upload = try await createUpload(client)
            try expectStatus(try await appendChunk(client, upload.id, Self.blob.bytes, start: 0), .ok)
            // When it is finished
            let finished = try await finishUpload(client, upload.id, digest: Self.blob.digest)
            // Then, as for PUT /blobs, nothing new was created
            try expectStatus(finished, .ok)
            #expect(try finished.decode(APIBlob.self).created == false)
            expectError(try await uploadStatus(client, upload.id), .notFound, "not_found")
        }
    }

    @Test(arguments: [(0, 400), (500, 400), (399, 400), (401, 400)])
    func aChunkAtTheWrongOffsetIs409WithTheCurrentOffset(_ start: Int, _ acknowledged: Int) async throws {
        try await withTestRegistry { client in
            // Given an upload at offset 400
            let upload = try await createUpload(client)
            try expectStatus(
                try await appendChunk(client, upload.id, Array(Self.blob.bytes[0..<acknowledged]), start: 0),
                .ok
            )
            // When a chunk starts elsewhere
            let response = try await appendChunk(client, upload.id, Array(Self.blob.bytes[0..<10]), start: start)
            // Then it is 409 with the offset to resume from, in the message, details and Upload-Offset
            expectError(
                response,
                .conflict,
                "conflict",
                mentioning: ["at offset \(acknowledged)", "starts at \(start)"]
            )
            #expect(response.headers[uploadOffsetField] == String(acknowledged))
            #expect(response.apiError?.details?["offset"] == String(acknowledged))
            // And the session is unchanged: resuming at the right offset still produces the right blob
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == String(acknowledged))
            try expectStatus(
                try await appendChunk(client, upload.id, Array(Self.blob.bytes[acknowledged...]), start: acknowledged),
                .ok
            )
            try expectStatus(try await finishUpload(client, upload.id, digest: Self.blob.digest), .created)
        }
    }

    @Test(arguments: [
        ("bytes=0-9/10", "invalid Content-Range 'bytes=0-9/10'"),
        ("bytes 0-9", "invalid Content-Range 'bytes 0-9'"),
        ("bytes 9-0/10", "invalid Content-Range 'bytes 9-0/10'"),
        ("bytes a-b/*", "invalid Content-Range 'bytes a-b/*'"),
        ("bytes 0-9/9", "TOTAL > END"),
        ("bytes 0-9/x", "invalid Content-Range 'bytes 0-9/x'"),
    ])
    func malformedContentRangeIs400(_ header: String, _ fragment: String) async throws {
        try await withTestRegistry { client in
            // Given an upload
            let upload = try await createUpload(client)
            // When a 10-byte chunk is sent with a malformed Content-Range
            let response = try await appendChunk(
                client,
                upload.id,
                Array(Self.blob.bytes[0..<10]),
                start: 0,
                contentRange: header
            )
            // Then it is 400 naming the header, and nothing was appended
            expectError(response, .badRequest, "invalid_argument", mentioning: [fragment])
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "0")
        }
    }

    @Test
    func aNegativeStartInContentRangeIs400() async throws {
        try await withTestRegistry { client in
            // Given an upload
            let upload = try await createUpload(client)
            // When 9 bytes are sent as bytes -1-9
            let response = try await appendChunk(
                client,
                upload.id,
                Array(Self.blob.bytes[0..<9]),
                start: 0,
                contentRange: "bytes -1-9/10"
            )
            // Then it is 400 naming the header, and nothing was appended
            expectError(
                response,
                .badRequest,
                "invalid_argument",
                mentioning: ["invalid Content-Range 'bytes -1-9/10'"]
            )
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "0")
        }
    }

    @Test func missingContentRangeIs400() async throws {
        try await withTestRegistry { client in
            // Given an upload
            let upload = try await createUpload(client)
            // When a chunk is sent without Content-Range
            let response = try await send(
                client,
                .patch,
                "/api/v1/uploads/\(upload.id)",
                body: ByteBuffer(string: "abc")
            )
            // Then
            expectError(response, .badRequest, "invalid_argument", mentioning: ["missing Content-Range"])
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "0")
        }
    }

    @Test func aChunkWhoseLengthDiffersFromItsContentRangeIs400() async throws {
        try await withTestRegistry { client in
            // Given an upload
            let upload = try await createUpload(client)
            // When 5 bytes are sent as bytes 0-9
            let response = try await appendChunk(client, upload.id, Array(Self.blob.bytes[0..<5]), start: 0, end: 9)
            // Then it is 400 naming both lengths, and nothing was appended
            expectError(
                response,
                .badRequest,
                "invalid_argument",
                mentioning: ["covers 10 bytes", "Content-Length is 5"]
            )
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "0")
        }
    }

    @Test func finishingWithTheWrongDigestIs422AndDiscardsTheUpload() async throws {
        try await withTestRegistry { client in
            // Given an upload holding the blob's bytes
            let upload = try await createUpload(client)
            try expectStatus(try await appendChunk(client, upload.id, Self.blob.bytes, start: 0), .ok)
            let claimed = BlobFixture(count: 10, seed: 3).digest
            // When it is finished with another digest
            let response = try await finishUpload(client, upload.id, digest: claimed)
            // Then it is 422 naming both digests
            expectError(
                response,
                .unprocessableContent,
                "integrity_failure",
                mentioning: [claimed, Self.blob.digest, "1000 bytes", "discarded"]
            )
            #expect(response.apiError?.details?["expected"] == claimed)
            #expect(response.apiError?.details?["actual"] == Self.blob.digest)
            // And the session is gone and no blob is stored under either digest
            expectError(try await uploadStatus(client, upload.id), .notFound, "not_found")
            #expect(try await send(client, .head, "/api/v1/blobs/\(claimed)").status == .notFound)
            #expect(try await send(client, .head, "/api/v1/blobs/\(Self.blob.digest)").status == .notFound)
        }
    }

    @Test func finishErrors() async throws {
        try await withTestRegistry { client in
            // Given an upload holding some bytes
            let upload = try await createUpload(client)
            try expectStatus(try await appendChunk(client, upload.id, Self.blob.bytes, start: 0), .ok)
            // When it is finished without digest, with a malformed digest, or with a body
            let missing = try await finishUpload(client, upload.id, digest: nil)
            let malformed = try await finishUpload(client, upload.id, digest: "sha256:abc")
            let withBody = try await send(
                client,
                .put,
                "/api/v1/uploads/\(upload.id)?digest=\(Self.blob.digest)",
                body: ByteBuffer(string: "more")
            )
            // Then each is 400, and the session is intact
            expectError(missing, .badRequest, "invalid_argument", mentioning: ["missing query parameter digest"])
            expectError(malformed, .badRequest, "invalid_argument", mentioning: ["invalid digest 'sha256:abc'"])
            expectError(withBody, .badRequest, "invalid_argument", mentioning: ["takes no body"])
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "1000")
            try expectStatus(try await finishUpload(client, upload.id, digest: Self.blob.digest), .created)
        }
    }

    @Test func finishingAnEmptyUploadStoresTheEmptyBlob() async throws {
        try await withTestRegistry { client in
            // Given an upload with no bytes
            let upload = try await createUpload(client)
            let empty = BlobFixture(bytes: [])
            // When it is finished with the digest of nothing
            let response = try await finishUpload(client, upload.id, digest: empty.digest)
            // Then the empty blob is stored
            try expectStatus(response, .created)
            #expect(try response.decode(APIBlob.self).size == 0)
            #expect(try await send(client, .head, "/api/v1/blobs/\(empty.digest)").status == .ok)
        }
    }

    @Test func cancelDiscardsTheSession() async throws {
        try await withTestRegistry { client in
            // Given an upload holding some bytes
            let upload = try await createUpload(client)
            try expectStatus(try await appendChunk(client, upload.id, Array(Self.blob.bytes[0..<100]), start: 0), .ok)
            // When it is cancelled
            let response = try await cancelUpload(client, upload.id)
            // Then it is 204 and every later use of the session is 404
            #expect(response.status == .noContent, "body: \(response.text)")
            expectError(try await uploadStatus(client, upload.id), .notFound, "not_found", mentioning: [upload.id])
            expectError(
                try await appendChunk(client, upload.id, Array(Self.blob.bytes[100..<200]), start: 100),
                .notFound,
                "not_found"
            )
            expectError(try await finishUpload(client, upload.id, digest: Self.blob.digest), .notFound, "not_found")
            expectError(try await cancelUpload(client, upload.id), .notFound, "not_found")
        }
    }

    @Test func unknownSessionsAre404OnEveryMethod() async throws {
        try await withTestRegistry { client in
            // Given a well-formed id that was never created
            let id = Self.unknownID
            // When every method is used with it
            let get = try await uploadStatus(client, id)
            let head = try await uploadStatus(client, id, method: .head)
            let patch = try await appendChunk(client, id, [1, 2, 3], start: 0)
            let put = try await finishUpload(client, id, digest: Self.blob.digest)
            let delete = try await cancelUpload(client, id)
            // Then each is 404 naming the session
            for response in [get, patch, put, delete] {
                expectError(response, .notFound, "not_found", mentioning: ["upload session '\(id)' does not exist"])
            }
            #expect(head.status == .notFound)
        }
    }

    @Test(arguments: [
        "xyz", "ABABABABABABABABABABABABABABABAB", "abababababababababababababababa", "..%2F..%2Fblobs", "%2E%2E",
    ])
    func malformedSessionIdsAre400OnEveryMethod(_ id: String) async throws {
        try await withTestRegistry { client in
            // Given / When every method is used with a malformed id
            let decoded = id.removingPercentEncoding!
            let get = try await uploadStatus(client, id)
            let head = try await uploadStatus(client, id, method: .head)
            let patch = try await appendChunk(client, id, [1, 2, 3], start: 0)
            let put = try await finishUpload(client, id, digest: Self.blob.digest)
            let delete = try await cancelUpload(client, id)
            // Then each is 400 naming the id
            for response in [get, patch, put, delete] {
                expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid upload id '\(decoded)'"])
            }
            #expect(head.status == .badRequest)
        }
    }

    @Test func uploadedChunksCompleteAVersion() async throws {
        try await withTestRegistry { client in
            // Given a PENDING version whose only blob is missing
            try await createModel(client, "resnet")
            let file = BlobFixture.onnx(count: 2048, seed: 4)
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("model.onnx", file)])
            // When the blob arrives through a resumable upload
            let upload = try await createUpload(client)
            try expectStatus(try await appendChunk(client, upload.id, Array(file.bytes[0..<1024]), start: 0), .ok)
            try expectStatus(try await appendChunk(client, upload.id, Array(file.bytes[1024...]), start: 1024), .ok)
            try expectStatus(try await finishUpload(client, upload.id, digest: file.digest), .created)
            // Then the version commits
            let commit = try await commitVersion(client, model: "resnet", version: 1)
            try expectStatus(commit, .ok)
            #expect(try commit.decode(APIVersion.self).format == "onnx")
        }
    }

    /// Sends `PATCH /api/v1/uploads/{id}` with a chunked body (no Content-Length) over a raw connection.
    func appendChunked(port: Int, _ id: String, _ bytes: [UInt8], contentRange: String) async throws -> String {
        let connection = try RawHTTPConnection(port: port)
        let head =
            "PATCH /api/v1/uploads/\(id) HTTP/1.1\r\nHost: localhost\r\nContent-Range: \(contentRange)\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\(String(bytes.count, radix: 16))\r\n"
        await connection.write(Array(head.utf8) + bytes + Array("\r\n0\r\n\r\n".utf8))
        return await connection.read(until: "}")
    }

    @Test func aChunkedBodyShorterThanItsContentRangeIsAppendedAsItIs() async throws {
        try await withTestRegistry(.live) { client in
            // Given an upload
            let upload = try await createUpload(client)
            // When 5 bytes are sent without Content-Length as bytes 0-9
            let answer = try await appendChunked(
                port: try #require(client.port),
                upload.id,
                Array(Self.blob.bytes[0..<5]),
                contentRange: "bytes 0-9/*"
            )
            // Then the 5 bytes are acknowledged
            #expect(answer.hasPrefix("HTTP/1.1 200"), "got '\(answer)'")
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "5")
        }
    }

    @Test func aChunkedBodyLongerThanItsContentRangeIs400AfterKeepingTheDeclaredBytes() async throws {
        try await withTestRegistry(.live) { client in
            // Given an upload
            let upload = try await createUpload(client)
            // When 20 bytes are sent without Content-Length as bytes 0-9
            let answer = try await appendChunked(
                port: try #require(client.port),
                upload.id,
                Array(Self.blob.bytes[0..<20]),
                contentRange: "bytes 0-9/*"
            )
            // Then it is 400, and the first 10 bytes were kept and acknowledged
            #expect(answer.hasPrefix("HTTP/1.1 400"), "got '\(answer)'")
            #expect(answer.contains("invalid_argument"))
            #expect(try await uploadStatus(client, upload.id).headers[uploadOffsetField] == "10")
            // And the upload can go on from there to the right blob
            try expectStatus(try await appendChunk(client, upload.id, Array(Self.blob.bytes[10...]), start: 10), .ok)
            try expectStatus(try await finishUpload(client, upload.id, digest: Self.blob.digest), .created)
        }
    }

    @Test func largeChunkedUploadOverALiveConnection() async throws {
        try await withTestRegistry(.live) { client in
            // Given 6 MiB of data and an upload
            let large = BlobFixture(count: 6 << 20, seed: 9)
            let upload = try await createUpload(client)
            // When it is sent in three 2 MiB chunks and finished
            let chunk = 2 << 20
            for start in stride(from: 0, to: large.size, by: chunk) {
                let response = try await appendChunk(
                    client,
                    upload.id,
                    Array(large.bytes[start..<(start + chunk)]),
                    start: start
                )
                try expectStatus(response, .ok)
                #expect(response.headers[uploadOffsetField] == String(start + chunk))
            }
            let finished = try await finishUpload(client, upload.id, digest: large.digest)
            // Then the blob is stored and reads back intact
            try expectStatus(finished, .created)
            let get = try await send(client, .get, "/api/v1/blobs/\(large.digest)")
            #expect(get.body.readableBytes == large.size)
            #expect(sha256Digest(get.bytes) == large.digest)
        }
    }
}
