import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/api/2.0/mlflow-artifacts/artifacts`: the artifact proxy on the content-addressed blob store.
@Suite struct MLflowArtifactsTests {
    /// Sends `PUT /api/2.0/mlflow-artifacts/artifacts/<path>` over a raw connection with a chunked body (no
    /// Content-Length), `chunkSize` bytes per chunk, each written separately; returns the response head.
    func putChunked(port: Int, _ path: String, _ bytes: [UInt8], chunkSize: Int) async throws -> String {
        let connection = try RawHTTPConnection(port: port)
        let head =
            "PUT /api/2.0/mlflow-artifacts/artifacts/\(path) HTTP/1.1\r\nHost: localhost\r\n"
            + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        await connection.write(Array(head.utf8))
        for start in stride(from: 0, to: bytes.count, by: chunkSize) {
            let chunk = bytes[start..<min(bytes.count, start + chunkSize)]
            await connection.write(Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Array("\r\n".utf8))
        }
        await connection.write(Array("0\r\n\r\n".utf8))
        return await connection.read(until: "\r\n\r\n")
    }

    // MARK: Tests

    @Test func putThenGetReturnsTheSameBytes() async throws {
        try await withTestRegistry { client in
            // Given a file uploaded to a run's artifacts
            let blob = BlobFixture(count: 10_000, seed: 31)
            let path = "0/0123456789abcdef0123456789abcdef/artifacts/model/model.pkl"
            try await mlflowPutArtifact(client, path, blob.bytes)
            // When it is downloaded
            let download = try await mlflowArtifact(client, .get, path)
            // Then the bytes are identical
            try expectStatus(download, .ok)
            #expect(download.bytes == blob.bytes)
            // And an upload to the same path replaces them
            let replacement = BlobFixture(count: 123, seed: 32)
            try await mlflowPutArtifact(client, path, replacement.bytes)
            #expect(try await mlflowArtifact(client, .get, path).bytes == replacement.bytes)
            // And an empty file is a file of size 0
            try await mlflowPutArtifact(client, "0/empty.txt", [])
            let empty = try await mlflowArtifact(client, .get, "0/empty.txt")
            try expectStatus(empty, .ok)
            #expect(empty.bytes.isEmpty)
            #expect(
                try await mlflowListArtifacts(client, "0").contains(
                    MLflowFileInfo(path: "empty.txt", isDir: false, fileSize: 0)
                )
            )
        }
    }

    @Test func aMultiMebibyteBodyStreamedInChunksReadsBackIdentical() async throws {
        try await withTestRegistry(.live) { client in
            // Given 5 MiB + 17 bytes of data
            let large = BlobFixture(count: (5 << 20) + 17, seed: 33)
            let path = "1/fedcba9876543210fedcba9876543210/artifacts/model/weights.bin"
            // When it is uploaded with a chunked body in 64 KiB chunks
            let answer = try await putChunked(port: try #require(client.port), path, large.bytes, chunkSize: 64 << 10)
            // Then it is accepted
            #expect(answer.hasPrefix("HTTP/1.1 200"), "got '\(answer)'")
            // And it downloads with identical bytes, and is listed with its size
            let download = try await mlflowArtifact(client, .get, path)
            try expectStatus(download, .ok)
            #expect(download.body.readableBytes == large.size)
            #expect(sha256Digest(download.bytes) == large.digest)
            let listed = try await mlflowListArtifacts(client, "1/fedcba9876543210fedcba9876543210/artifacts/model")
            #expect(listed == [MLflowFileInfo(path: "weights.bin", isDir: false, fileSize: Int64(large.size))])
        }
    }

    @Test func aMultiMebibyteBodyWithContentLengthReadsBackIdentical() async throws {
        try await withTestRegistry(.live) { client in
            // Given 3 MiB of data
            let large = BlobFixture(count: 3 << 20, seed: 34)
            // When it is uploaded with a Content-Length over a live connection
            try await mlflowPutArtifact(client, "2/big/data.bin", large.bytes)
            // Then it downloads with identical bytes
            let download = try await mlflowArtifact(client, .get, "2/big/data.bin")
            try expectStatus(download, .ok)
            #expect(download.bytes == large.bytes)
        }
    }

    @Test func listingGivesDirectChildrenWithKindAndSize() async throws {
        try await withTestRegistry { client in
            // Given files at several depths of a run's artifacts
            let root = "3/0123456789abcdef0123456789abcdef/artifacts"
            let files: [(String, Int)] = [
                ("metrics.json", 40), ("model/MLmodel", 50), ("model/model.onnx", 2000), ("model/data/a.txt", 10),
                ("model/data/deeper/b.txt", 20),
            ]
            for (path, size) in files {
                try await mlflowPutArtifact(
                    client,
                    "\(root)/\(path)",
                    BlobFixture(count: size, seed: UInt64(size)).bytes
                )
            }
            // When the run's artifacts and the model directory are listed
            let top = try await mlflowListArtifacts(client, root)
            let model = try await mlflowListArtifacts(client, "\(root)/model")
            let data = try await mlflowListArtifacts(client, "\(root)/model/data")
            // Then each lists its direct children only: files with their size, directories once without one
            #expect(
                top.sorted { $0.path < $1.path } == [
                    MLflowFileInfo(path: "metrics.json", isDir: false, fileSize: 40),
                    MLflowFileInfo(path: "model", isDir: true, fileSize: nil),
                ]
            )
            #expect(
                model.sorted { $0.path < $1.path } == [
                    MLflowFileInfo(path: "MLmodel", isDir: false, fileSize: 50),
                    MLflowFileInfo(path: "data", isDir: true, fileSize: nil),
                    MLflowFileInfo(path: "model.onnx", isDir: false, fileSize: 2000),
                ]
            )
            #expect(
                data.sorted { $0.path < $1.path } == [
                    MLflowFileInfo(path: "a.txt", isDir: false, fileSize: 10),
                    MLflowFileInfo(path: "deeper", isDir: true, fileSize: nil),
                ]
            )
            // And a path holding nothing lists as empty
            #expect(try await mlflowListArtifacts(client, "\(root)/nothing").isEmpty)
            // And the directory of a run is not confused with a sibling whose name starts the same
            try await mlflowPutArtifact(client, "\(root)/model-v2/x", [1, 2, 3])
            #expect(try await mlflowListArtifacts(client, "\(root)/model").count == 3)
        }
    }

    @Test(arguments: [
        "0/../secret", "0/a/../../secret", "../secret", "0/%2e%2e/secret", "0/%2E%2E/secret", "%2e%2e/secret",
        "0/./secret", "0//secret", "0/a%2F%2E%2E%2Fsecret", "0/a%5Csecret", "0/a%5C..%5Csecret",
    ])
    func traversalInArtifactPathsIsRefused(_ path: String) async throws {
        try await withTestRegistry { client in
            // Given an existing artifact next to the path
            try await mlflowPutArtifact(client, "0/secret", Array("top".utf8))
            // When the path is written, read and deleted
            let put = try await mlflowArtifact(client, .put, path, body: Array("evil".utf8))
            let get = try await mlflowArtifact(client, .get, path)
            let delete = try await mlflowArtifact(client, .delete, path)
            // Then each is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(put, .badRequest, "INVALID_PARAMETER_VALUE", "PUT \(path)")
            expectMLflowError(get, .badRequest, "INVALID_PARAMETER_VALUE", "GET \(path)")
            expectMLflowError(delete, .badRequest, "INVALID_PARAMETER_VALUE", "DELETE \(path)")
            // And the existing artifact is untouched
            #expect(try await mlflowArtifact(client, .get, "0/secret").bytes == Array("top".utf8))
        }
    }

    @Test(arguments: ["0/../secret", "../0", "0//secret", "0/a\\b", "0/%2e%2e/secret", "/etc"])
    func traversalInTheListingPathIsRefused(_ path: String) async throws {
        try await withTestRegistry { client in
            // Given / When a listing is asked for a path that leaves the tree
            let response = try await send(client, .get, "/api/2.0/mlflow-artifacts/artifacts?path=\(segment(path))")
            // Then it is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", path)
        }
    }

    @Test(arguments: ["%72egistry/resnet/1/x", "registry%2Fresnet%2F1%2Fx", "registry/", "registry%2F"])
    func anEncodedPathIntoTheRegistryViewIsStillReadOnly(_ path: String) async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            // When a path that decodes into the registry view is written and deleted
            let put = try await mlflowArtifact(client, .put, path, body: Array("x".utf8))
            let delete = try await mlflowArtifact(client, .delete, path)
            // Then both are refused and nothing was stored in the tracking tree
            expectMLflowError(put, .badRequest, "INVALID_PARAMETER_VALUE", "PUT \(path)")
            expectMLflowError(delete, .badRequest, "INVALID_PARAMETER_VALUE", "DELETE \(path)")
            #expect(try await getVersion(client, model: "resnet", version: 1).files.count == 1)
        }
    }

    @Test func aRangeOfAnArtifactIsServed() async throws {
        try await withTestRegistry { client in
            // Given an artifact of 1000 bytes
            let blob = BlobFixture(count: 1000, seed: 35)
            try await mlflowPutArtifact(client, "0/range/file.bin", blob.bytes)
            // When bytes 100-199 are asked for
            let response = try await send(
                client,
                .get,
                "/api/2.0/mlflow-artifacts/artifacts/0/range/file.bin",
                headers: [.range: "bytes=100-199"]
            )
            // Then exactly those bytes come back as a partial response
            #expect(response.status == .partialContent)
            #expect(response.bytes == Array(blob.bytes[100..<200]))
            #expect(response.headers[.contentRange] == "bytes 100-199/1000")
        }
    }

    @Test func aFileCannotBecomeADirectoryNorADirectoryAFile() async throws {
        try await withTestRegistry { client in
            // Given a file a/b and a file d/e/f
            try await mlflowPutArtifact(client, "5/a/b", Array("file b".utf8))
            try await mlflowPutArtifact(client, "5/d/e/f", Array("file f".utf8))
            // When something is uploaded under the file, and a file is uploaded where the directory is
            let underFile = try await mlflowArtifact(client, .put, "5/a/b/c", body: Array("c".utf8))
            let deeperUnderFile = try await mlflowArtifact(client, .put, "5/a/b/c/d", body: Array("d".utf8))
            let overDirectory = try await mlflowArtifact(client, .put, "5/d/e", body: Array("e".utf8))
            let overParent = try await mlflowArtifact(client, .put, "5/d", body: Array("d".utf8))
            // Then each is 409
            expectMLflowError(underFile, .conflict, "RESOURCE_CONFLICT", mentioning: ["5/a/b"])
            expectMLflowError(deeperUnderFile, .conflict, "RESOURCE_CONFLICT", mentioning: ["5/a/b"])
            expectMLflowError(overDirectory, .conflict, "RESOURCE_CONFLICT", mentioning: ["5/d/e"])
            expectMLflowError(overParent, .conflict, "RESOURCE_CONFLICT", mentioning: ["5/d"])
            // And the tree is as it was
            #expect(try await mlflowArtifact(client, .get, "5/a/b").bytes == Array("file b".utf8))
            #expect(try await mlflowArtifact(client, .get, "5/d/e/f").bytes == Array("file f".utf8))
            #expect(
                try await mlflowListArtifacts(client, "5/a") == [MLflowFileInfo(path: "b", isDir: false, fileSize: 6)]
            )
        }
    }

    @Test func deletingADirectoryRemovesEverythingUnderItAndNothingElse() async throws {
        try await withTestRegistry { client in
            // Given files in a directory, in its subdirectory, and in siblings whose names start the same
            let kept = ["6/run/dir-x/c", "6/run/dir.x", "6/run/dir0/d", "6/run/dir2/e", "6/run/top.txt"]
            for path in ["6/run/dir/a", "6/run/dir/sub/b"] + kept {
                try await mlflowPutArtifact(client, path, Array(path.utf8))
            }
            // When the directory is deleted
            let delete = try await mlflowArtifact(client, .delete, "6/run/dir")
            try expectStatus(delete, .ok)
            // Then its files are gone
            for path in ["6/run/dir/a", "6/run/dir/sub/b"] {
                expectMLflowError(
                    try await mlflowArtifact(client, .get, path),
                    .notFound,
                    "RESOURCE_DOES_NOT_EXIST",
                    path
                )
            }
            #expect(try await mlflowListArtifacts(client, "6/run/dir").isEmpty)
            // And the siblings are still there
            for path in kept {
                #expect(try await mlflowArtifact(client, .get, path).bytes == Array(path.utf8), "\(path)")
            }
            #expect(
                Set(try await mlflowListArtifacts(client, "6/run").map(\.path))
                    == ["dir-x", "dir.x", "dir0", "dir2", "top.txt"]
            )
            // And the path can be used for a file now
            try await mlflowPutArtifact(client, "6/run/dir", Array("now a file".utf8))
        }
    }

    @Test func deletingAFileRemovesOnlyIt() async throws {
        try await withTestRegistry { client in
            // Given two files in a directory
            try await mlflowPutArtifact(client, "7/d/a", [1])
            try await mlflowPutArtifact(client, "7/d/b", [2])
            // When one is deleted
            try expectStatus(try await mlflowArtifact(client, .delete, "7/d/a"), .ok)
            // Then only the other is left
            #expect(
                try await mlflowListArtifacts(client, "7/d") == [MLflowFileInfo(path: "b", isDir: false, fileSize: 1)]
            )
            expectMLflowError(try await mlflowArtifact(client, .get, "7/d/a"), .notFound, "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func readingADirectoryOrAMissingFileIs404() async throws {
        try await withTestRegistry { client in
            // Given a file in a directory
            try await mlflowPutArtifact(client, "8/d/a", [1])
            // When the directory and a missing file are downloaded
            for path in ["8/d", "8/d/missing", "9/nothing"] {
                // Then each is 404 RESOURCE_DOES_NOT_EXIST
                expectMLflowError(
                    try await mlflowArtifact(client, .get, path),
                    .notFound,
                    "RESOURCE_DOES_NOT_EXIST",
                    path
                )
            }
        }
    }

    @Test func artifactsNeedWriterOnSomeModel() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given a reader and a writer of vision-*
            let reader = try await tokenWithRole(
                client,
                admin: registry.adminToken,
                principal: "rita",
                role: "reader",
                pattern: "vision-*"
            )
            let writer = try await tokenWithRole(
                client,
                admin: registry.adminToken,
                principal: "will",
                role: "writer",
                pattern: "vision-*"
            )
            // When each uploads an artifact
            let byReader = try await mlflowArtifact(client, .put, "0/run/x", body: [1], token: reader)
            let byWriter = try await mlflowArtifact(client, .put, "0/run/x", body: [1], token: writer)
            // Then the reader is refused and the writer is not
            expectMLflowError(byReader, .forbidden, "PERMISSION_DENIED")
            try expectStatus(byWriter, .ok)
            // And the reader cannot read experiment artifacts either
            let read = try await mlflowArtifact(client, .get, "0/run/x", token: reader)
            expectMLflowError(read, .forbidden, "PERMISSION_DENIED")
        }
    }
}
