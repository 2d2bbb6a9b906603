import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/api/v1/blobs/{digest}`: HEAD, GET (with `Range` and `If-None-Match`) and PUT.
@Suite struct BlobsControllerTests {
    static let blob = BlobFixture(count: 1000, seed: 11)

    func headBlob(_ client: APIClient, _ digest: String) async throws -> TestResponse {
        try await send(client, .head, "/api/v1/blobs/\(digest)")
    }

    func getBlob(_ client: APIClient, _ digest: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(client, .get, "/api/v1/blobs/\(digest)", headers: headers)
    }

    func getRange(_ client: APIClient, _ range: String) async throws -> TestResponse {
        try await getBlob(client, Self.blob.digest, headers: [.range: range])
    }

    // MARK: Tests

    @Test func putStoresANewBlobWith201() async throws {
        try await withTestRegistry { client in
            // Given an empty store
            // When a blob is uploaded under its digest
            let response = try await uploadBlob(client, Self.blob)
            // Then it is 201 with its location, digest header and size
            try expectStatus(response, .created)
            #expect(response.headers[.location] == "/api/v1/blobs/\(Self.blob.digest)")
            #expect(response.headers[contentDigestField] == Self.blob.digest)
            let stored = try response.decode(APIBlob.self)
            #expect(stored.digest == Self.blob.digest)
            #expect(stored.size == Int64(Self.blob.size))
            #expect(stored.created)
        }
    }

    @Test func puttingTheSameBlobAgainIs200NotCreated() async throws {
        try await withTestRegistry { client in
            // Given a stored blob
            try expectStatus(try await uploadBlob(client, Self.blob), .created)
            // When it is uploaded again
            let response = try await uploadBlob(client, Self.blob)
            // Then it is 200 with created false, and the content is unchanged
            try expectStatus(response, .ok)
            let stored = try response.decode(APIBlob.self)
            #expect(stored.created == false)
            #expect(stored.size == Int64(Self.blob.size))
            #expect(try await getBlob(client, Self.blob.digest).bytes == Self.blob.bytes)
        }
    }

    @Test func headAnswersTheDigestWithoutABody() async throws {
        try await withTestRegistry { client in
            // Given a stored blob
            try await uploadBlob(client, Self.blob)
            // When it is asked with HEAD
            let response = try await headBlob(client, Self.blob.digest)
            // Then the headers describe it and there is no body
            #expect(response.status == .ok)
            #expect(response.headers[.eTag] == "\"\(Self.blob.digest)\"")
            #expect(response.headers[contentDigestField] == Self.blob.digest)
            #expect(response.headers[.acceptRanges] == "bytes")
            #expect(response.body.readableBytes == 0)
            // And a HEAD with a range describes the range
            let range = try await send(
                client,
                .head,
                "/api/v1/blobs/\(Self.blob.digest)",
                headers: [.range: "bytes=0-9"]
            )
            #expect(range.status == .partialContent)
            #expect(range.headers[.contentRange] == "bytes 0-9/1000")
            #expect(range.body.readableBytes == 0)
        }
    }

    @Test
    func headAndGetAnnounceTheContentLength() async throws {
        try await withTestRegistry { client in
            // Given a stored blob of 1000 bytes
            try await uploadBlob(client, Self.blob)
            // When it is asked with HEAD, GET and a range GET
            let head = try await headBlob(client, Self.blob.digest)
            let get = try await getBlob(client, Self.blob.digest)
            let range = try await getRange(client, "bytes=10-19")
            // Then each announces the length of the (partial) content
            #expect(head.headers[.contentLength] == "1000")
            #expect(get.headers[.contentLength] == "1000")
            #expect(range.headers[.contentLength] == "10")
        }
    }

    @Test
    func headOverALiveConnectionAnnouncesTheSize() async throws {
        try await withTestRegistry(.live) { client in
            // Given a stored blob of 1000 bytes
            try await uploadBlob(client, Self.blob)
            // When it is asked with HEAD over a socket
            let head = try await headBlob(client, Self.blob.digest)
            // Then the client learns its size
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "1000")
        }
    }

    @Test func headOfAMissingBlobIs404() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await headBlob(client, Self.blob.digest)
            // Then
            #expect(response.status == .notFound)
        }
    }

    @Test func getAnswersTheBytes() async throws {
        try await withTestRegistry { client in
            // Given a stored blob
            try await uploadBlob(client, Self.blob)
            // When it is downloaded
            let response = try await getBlob(client, Self.blob.digest)
            // Then the bytes are those uploaded
            #expect(response.status == .ok)
            #expect(response.bytes == Self.blob.bytes)
            #expect(response.headers[.contentType] == "application/octet-stream")
            #expect(response.headers[.contentRange] == nil)
        }
    }

    @Test func getOfAMissingBlobIs404NamingIt() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await getBlob(client, Self.blob.digest)
            // Then
            expectError(response, .notFound, "not_found", mentioning: [Self.blob.digest])
        }
    }

    @Test(arguments: [
        ("bytes=10-19", 10, 19),
        ("bytes=0-0", 0, 0),
        ("bytes=990-", 990, 999),
        ("bytes=-16", 984, 999),
        ("bytes=-5000", 0, 999),
        ("bytes=900-5000", 900, 999),
        ("bytes=999-999", 999, 999),
    ])
    func rangeRequestsAre206WithTheSlice(_ range: String, _ first: Int, _ last: Int) async throws {
        try await withTestRegistry { client in
            // Given a stored blob of 1000 bytes
            try await uploadBlob(client, Self.blob)
            // When a range of it is asked
            let response = try await getRange(client, range)
            // Then it is 206 with exactly those bytes and a Content-Range
            #expect(response.status == .partialContent)
            #expect(response.bytes == Array(Self.blob.bytes[first...last]))
            #expect(response.headers[.contentRange] == "bytes \(first)-\(last)/1000")
        }
    }

    @Test(arguments: ["bytes=1000-", "bytes=1000-1005", "bytes=5000-", "bytes=-0"])
    func unsatisfiableRangesAre416(_ range: String) async throws {
        try await withTestRegistry { client in
            // Given a stored blob of 1000 bytes
            try await uploadBlob(client, Self.blob)
            // When a range outside it is asked
            let response = try await getRange(client, range)
            // Then it is 416 naming the range and the size, with the size in Content-Range
            expectError(
                response,
                .rangeNotSatisfiable,
                "range_not_satisfiable",
                mentioning: ["'\(range)'", "1000 bytes"]
            )
            #expect(response.apiError?.details?["size"] == "1000")
            #expect(response.headers[.contentRange] == "bytes */1000")
        }
    }

    @Test(arguments: ["bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes=20-10", "bytes=-x", "bytes"])
    func ignoredRangesServeTheWholeBlob(_ range: String) async throws {
        try await withTestRegistry { client in
            // Given a stored blob
            try await uploadBlob(client, Self.blob)
            // When a malformed, multi-part or foreign range is asked
            let response = try await getRange(client, range)
            // Then the whole content is served
            #expect(response.status == .ok)
            #expect(response.bytes == Self.blob.bytes)
        }
    }

    @Test func ifNoneMatchWithTheDigestIs304() async throws {
        try await withTestRegistry { client in
            // Given a stored blob
            try await uploadBlob(client, Self.blob)
            // When it is asked with its entity tag, and with another
            let same = try await getBlob(client, Self.blob.digest, headers: [.ifNoneMatch: "\"\(Self.blob.digest)\""])
            let other = try await getBlob(client, Self.blob.digest, headers: [.ifNoneMatch: "\"sha256:other\""])
            // Then the first is 304 without a body, the second the content
            #expect(same.status == .notModified)
            #expect(same.body.readableBytes == 0)
            #expect(same.headers[.eTag] == "\"\(Self.blob.digest)\"")
            #expect(other.status == .ok)
            #expect(other.bytes == Self.blob.bytes)
        }
    }

    @Test func digestMismatchIs422AndLeavesNothingBehind() async throws {
        try await withTestRegistry { client in
            // Given bytes that do not hash to the digest in the URL
            let other = BlobFixture(count: 1000, seed: 99)
            // When they are uploaded under that digest
            let response = try await uploadBlob(client, Self.blob, bytes: other.bytes)
            // Then it is 422 integrity_failure naming both digests
            expectError(
                response,
                .unprocessableContent,
                "integrity_failure",
                mentioning: [Self.blob.digest, other.digest, "nothing was stored"]
            )
            #expect(response.apiError?.details?["expected"] == Self.blob.digest)
            #expect(response.apiError?.details?["actual"] == other.digest)
            // And nothing is stored under either digest
            #expect(try await headBlob(client, Self.blob.digest).status == .notFound)
            #expect(try await headBlob(client, other.digest).status == .notFound)
            expectError(try await getBlob(client, Self.blob.digest), .notFound, "not_found")
            let metrics = try await send(client, .get, "/metrics")
            #expect(metricValue(metrics.text, "modelctl_blobs") == 0)
            // And the right bytes can still be uploaded afterwards
            try expectStatus(try await uploadBlob(client, Self.blob), .created)
        }
    }

    @Test func emptyBlobsAreStoredAndServed() async throws {
        try await withTestRegistry { client in
            // Given the empty blob
            let empty = BlobFixture(bytes: [])
            // When it is uploaded and read back
            let put = try await uploadBlob(client, empty)
            let get = try await getBlob(client, empty.digest)
            let range = try await getBlob(client, empty.digest, headers: [.range: "bytes=0-"])
            // Then it has size 0, and any range of it is unsatisfiable
            try expectStatus(put, .created)
            #expect(try put.decode(APIBlob.self).size == 0)
            #expect(get.status == .ok)
            #expect(get.body.readableBytes == 0)
            expectError(range, .rangeNotSatisfiable, "range_not_satisfiable")
        }
    }

    @Test(arguments: [
        "sha256:XYZ",
        "sha256:" + String(repeating: "A", count: 64),
        "sha256:" + String(repeating: "a", count: 63),
        "sha256:" + String(repeating: "a", count: 65),
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha512:abc",
    ])
    func invalidDigestsAre400(_ digest: String) async throws {
        try await withTestRegistry { client in
            // Given / When the digest in the URL is malformed
            let get = try await getBlob(client, digest)
            let head = try await headBlob(client, digest)
            let put = try await send(client, .put, "/api/v1/blobs/\(digest)", body: ByteBuffer(string: "x"))
            // Then every method is 400 naming the digest
            expectError(
                get,
                .badRequest,
                "invalid_argument",
                mentioning: ["invalid digest '\(digest)'", "64 lowercase hex"]
            )
            expectError(put, .badRequest, "invalid_argument", mentioning: ["invalid digest '\(digest)'"])
            #expect(head.status == .badRequest)
        }
    }

    @Test func largeBlobsStreamOverALiveConnection() async throws {
        try await withTestRegistry(.live) { client in
            // Given 12 MiB of data (larger than the 1 MiB JSON limit and the 1 MiB read chunk)
            let large = BlobFixture(count: 12 << 20, seed: 5)
            // When it is uploaded over a socket and read back, whole and by range
            let put = try await uploadBlob(client, large)
            let head = try await headBlob(client, large.digest)
            let get = try await getBlob(client, large.digest)
            let tail = try await getBlob(client, large.digest, headers: [.range: "bytes=\((12 << 20) - 10)-"])
            // Then it is stored once with the right size, and the bytes hash to the digest
            try expectStatus(put, .created)
            #expect(try put.decode(APIBlob.self).size == Int64(12 << 20))
            #expect(head.status == .ok)
            #expect(get.status == .ok)
            #expect(get.body.readableBytes == 12 << 20)
            #expect(sha256Digest(get.bytes) == large.digest)
            #expect(tail.status == .partialContent)
            #expect(tail.bytes == Array(large.bytes.suffix(10)))
            // And uploading the same 12 MiB again is 200 (not created) and leaves the connection usable
            let again = try await uploadBlob(client, large)
            try expectStatus(again, .ok)
            #expect(try again.decode(APIBlob.self).created == false)
            #expect(try await headBlob(client, large.digest).status == .ok)
        }
    }

    @Test func headErrorsOverALiveConnectionCarryNoBodyAndKeepTheConnectionUsable() async throws {
        try await withTestRegistry(.live) { client in
            // Given a stored blob
            try await uploadBlob(client, Self.blob)
            // When HEAD requests that fail are sent on the connection, each followed by a GET
            let invalid = try await headBlob(client, "sha256:XYZ")
            let afterInvalid = try await getBlob(client, Self.blob.digest)
            let unsatisfiable = try await send(
                client,
                .head,
                "/api/v1/blobs/\(Self.blob.digest)",
                headers: [.range: "bytes=5000-"]
            )
            let afterUnsatisfiable = try await getBlob(client, Self.blob.digest)
            let missing = try await headBlob(client, BlobFixture(count: 3).digest)
            let afterMissing = try await getBlob(client, Self.blob.digest)
            // Then the HEAD answers have their status and no body, and the following requests are answered intact
            #expect(invalid.status == .badRequest)
            #expect(unsatisfiable.status == .rangeNotSatisfiable)
            #expect(missing.status == .notFound)
            for head in [invalid, unsatisfiable, missing] { #expect(head.body.readableBytes == 0) }
            for get in [afterInvalid, afterUnsatisfiable, afterMissing] {
                #expect(get.status == .ok)
                #expect(get.bytes == Self.blob.bytes)
            }
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBodyIsSent() async throws {
        try await withTestRegistry(.live) { client in
            // Given a raw connection to the server
            let connection = try RawHTTPConnection(port: try #require(client.port))
            // When only the head of an upload asking for 100-continue is sent
            await connection.write(
                Array(
                    ("PUT /api/v1/blobs/\(Self.blob.digest) HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Length: \(Self.blob.size)\r\nExpect: 100-continue\r\n\r\n").utf8
                )
            )
            let interim = await connection.read(until: "\r\n\r\n")
            // Then the server answers 100 Continue without waiting for the body
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "got '\(interim)'")
            // When the body follows
            await connection.write(Self.blob.bytes)
            let final = await connection.read(until: "}")
            // Then the upload completes
            #expect(final.contains("HTTP/1.1 201"), "got '\(final)'")
            #expect(try await headBlob(client, Self.blob.digest).status == .ok)
        }
    }

    @Test func largeMismatchedUploadOverALiveConnectionIs422AndStoresNothing() async throws {
        try await withTestRegistry(.live) { client in
            // Given 3 MiB of data announced under another digest
            let large = BlobFixture(count: 3 << 20, seed: 6)
            let claimed = BlobFixture(count: 16, seed: 7)
            // When it is uploaded
            let response = try await uploadBlob(client, claimed, bytes: large.bytes)
            // Then it is refused and nothing is kept under either digest
            expectError(
                response,
                .unprocessableContent,
                "integrity_failure",
                mentioning: [large.digest, claimed.digest]
            )
            #expect(try await headBlob(client, claimed.digest).status == .notFound)
            #expect(try await headBlob(client, large.digest).status == .notFound)
        }
    }
}
