import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/api/2.0/mlflow-artifacts/artifacts`: the artifact proxy on the content-addressed blob store. Files are written only
/// inside the artifacts of a run (`<experiment>/<run>/artifacts/…`) or logged model
/// (`<experiment>/models/<id>/artifacts/…`); who may write there is in ``MLflowOwnershipTests``.
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
            let root = try await mlflowRunArtifactRoot(client)
            let blob = BlobFixture(count: 10_000, seed: 31)
            let path = "\(root)/model/model.pkl"
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
            try await mlflowPutArtifact(client, "\(root)/empty.txt", [])
            let empty = try await mlflowArtifact(client, .get, "\(root)/empty.txt")
            try expectStatus(empty, .ok)
            #expect(empty.bytes.isEmpty)
            #expect(
                try await mlflowListArtifacts(client, root).contains(
                    MLflowFileInfo(path: "empty.txt", isDir: false, fileSize: 0)
                )
            )
        }
    }

    @Test func aLoggedModelsArtifactsAreWrittenAndReadBack() async throws {
        try await withTestRegistry { client in
            // Given a logged model
            let logged = try await mlflowCreateLoggedModel(client, name: "clf")
            let root = mlflowArtifactPath(of: logged.info.artifactUri)
            #expect(root == "0/models/\(logged.info.modelId)/artifacts")
            // When its model directory is uploaded
            let files = mlflowModelFiles(seed: 36)
            try await mlflowUpload(client, files, under: root)
            // Then every file reads back, and one can be deleted
            for file in files {
                #expect(try await mlflowArtifact(client, .get, "\(root)/\(file.path)").bytes == file.blob.bytes)
            }
            try expectStatus(try await mlflowArtifact(client, .delete, "\(root)/data"), .ok)
            #expect(Set(try await mlflowListArtifacts(client, root).map(\.path)) == ["MLmodel", "model.onnx"])
        }
    }

    @Test func aMultiMebibyteBodyStreamedInChunksReadsBackIdentical() async throws {
        try await withTestRegistry(.live) { client in
            // Given 5 MiB + 17 bytes of data and a run
            let large = BlobFixture(count: (5 << 20) + 17, seed: 33)
            let root = try await mlflowRunArtifactRoot(client)
            let path = "\(root)/model/weights.bin"
            // When it is uploaded with a chunked body in 64 KiB chunks
            let answer = try await putChunked(port: try #require(client.port), path, large.bytes, chunkSize: 64 << 10)
            // Then it is accepted
            #expect(answer.hasPrefix("HTTP/1.1 200"), "got '\(answer)'")
            // And it downloads with identical bytes, and is listed with its size
            let download = try await mlflowArtifact(client, .get, path)
            try expectStatus(download, .ok)
            #expect(download.body.readableBytes == large.size)
            #expect(sha256Digest(download.bytes) == large.digest)
            let listed = try await mlflowListArtifacts(client, "\(root)/model")
            #expect(listed == [MLflowFileInfo(path: "weights.bin", isDir: false, fileSize: Int64(large.size))])
        }
    }

    @Test func aMultiMebibyteBodyWithContentLengthReadsBackIdentical() async throws {
        try await withTestRegistry(.live) { client in
            // Given 3 MiB of data and a run
            let large = BlobFixture(count: 3 << 20, seed: 34)
            let path = "\(try await mlflowRunArtifactRoot(client))/big/data.bin"
            // When it is uploaded with a Content-Length over a live connection
            try await mlflowPutArtifact(client, path, large.bytes)
            // Then it downloads with identical bytes
            let download = try await mlflowArtifact(client, .get, path)
            try expectStatus(download, .ok)
            #expect(download.bytes == large.bytes)
        }
    }

    @Test func listingGivesDirectChildrenWithKindAndSize() async throws {
        try await withTestRegistry { client in
            // Given files at several depths of a run's artifacts
            let root = try await mlflowRunArtifactRoot(client)
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
            // And the experiment lists the run, the run its artifacts
            let run = root.split(separator: "/")[1]
            #expect(try await mlflowListArtifacts(client, "0").contains(MLflowFileInfo(path: String(run), isDir: true)))
            #expect(
                try await mlflowListArtifacts(client, "0/\(run)") == [MLflowFileInfo(path: "artifacts", isDir: true)]
            )
        }
    }

    /// `{root}` stands for the artifacts of a run, where a write would otherwise be accepted.
    @Test(arguments: [
        "{root}/../secret", "{root}/a/../../secret", "../secret", "{root}/%2e%2e/secret", "{root}/%2E%2E/secret",
        "%2e%2e/secret", "{root}/./secret", "{root}//secret", "{root}/a%2F%2E%2E%2Fsecret", "{root}/a%5Csecret",
        "{root}/a%5C..%5Csecret",
    ])
    func traversalInArtifactPathsIsRefused(_ template: String) async throws {
        try await withTestRegistry { client in
            // Given an existing artifact in a run's artifacts
            let root = try await mlflowRunArtifactRoot(client)
            try await mlflowPutArtifact(client, "\(root)/secret", Array("top".utf8))
            let path = template.replacingOccurrences(of: "{root}", with: root)
            // When the path is written, read and deleted
            let put = try await mlflowArtifact(client, .put, path, body: Array("evil".utf8))
            let get = try await mlflowArtifact(client, .get, path)
            let delete = try await mlflowArtifact(client, .delete, path)
            // Then each is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(put, .badRequest, "INVALID_PARAMETER_VALUE", "PUT \(template)")
            expectMLflowError(get, .badRequest, "INVALID_PARAMETER_VALUE", "GET \(template)")
            expectMLflowError(delete, .badRequest, "INVALID_PARAMETER_VALUE", "DELETE \(template)")
            // And the existing artifact is untouched
            #expect(try await mlflowArtifact(client, .get, "\(root)/secret").bytes == Array("top".utf8))
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

    /// `{run}` stands for a run of experiment 0, `{model}` for a logged model of it: each path is beside, above or in
    /// another experiment than their artifacts.
    @Test(arguments: [
        "x", "0/x", "0/x/y/z", "0/run/artifacts/x", "0/{run}/x", "0/{run}/artifacts", "0/{run}/outputs/x",
        "1/{run}/artifacts/x", "x/{run}/artifacts/x", "0/{model}/artifacts/x", "0/models/{model}/x",
        "0/models/{model}/artifacts", "1/models/{model}/artifacts/x",
        "0/0123456789ABCDEF0123456789ABCDEF/artifacts/x",
    ])
    func writesOutsideTheArtifactsOfARunOrLoggedModelAreRefused(_ template: String) async throws {
        try await withTestRegistry { client in
            // Given a run and a logged model of experiment 0, each with a file
            let run = try await mlflowCreateRun(client).info.runId
            let model = try await mlflowCreateLoggedModel(client).info.modelId
            try await mlflowPutArtifact(client, "0/\(run)/artifacts/x", [1])
            try await mlflowPutArtifact(client, "0/models/\(model)/artifacts/x", [2])
            let path = template.replacingOccurrences(of: "{run}", with: run)
                .replacingOccurrences(of: "{model}", with: model)
            // When the path is written and deleted
            let put = try await mlflowArtifact(client, .put, path, body: Array("elsewhere".utf8))
            let delete = try await mlflowArtifact(client, .delete, path)
            // Then both are 400 INVALID_PARAMETER_VALUE naming the path and where writes go
            for (answer, method) in [(put, "PUT"), (delete, "DELETE")] {
                expectMLflowError(
                    answer,
                    .badRequest,
                    "INVALID_PARAMETER_VALUE",
                    mentioning: [path, "<experiment>/<run_id>/artifacts/"],
                    "\(method) \(template)"
                )
            }
            // And nothing was written there, nor deleted from the artifacts
            expectMLflowError(try await mlflowArtifact(client, .get, path), .notFound, "RESOURCE_DOES_NOT_EXIST", path)
            #expect(try await mlflowArtifact(client, .get, "0/\(run)/artifacts/x").bytes == [1])
            #expect(try await mlflowArtifact(client, .get, "0/models/\(model)/artifacts/x").bytes == [2])
        }
    }

    @Test(arguments: ["00", "+0", "-0"])
    func anExperimentIDSpelledOtherwiseIsNotTheRunsExperiment(_ experiment: String) async throws {
        try await withTestRegistry { client in
            // Given a run of experiment 0
            let run = try await mlflowCreateRun(client).info.runId
            // When a file is written under `00/<run>/artifacts`, which is not where the run's artifacts are
            let path = "\(experiment)/\(run)/artifacts/x"
            let put = try await mlflowArtifact(client, .put, path, body: [1])
            // Then it should be refused like any path outside the run's artifacts
            expectMLflowError(put, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: [path])
            #expect(try await mlflowListArtifacts(client, "0/\(run)/artifacts").isEmpty)
        }
    }

    @Test func writesToARunOrLoggedModelThatDoesNotExistAre404() async throws {
        try await withTestRegistry { client in
            // Given / When files are written into the artifacts of a run and a logged model that do not exist
            let run = "0123456789abcdef0123456789abcdef"
            let model = "m-0123456789abcdef0123456789abcdef"
            for path in ["0/\(run)/artifacts/x", "0/models/\(model)/artifacts/x"] {
                let put = try await mlflowArtifact(client, .put, path, body: [1])
                let delete = try await mlflowArtifact(client, .delete, path)
                // Then each is 404 RESOURCE_DOES_NOT_EXIST naming the missing id, and nothing was stored
                let id = path.contains("models") ? model : run
                expectMLflowError(put, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: [id], "PUT \(path)")
                expectMLflowError(delete, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: [id], "DELETE \(path)")
                expectMLflowError(try await mlflowArtifact(client, .get, path), .notFound, "RESOURCE_DOES_NOT_EXIST")
            }
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
            let path = "\(try await mlflowRunArtifactRoot(client))/range/file.bin"
            try await mlflowPutArtifact(client, path, blob.bytes)
            // When bytes 100-199 are asked for
            let response = try await send(
                client,
                .get,
                "/api/2.0/mlflow-artifacts/artifacts/\(path)",
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
            // Given a file a/b and a file d/e/f in a run's artifacts
            let root = try await mlflowRunArtifactRoot(client)
            try await mlflowPutArtifact(client, "\(root)/a/b", Array("file b".utf8))
            try await mlflowPutArtifact(client, "\(root)/d/e/f", Array("file f".utf8))
            // When something is uploaded under the file, and a file is uploaded where the directory is
            let underFile = try await mlflowArtifact(client, .put, "\(root)/a/b/c", body: Array("c".utf8))
            let deeperUnderFile = try await mlflowArtifact(client, .put, "\(root)/a/b/c/d", body: Array("d".utf8))
            let overDirectory = try await mlflowArtifact(client, .put, "\(root)/d/e", body: Array("e".utf8))
            let overParent = try await mlflowArtifact(client, .put, "\(root)/d", body: Array("d".utf8))
            // Then each is 409
            expectMLflowError(underFile, .conflict, "RESOURCE_CONFLICT", mentioning: ["\(root)/a/b"])
            expectMLflowError(deeperUnderFile, .conflict, "RESOURCE_CONFLICT", mentioning: ["\(root)/a/b"])
            expectMLflowError(overDirectory, .conflict, "RESOURCE_CONFLICT", mentioning: ["\(root)/d/e"])
            expectMLflowError(overParent, .conflict, "RESOURCE_CONFLICT", mentioning: ["\(root)/d"])
            // And the tree is as it was
            #expect(try await mlflowArtifact(client, .get, "\(root)/a/b").bytes == Array("file b".utf8))
            #expect(try await mlflowArtifact(client, .get, "\(root)/d/e/f").bytes == Array("file f".utf8))
            #expect(
                try await mlflowListArtifacts(client, "\(root)/a") == [
                    MLflowFileInfo(path: "b", isDir: false, fileSize: 6)
                ]
            )
        }
    }

    @Test func deletingADirectoryRemovesEverythingUnderItAndNothingElse() async throws {
        try await withTestRegistry { client in
            // Given files in a directory, in its subdirectory, and in siblings whose names start the same
            let root = try await mlflowRunArtifactRoot(client)
            let kept = ["dir-x/c", "dir.x", "dir0/d", "dir2/e", "top.txt"].map { "\(root)/\($0)" }
            let removed = ["dir/a", "dir/sub/b"].map { "\(root)/\($0)" }
            for path in removed + kept {
                try await mlflowPutArtifact(client, path, Array(path.utf8))
            }
            // When the directory is deleted
            let delete = try await mlflowArtifact(client, .delete, "\(root)/dir")
            try expectStatus(delete, .ok)
            // Then its files are gone
            for path in removed {
                expectMLflowError(
                    try await mlflowArtifact(client, .get, path),
                    .notFound,
                    "RESOURCE_DOES_NOT_EXIST",
                    path
                )
            }
            #expect(try await mlflowListArtifacts(client, "\(root)/dir").isEmpty)
            // And the siblings are still there
            for path in kept {
                #expect(try await mlflowArtifact(client, .get, path).bytes == Array(path.utf8), "\(path)")
            }
            #expect(
                Set(try await mlflowListArtifacts(client, root).map(\.path))
                    == ["dir-x", "dir.x", "dir0", "dir2", "top.txt"]
            )
            // And the path can be used for a file now
            try await mlflowPutArtifact(client, "\(root)/dir", Array("now a file".utf8))
        }
    }

    @Test func deletingTheArtifactsOfARunKeepsThoseOfItsNeighbours() async throws {
        try await withTestRegistry { client in
            // Given two runs, each with a file
            let first = try await mlflowRunArtifactRoot(client)
            let second = try await mlflowRunArtifactRoot(client)
            try await mlflowPutArtifact(client, "\(first)/model/a", [1])
            try await mlflowPutArtifact(client, "\(second)/model/a", [2])
            // When the first run's model directory is deleted
            try expectStatus(try await mlflowArtifact(client, .delete, "\(first)/model"), .ok)
            // Then only its file is gone
            expectMLflowError(
                try await mlflowArtifact(client, .get, "\(first)/model/a"),
                .notFound,
                "RESOURCE_DOES_NOT_EXIST"
            )
            #expect(try await mlflowArtifact(client, .get, "\(second)/model/a").bytes == [2])
        }
    }

    @Test func deletingAFileRemovesOnlyIt() async throws {
        try await withTestRegistry { client in
            // Given two files in a directory
            let directory = "\(try await mlflowRunArtifactRoot(client))/d"
            try await mlflowPutArtifact(client, "\(directory)/a", [1])
            try await mlflowPutArtifact(client, "\(directory)/b", [2])
            // When one is deleted
            try expectStatus(try await mlflowArtifact(client, .delete, "\(directory)/a"), .ok)
            // Then only the other is left
            #expect(
                try await mlflowListArtifacts(client, directory) == [
                    MLflowFileInfo(path: "b", isDir: false, fileSize: 1)
                ]
            )
            expectMLflowError(
                try await mlflowArtifact(client, .get, "\(directory)/a"),
                .notFound,
                "RESOURCE_DOES_NOT_EXIST"
            )
        }
    }

    @Test func readingADirectoryOrAMissingFileIs404() async throws {
        try await withTestRegistry { client in
            // Given a file in a directory of a run's artifacts
            let root = try await mlflowRunArtifactRoot(client)
            try await mlflowPutArtifact(client, "\(root)/d/a", [1])
            // When the directory, a missing file and a path outside any run are downloaded
            for path in ["\(root)/d", "\(root)/d/missing", "9/nothing"] {
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
            // Given a reader and a writer of vision-*, and a run of the writer
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
            let root = try await mlflowRunArtifactRoot(client, token: writer)
            // When each uploads an artifact to it
            let byReader = try await mlflowArtifact(client, .put, "\(root)/x", body: [1], token: reader)
            let byWriter = try await mlflowArtifact(client, .put, "\(root)/x", body: [1], token: writer)
            // Then the reader is refused and the writer is not
            expectMLflowError(byReader, .forbidden, "PERMISSION_DENIED", mentioning: ["writer"])
            try expectStatus(byWriter, .ok)
            // And the reader cannot read or list experiment artifacts either
            let read = try await mlflowArtifact(client, .get, "\(root)/x", token: reader)
            expectMLflowError(read, .forbidden, "PERMISSION_DENIED")
            let listing = try await send(
                client,
                .get,
                "/api/2.0/mlflow-artifacts/artifacts?path=\(root)",
                token: reader
            )
            expectMLflowError(listing, .forbidden, "PERMISSION_DENIED")
            // And nor delete them
            let delete = try await mlflowArtifact(client, .delete, "\(root)/x", token: reader)
            expectMLflowError(delete, .forbidden, "PERMISSION_DENIED")
            #expect(try await mlflowArtifact(client, .get, "\(root)/x", token: writer).bytes == [1])
        }
    }
}
