import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/api/v1/models/{name}/versions` and `/labels`: create, list, get, update, commit, fail, download files.
@Suite struct VersionsControllerTests {
    static let onnx = BlobFixture.onnx(count: 512, seed: 7)
    static let weights = BlobFixture(count: 300, seed: 8)

    func listVersions(_ client: APIClient, _ model: String, _ query: String = "") async throws -> APIVersionList {
        let response = try await send(client, .get, "/api/v1/models/\(model)/versions\(query)")
        try expectStatus(response, .ok)
        return try response.decode(APIVersionList.self)
    }

    func updateVersion(
        _ client: APIClient,
        _ model: String,
        _ version: Int,
        _ body: [String: Any]
    ) async throws
        -> TestResponse
    {
        try await send(client, .patch, "/api/v1/models/\(model)/versions/\(version)", json: body)
    }

    func failVersion(_ client: APIClient, _ model: String, _ version: Int, reason: String) async throws -> TestResponse
    {
        try await send(client, .post, "/api/v1/models/\(model)/versions/\(version)/fail", json: ["reason": reason])
    }

    /// A model with three READY versions: v1 (label a, tag team=vision, accuracy 0.8), v2 (label b, accuracy 0.95,
    /// in Staging) and v3 (PENDING, label c, tag team=nlp, accuracy 0.99).
    func threeVersions(_ client: APIClient) async throws {
        try await createModel(client, "resnet")
        try await readyVersion(
            client,
            model: "resnet",
            files: [VersionFileSpec("model.onnx", .onnx(count: 64, seed: 1))],
            label: "a",
            extra: ["tags": ["team": "vision"], "metrics": ["accuracy": 0.8]]
        )
        try await readyVersion(
            client,
            model: "resnet",
            files: [VersionFileSpec("model.onnx", .onnx(count: 64, seed: 2))],
            label: "b",
            extra: ["metrics": ["accuracy": 0.95]]
        )
        try expectStatus(try await setStage(client, model: "resnet", version: 2, stage: "Staging"), .ok)
        try await pushVersion(
            client,
            model: "resnet",
            files: [VersionFileSpec("model.onnx", .onnx(count: 64, seed: 3))],
            label: "c",
            extra: ["tags": ["team": "nlp"], "metrics": ["accuracy": 0.99]]
        )
    }

    // MARK: Tests

    @Test func createAnswers201WithAPendingVersionAndItsMetadata() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When a version is created with every field
            let response = try await postVersion(
                client,
                model: "resnet",
                files: [
                    VersionFileSpec("model.onnx", Self.onnx),
                    VersionFileSpec("weights/part-1.bin", Self.weights, role: "weights"),
                ],
                label: "1.0.0-rc1",
                extra: [
                    "format": "onnx",
                    "metrics": ["accuracy": 0.93, "loss": 0.25],
                    "params": ["lr": "0.001"],
                    "tags": ["team": "vision"],
                    "lineage": [
                        "run_id": "run-42", "source": "train.py", "git_commit": "abc123",
                        "dataset_digest": "sha256:feed",
                    ],
                    "description": "first cut",
                ]
            )
            // Then it is 201 with its location, PENDING, in no stage, echoing what was sent
            try expectStatus(response, .created)
            #expect(response.headers[.location] == "/api/v1/models/resnet/versions/1")
            let version = try response.decode(APIVersion.self)
            #expect(version.model == "resnet")
            #expect(version.version == 1)
            #expect(version.label == "1.0.0-rc1")
            #expect(version.status == "PENDING")
            #expect(version.stage == "None")
            #expect(version.aliases.isEmpty)
            #expect(version.format == "onnx")
            #expect(
                version.files == [
                    APIFile(path: "model.onnx", size: Int64(Self.onnx.size), digest: Self.onnx.digest, role: "model"),
                    APIFile(
                        path: "weights/part-1.bin",
                        size: Int64(Self.weights.size),
                        digest: Self.weights.digest,
                        role: "weights"
                    ),
                ]
            )
            #expect(version.metrics == ["accuracy": 0.93, "loss": 0.25])
            #expect(version.params == ["lr": "0.001"])
            #expect(version.tags == ["team": "vision"])
            #expect(
                version.lineage
                    == APILineage(
                        runId: "run-42",
                        source: "train.py",
                        gitCommit: "abc123",
                        datasetDigest: "sha256:feed"
                    )
            )
            #expect(version.description == "first cut")
            #expect(version.failureReason == nil)
            #expect(version.createdBy == "anonymous")
            // And the model's latest version and revision moved
            let model = try await getModel(client, "resnet")
            #expect(model.latestVersion == 1)
            #expect(model.revision == 2)
        }
    }

    @Test func versionNumbersCountPerModel() async throws {
        try await withTestRegistry { client in
            // Given two models
            try await createModel(client, "a")
            try await createModel(client, "b")
            let file = [VersionFileSpec("m.bin", BlobFixture(count: 4))]
            // When versions are created in both, interleaved
            let a1 = try await pushVersion(client, model: "a", files: file)
            let b1 = try await pushVersion(client, model: "b", files: file)
            let a2 = try await pushVersion(client, model: "a", files: file)
            // Then each model numbers its own from 1
            #expect([a1.version, b1.version, a2.version] == [Int]([1, 1, 2]))
        }
    }

    @Test func createOnAnUnknownModelIs404() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await postVersion(
                client,
                model: "ghost",
                files: [VersionFileSpec("m.bin", Self.weights)]
            )
            // Then
            expectError(response, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test(arguments: [
        ("../x", "'.' and '..'"),
        ("a/../../etc/passwd", "'.' and '..'"),
        ("./x", "'.' and '..'"),
        ("/abs", "absolute"),
        ("a\\b", "backslash"),
        ("a//b", "empty components"),
        ("dir/", "empty components"),
        ("", "empty"),
        ("C:/x", "drive"),
        ("a\tb", "control"),
    ])
    func createRejectsInvalidFilePaths(_ path: String, _ reason: String) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When a version lists a file under an invalid path
            let response = try await postVersion(client, model: "resnet", files: [VersionFileSpec(path, Self.weights)])
            // Then it is 400 naming the path and why, and no version was created
            let printable = path.replacingOccurrences(of: "\t", with: "\\t")
            expectError(
                response,
                .badRequest,
                "invalid_argument",
                mentioning: ["invalid file path '\(printable)'", reason]
            )
            #expect(try await getModel(client, "resnet").latestVersion == nil)
        }
    }

    @Test func createRejectsAPathLongerThan1024Bytes() async throws {
        try await withTestRegistry { client in
            // Given a model and a 1,025-byte path made of valid components
            try await createModel(client, "resnet")
            let path =
                Array(repeating: String(repeating: "d", count: 200), count: 5).joined(separator: "/")
                + "/abcdefghijklmnopqrst"
            #expect(path.utf8.count == 1025)
            // When
            let response = try await postVersion(client, model: "resnet", files: [VersionFileSpec(path, Self.weights)])
            // Then
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid file path", "1024"])
        }
    }

    @Test func createRejectsInvalidFileLists() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            let base = "/api/v1/models/resnet/versions"
            // When the list is empty, has a duplicate, a file inside another file, a negative size, a bad digest, a bad role
            let empty = try await send(client, .post, base, json: ["files": [] as [Any]])
            let duplicate = try await postVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.weights), VersionFileSpec("m.bin", Self.onnx)]
            )
            let nested = try await postVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m", Self.weights), VersionFileSpec("m/inner.bin", Self.onnx)]
            )
            let negative = try await send(
                client,
                .post,
                base,
                json: ["files": [["path": "m.bin", "size": -1, "digest": Self.weights.digest]]]
            )
            let badDigest = try await send(
                client,
                .post,
                base,
                json: ["files": [["path": "m.bin", "size": 1, "digest": "sha256:ABC"]]]
            )
            let md5 = try await send(
                client,
                .post,
                base,
                json: ["files": [["path": "m.bin", "size": 1, "digest": "md5:d41d8cd98f00b204e9800998ecf8427e"]]]
            )
            let badRole = try await postVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.weights, role: "bias")]
            )
            let missingFiles = try await send(client, .post, base, json: ["label": "x"])
            // Then each is 400 naming the problem, and nothing was created
            expectError(empty, .badRequest, "invalid_argument", mentioning: ["at least one file"])
            expectError(duplicate, .badRequest, "invalid_argument", mentioning: ["'m.bin' is listed twice"])
            expectError(nested, .badRequest, "invalid_argument", mentioning: ["'m/inner.bin' lies inside 'm'"])
            expectError(negative, .badRequest, "invalid_argument", mentioning: ["'m.bin' has negative size -1"])
            expectError(badDigest, .badRequest, "invalid_argument", mentioning: ["invalid digest 'sha256:ABC'"])
            expectError(md5, .badRequest, "invalid_argument", mentioning: ["invalid digest 'md5:"])
            expectError(badRole, .badRequest, "invalid_argument", mentioning: ["invalid file role 'bias'"])
            expectError(missingFiles, .badRequest, "invalid_argument", mentioning: ["files"])
            #expect(try await getModel(client, "resnet").latestVersion == nil)
        }
    }

    @Test(arguments: ["123", "bad label", "-x", ".x", "a/b", String(repeating: "l", count: 129)])
    func createRejectsInvalidLabels(_ label: String) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When a version is created with an invalid label
            let response = try await postVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.weights)],
                label: label
            )
            // Then it is 400 naming the label
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid label '\(label.prefix(80))"])
        }
    }

    @Test func createRejectsInvalidMetadata() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            let files = [VersionFileSpec("m.bin", Self.weights)]
            // When format, metric name, param key, tag key, lineage or description are invalid
            let format = try await postVersion(client, model: "resnet", files: files, extra: ["format": "pickle"])
            let metric = try await postVersion(
                client,
                model: "resnet",
                files: files,
                extra: ["metrics": ["top 1": 0.5]]
            )
            let metricType = try await postVersion(
                client,
                model: "resnet",
                files: files,
                extra: ["metrics": ["acc": "high"]]
            )
            let param = try await postVersion(
                client,
                model: "resnet",
                files: files,
                extra: ["params": ["learning rate": "1"]]
            )
            let tag = try await postVersion(client, model: "resnet", files: files, extra: ["tags": ["a=b": "1"]])
            let lineage = try await postVersion(
                client,
                model: "resnet",
                files: files,
                extra: ["lineage": ["run_id": "r\u{0}"]]
            )
            let description = try await postVersion(
                client,
                model: "resnet",
                files: files,
                extra: ["description": "x\u{1B}[31m"]
            )
            // Then each is 400 naming the value
            expectError(format, .badRequest, "invalid_argument", mentioning: ["invalid format 'pickle'", "onnx"])
            expectError(metric, .badRequest, "invalid_argument", mentioning: ["invalid metric name 'top 1'"])
            expectError(metricType, .badRequest, "invalid_argument", mentioning: ["metrics"])
            expectError(param, .badRequest, "invalid_argument", mentioning: ["invalid param key 'learning rate'"])
            expectError(tag, .badRequest, "invalid_argument", mentioning: ["invalid tag key 'a=b'"])
            expectError(lineage, .badRequest, "invalid_argument", mentioning: ["run_id", "control character"])
            expectError(description, .badRequest, "invalid_argument", mentioning: ["description", "control character"])
            #expect(try await getModel(client, "resnet").latestVersion == nil)
        }
    }

    @Test func createWithADuplicateLabelIs409() async throws {
        try await withTestRegistry { client in
            // Given a version labelled 1.0
            try await createModel(client, "resnet")
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.weights)],
                label: "1.0"
            )
            // When another version takes the same label
            let response = try await postVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.onnx)],
                label: "1.0"
            )
            // Then it is refused naming the label and the version holding it
            expectError(response, .conflict, "already_exists", mentioning: ["'1.0'", "version 1"])
            #expect(try await getModel(client, "resnet").latestVersion == 1)
        }
    }

    @Test func getAnswersTheVersion() async throws {
        try await withTestRegistry { client in
            // Given a version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)], label: "x1")
            // When it is read
            let version = try await getVersion(client, model: "resnet", version: 1)
            // Then
            #expect(version.label == "x1")
            #expect(version.files.map(\.path) == ["m.bin"])
        }
    }

    @Test func getErrors() async throws {
        try await withTestRegistry { client in
            // Given a model with one version and one without
            try await createModel(client, "resnet")
            try await createModel(client, "empty")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            // When reading a missing version, a version of a model that has none, of an unknown model, and bad numbers
            let missing = try await send(client, .get, "/api/v1/models/resnet/versions/9")
            let none = try await send(client, .get, "/api/v1/models/empty/versions/1")
            let unknownModel = try await send(client, .get, "/api/v1/models/ghost/versions/1")
            // Then the misses are 404 naming what exists
            expectError(missing, .notFound, "not_found", mentioning: ["has no version 9", "latest is 1"])
            expectError(none, .notFound, "not_found", mentioning: ["has no version 1", "no versions yet"])
            expectError(unknownModel, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test(arguments: ["0", "-1", "abc", "1.5", "99999999999999999999"])
    func getWithAnInvalidVersionNumberIs400(_ number: String) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When the version in the path is not a positive integer
            let get = try await send(client, .get, "/api/v1/models/resnet/versions/\(number)")
            let commit = try await send(client, .post, "/api/v1/models/resnet/versions/\(number)/commit")
            // Then it is 400 naming it
            expectError(get, .badRequest, "invalid_argument", mentioning: ["invalid version '\(number)'"])
            expectError(commit, .badRequest, "invalid_argument", mentioning: ["invalid version '\(number)'"])
        }
    }

    @Test func listIsNewestFirstAndFilters() async throws {
        try await withTestRegistry { client in
            // Given three versions
            try await threeVersions(client)
            // When listing with each filter
            let all = try await listVersions(client, "resnet")
            let ascending = try await listVersions(client, "resnet", "?order=asc")
            let ready = try await listVersions(client, "resnet", "?status=ready")
            let pending = try await listVersions(client, "resnet", "?status=PENDING")
            let staging = try await listVersions(client, "resnet", "?stage=staging")
            let label = try await listVersions(client, "resnet", "?label=a")
            let team = try await listVersions(client, "resnet", "?tag=team")
            let vision = try await listVersions(client, "resnet", "?tag=team%3Dvision")
            let accurate = try await listVersions(client, "resnet", "?metric=accuracy%3E%3D0.95")
            let lessAccurate = try await listVersions(client, "resnet", "?metric=accuracy%3C0.9")
            let combined = try await listVersions(client, "resnet", "?metric=accuracy%3E0.9&status=READY")
            // Then
            #expect(all.versions.map(\.version) == [3, 2, 1])
            #expect(all.nextPageToken == nil)
            #expect(ascending.versions.map(\.version) == [1, 2, 3])
            #expect(ready.versions.map(\.version) == [2, 1])
            #expect(pending.versions.map(\.version) == [3])
            #expect(staging.versions.map(\.version) == [2])
            #expect(label.versions.map(\.version) == [1])
            #expect(team.versions.map(\.version) == [3, 1])
            #expect(vision.versions.map(\.version) == [1])
            #expect(accurate.versions.map(\.version) == [3, 2])
            #expect(lessAccurate.versions.map(\.version) == [1])
            #expect(combined.versions.map(\.version) == [2])
        }
    }

    @Test(arguments: ["", "&order=asc"])
    func listPagesWithNextPageToken(_ order: String) async throws {
        try await withTestRegistry { client in
            // Given five versions
            try await createModel(client, "resnet")
            for seed in 1...5 {
                try await pushVersion(
                    client,
                    model: "resnet",
                    files: [VersionFileSpec("m.bin", BlobFixture(count: 8, seed: UInt64(seed)))]
                )
            }
            // When listing two at a time, following next_page_token
            var pages: [[Int]] = []
            var token: String?
            repeat {
                let page = try await listVersions(
                    client,
                    "resnet",
                    "?limit=2\(order)" + (token.map { "&page_token=\(segment($0))" } ?? "")
                )
                pages.append(page.versions.map(\.version))
                token = page.nextPageToken
            } while token != nil && pages.count < 10
            // Then the pages cover every version once, in the requested order
            #expect(pages == (order.isEmpty ? [[5, 4], [3, 2], [1]] : [[1, 2], [3, 4], [5]]))
        }
    }

    @Test(arguments: [
        ("?order=sideways", "invalid order 'sideways'"),
        ("?status=DONE", "invalid status 'DONE'"),
        ("?stage=gold", "invalid stage 'gold'"),
        ("?label=123", "invalid label '123'"),
        ("?tag=a%20b", "invalid tag filter key 'a b'"),
        ("?metric=accuracy", "invalid metric filter 'accuracy'"),
        ("?metric=accuracy%3E%3Dhigh", "invalid metric filter 'accuracy>=high'"),
        ("?metric=%3E0.5", "invalid metric name ''"),
        ("?limit=0", "invalid limit 0"),
        ("?limit=5000", "invalid limit 5000"),
        ("?page_token=%25%25%25", "invalid page_token '%%%'"),
        ("?page_token=eHl6", "invalid page_token 'eHl6'"),
    ])
    func listRejectsInvalidQueryParameters(_ query: String, _ fragment: String) async throws {
        try await withTestRegistry { client in
            // Given a model with a version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            // When listing with an invalid parameter ("eHl6" is valid base64 of "xyz", not a version token)
            let response = try await send(client, .get, "/api/v1/models/resnet/versions\(query)")
            // Then it is 400 naming the value
            expectError(response, .badRequest, "invalid_argument", mentioning: [fragment])
        }
    }

    @Test func listOfUnknownModelIs404() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await send(client, .get, "/api/v1/models/ghost/versions")
            // Then
            expectError(response, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test func patchUpdatesDescriptionTagsAndMetrics() async throws {
        try await withTestRegistry { client in
            // Given a READY version with tags and a metric
            try await createModel(client, "resnet")
            try await readyVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("model.onnx", Self.onnx)],
                extra: ["tags": ["team": "vision", "tier": "gold"], "metrics": ["accuracy": 0.9]]
            )
            // When its metadata is changed
            let response = try await updateVersion(
                client,
                "resnet",
                1,
                [
                    "description": "tuned", "tags": ["owner": "bob"], "remove_tags": ["tier"],
                    "metrics": ["accuracy": 0.91, "f1": 0.8],
                ]
            )
            // Then the answer and a fresh read show the change; content and status are untouched
            try expectStatus(response, .ok)
            let updated = try response.decode(APIVersion.self)
            #expect(updated.description == "tuned")
            #expect(updated.tags == ["team": "vision", "owner": "bob"])
            #expect(updated.metrics == ["accuracy": 0.91, "f1": 0.8])
            let fetched = try await getVersion(client, model: "resnet", version: 1)
            #expect(fetched.tags == ["team": "vision", "owner": "bob"])
            #expect(fetched.metrics == ["accuracy": 0.91, "f1": 0.8])
            #expect(fetched.status == "READY")
            #expect(fetched.files.map(\.digest) == [Self.onnx.digest])
            // And the history has a version.updated event
            #expect(try await history(client, model: "resnet").events.first?.kind == "version.updated")
        }
    }

    @Test func patchErrors() async throws {
        try await withTestRegistry { client in
            // Given a version
            try await createModel(client, "resnet")
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.weights)],
                extra: ["tags": ["team": "x"]]
            )
            // When patching a missing version, with a bad metric name, a bad tag key, a bad key to remove, a bad type
            let missing = try await updateVersion(client, "resnet", 7, ["description": "x"])
            let metric = try await updateVersion(client, "resnet", 1, ["metrics": ["bad metric": 1]])
            let tag = try await updateVersion(client, "resnet", 1, ["tags": ["bad tag": "x"]])
            let remove = try await updateVersion(client, "resnet", 1, ["remove_tags": ["bad/ok", "no good"]])
            let type = try await updateVersion(client, "resnet", 1, ["metrics": ["acc": true]])
            // Then
            expectError(missing, .notFound, "not_found", mentioning: ["has no version 7"])
            expectError(metric, .badRequest, "invalid_argument", mentioning: ["invalid metric name 'bad metric'"])
            expectError(tag, .badRequest, "invalid_argument", mentioning: ["invalid tag key 'bad tag'"])
            expectError(remove, .badRequest, "invalid_argument", mentioning: ["'no good'"])
            expectError(type, .badRequest, "invalid_argument", mentioning: ["metrics"])
            // And nothing changed
            #expect(try await getVersion(client, model: "resnet", version: 1).tags == ["team": "x"])
        }
    }

    @Test(arguments: ["{}", "{\"tags\": {}, \"remove_tags\": [], \"metrics\": {}}", "{\"label\": \"x\"}"])
    func patchThatChangesNothingIs400(_ body: String) async throws {
        try await withTestRegistry { client in
            // Given a version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            let revision = try await getModel(client, "resnet").revision
            // When it is patched with nothing to change (labels cannot be patched: ignored)
            let response = try await send(
                client,
                .patch,
                "/api/v1/models/resnet/versions/1",
                body: ByteBuffer(string: body)
            )
            // Then it is refused and the revision did not move
            expectError(response, .badRequest, "invalid_argument", mentioning: ["nothing to update", "metrics"])
            #expect(try await getModel(client, "resnet").revision == revision)
        }
    }

    @Test func patchIgnoresIfMatch() async throws {
        try await withTestRegistry { client in
            // Given a version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            // When it is patched with a stale If-Match
            let response = try await send(
                client,
                .patch,
                "/api/v1/models/resnet/versions/1",
                json: ["description": "x"],
                headers: [.ifMatch: "\"1\""]
            )
            // Then the header is not looked at (as documented)
            try expectStatus(response, .ok)
            #expect(try response.decode(APIVersion.self).description == "x")
        }
    }

    @Test func commitMakesTheVersionReadyAndDetectsTheFormat() async throws {
        try await withTestRegistry { client in
            // Given a PENDING version whose blobs are all uploaded
            try await createModel(client, "resnet")
            try await pushVersion(
                client,
                model: "resnet",
                files: [
                    VersionFileSpec("model.onnx", Self.onnx),
                    VersionFileSpec("vocab.txt", Self.weights, role: "labels"),
                ]
            )
            try await uploadBlob(client, Self.onnx)
            try await uploadBlob(client, Self.weights)
            // When it is committed
            let response = try await commitVersion(client, model: "resnet", version: 1)
            // Then it is READY with the detected format
            try expectStatus(response, .ok)
            let version = try response.decode(APIVersion.self)
            #expect(version.status == "READY")
            #expect(version.format == "onnx")
            // And committing again is harmless
            let again = try await commitVersion(client, model: "resnet", version: 1)
            try expectStatus(again, .ok)
            #expect(try again.decode(APIVersion.self).status == "READY")
            let events = try await history(client, model: "resnet").events
            #expect(events.filter { $0.kind == "version.committed" }.count == 1)
        }
    }

    @Test func commitWithoutFormatOfUnknownBytesIsCustom() async throws {
        try await withTestRegistry { client in
            // Given a version of opaque bytes
            try await createModel(client, "resnet")
            let version = try await readyVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("blob.bin", Self.weights)]
            )
            // Then its format is custom
            #expect(version.format == "custom")
        }
    }

    @Test func commitWithMissingBlobsIs422AndTheVersionStaysPending() async throws {
        try await withTestRegistry { client in
            // Given a version of two files of which only one blob was uploaded
            try await createModel(client, "resnet")
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("model.onnx", Self.onnx), VersionFileSpec("weights.bin", Self.weights)]
            )
            try await uploadBlob(client, Self.onnx)
            // When it is committed
            let response = try await commitVersion(client, model: "resnet", version: 1)
            // Then it is 422 blobs_missing naming the missing file and digest, with the digest in details
            expectError(
                response,
                .unprocessableContent,
                "blobs_missing",
                mentioning: ["weights.bin", Self.weights.digest, "1 file(s)"]
            )
            #expect(response.apiError?.details?["missing"] == Self.weights.digest)
            #expect(response.apiError?.message.contains("model.onnx") == false)
            // And the version is still PENDING
            #expect(try await getVersion(client, model: "resnet", version: 1).status == "PENDING")
            // When the missing blob is uploaded and the version committed again
            try await uploadBlob(client, Self.weights)
            let retried = try await commitVersion(client, model: "resnet", version: 1)
            // Then it becomes READY
            try expectStatus(retried, .ok)
            #expect(try retried.decode(APIVersion.self).status == "READY")
        }
    }

    @Test func commitWithASizeMismatchIs422IntegrityFailure() async throws {
        try await withTestRegistry { client in
            // Given a version that declares a wrong size for an uploaded blob
            try await createModel(client, "resnet")
            try await uploadBlob(client, Self.weights)
            try await send(
                client,
                .post,
                "/api/v1/models/resnet/versions",
                json: ["files": [["path": "w.bin", "size": Self.weights.size + 1, "digest": Self.weights.digest]]]
            )
            // When it is committed
            let response = try await commitVersion(client, model: "resnet", version: 1)
            // Then it is 422 integrity_failure naming the file and both sizes, and it stays PENDING
            expectError(
                response,
                .unprocessableContent,
                "integrity_failure",
                mentioning: ["'w.bin'", "\(Self.weights.size + 1) bytes", "has \(Self.weights.size)"]
            )
            #expect(try await getVersion(client, model: "resnet", version: 1).status == "PENDING")
        }
    }

    @Test func commitWithAContradictingDeclaredFormatIs400() async throws {
        try await withTestRegistry { client in
            // Given a version declared hdf5 whose file is ONNX
            try await createModel(client, "resnet")
            try await uploadBlob(client, Self.onnx)
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("model.onnx", Self.onnx)],
                extra: ["format": "hdf5"]
            )
            // When it is committed
            let response = try await commitVersion(client, model: "resnet", version: 1)
            // Then it is refused naming both formats, and stays PENDING
            expectError(
                response,
                .badRequest,
                "invalid_argument",
                mentioning: ["declares format hdf5", "files are onnx"]
            )
            #expect(try await getVersion(client, model: "resnet", version: 1).status == "PENDING")
        }
    }

    @Test func commitKeepsADeclaredCustomFormat() async throws {
        try await withTestRegistry { client in
            // Given a version declared custom whose file is ONNX
            try await createModel(client, "resnet")
            let version = try await readyVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("model.onnx", Self.onnx)],
                extra: ["format": "custom"]
            )
            // Then the declared format is kept
            #expect(version.format == "custom")
        }
    }

    @Test func commitErrors() async throws {
        try await withTestRegistry { client in
            // Given a FAILED version
            try await createModel(client, "resnet")
            try await uploadBlob(client, Self.weights)
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            try expectStatus(try await failVersion(client, "resnet", 1, reason: "training diverged"), .ok)
            // When it is committed, and a missing version and a version of an unknown model are committed
            let failed = try await commitVersion(client, model: "resnet", version: 1)
            let missing = try await commitVersion(client, model: "resnet", version: 2)
            let unknown = try await commitVersion(client, model: "ghost", version: 1)
            // Then
            expectError(failed, .conflict, "conflict", mentioning: ["FAILED"])
            expectError(missing, .notFound, "not_found", mentioning: ["has no version 2"])
            expectError(unknown, .notFound, "not_found", mentioning: ["'ghost'"])
            #expect(try await getVersion(client, model: "resnet", version: 1).status == "FAILED")
        }
    }

    @Test func failMarksAPendingVersionFailedWithItsReason() async throws {
        try await withTestRegistry { client in
            // Given a PENDING version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            // When it is marked failed
            let response = try await failVersion(client, "resnet", 1, reason: "upload aborted")
            // Then it is FAILED with the reason, and the history says so
            try expectStatus(response, .ok)
            let version = try response.decode(APIVersion.self)
            #expect(version.status == "FAILED")
            #expect(version.failureReason == "upload aborted")
            let event = try #require(try await history(client, model: "resnet").events.first)
            #expect(event.kind == "version.failed")
            #expect(event.comment == "upload aborted")
        }
    }

    @Test func failErrors() async throws {
        try await withTestRegistry { client in
            // Given a READY version and a PENDING one
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.weights)])
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", Self.onnx)])
            // When the READY one is failed, or with no reason, or a reason with a control character
            let ready = try await failVersion(client, "resnet", 1, reason: "late")
            let noReason = try await send(client, .post, "/api/v1/models/resnet/versions/2/fail", json: [String: Any]())
            let badReason = try await failVersion(client, "resnet", 2, reason: "bad\u{0}")
            let missing = try await failVersion(client, "resnet", 3, reason: "x")
            // Then
            expectError(ready, .conflict, "conflict", mentioning: ["READY", "only a PENDING version"])
            expectError(noReason, .badRequest, "invalid_argument", mentioning: ["reason"])
            expectError(badReason, .badRequest, "invalid_argument", mentioning: ["reason", "control character"])
            expectError(missing, .notFound, "not_found", mentioning: ["has no version 3"])
            #expect(try await getVersion(client, model: "resnet", version: 1).status == "READY")
            #expect(try await getVersion(client, model: "resnet", version: 2).status == "PENDING")
        }
    }

    @Test func filesOfAReadyVersionDownloadWithRangesAndHead() async throws {
        try await withTestRegistry { client in
            // Given a READY version with a nested file
            try await createModel(client, "resnet")
            try await readyVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("model.onnx", Self.onnx), VersionFileSpec("weights/part-1.bin", Self.weights)]
            )
            let base = "/api/v1/models/resnet/versions/1/files"
            // When the files are downloaded, one with a range and one with HEAD
            let top = try await send(client, .get, "\(base)/model.onnx")
            let nested = try await send(client, .get, "\(base)/weights/part-1.bin")
            let range = try await send(client, .get, "\(base)/weights/part-1.bin", headers: [.range: "bytes=100-149"])
            let head = try await send(client, .head, "\(base)/model.onnx")
            // Then the bytes and headers are those of the blobs
            try expectStatus(top, .ok)
            #expect(top.bytes == Self.onnx.bytes)
            #expect(top.headers[.eTag] == "\"\(Self.onnx.digest)\"")
            #expect(top.headers[contentDigestField] == Self.onnx.digest)
            #expect(top.headers[.contentType] == "application/octet-stream")
            #expect(nested.bytes == Self.weights.bytes)
            #expect(range.status == .partialContent)
            #expect(range.bytes == Array(Self.weights.bytes[100...149]))
            #expect(range.headers[.contentRange] == "bytes 100-149/\(Self.weights.size)")
            #expect(head.status == .ok)
            #expect(head.headers[.eTag] == "\"\(Self.onnx.digest)\"")
            #expect(head.body.readableBytes == 0)
            let cached = try await send(
                client,
                .get,
                "\(base)/model.onnx",
                headers: [.ifNoneMatch: "\"\(Self.onnx.digest)\""]
            )
            #expect(cached.status == .notModified)
            #expect(cached.body.readableBytes == 0)
        }
    }

    @Test
    func headOfAFileAnnouncesItsSize() async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", files: [VersionFileSpec("model.onnx", Self.onnx)])
            // When one of its files is asked with HEAD
            let head = try await send(client, .head, "/api/v1/models/resnet/versions/1/files/model.onnx")
            // Then its size is announced
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == String(Self.onnx.size))
        }
    }

    @Test func filePathsWithSpacesAndUnicodeArePercentDecoded() async throws {
        try await withTestRegistry { client in
            // Given a READY version with files whose names need percent-encoding
            try await createModel(client, "resnet")
            try await readyVersion(
                client,
                model: "resnet",
                files: [
                    VersionFileSpec("my model/wéights 1.bin", Self.weights), VersionFileSpec("model.onnx", Self.onnx),
                ]
            )
            // When they are downloaded with encoded segments, and with an empty segment
            let encoded = try await send(
                client,
                .get,
                "/api/v1/models/resnet/versions/1/files/my%20model/w%C3%A9ights%201.bin"
            )
            let doubleSlash = try await send(
                client,
                .get,
                "/api/v1/models/resnet/versions/1/files/my%20model//w%C3%A9ights%201.bin"
            )
            // Then both find the file
            try expectStatus(encoded, .ok)
            #expect(encoded.bytes == Self.weights.bytes)
            try expectStatus(doubleSlash, .ok)
        }
    }

    @Test func filesDownloadErrors() async throws {
        try await withTestRegistry { client in
            // Given a READY version 1 and a PENDING version 2 whose blob is uploaded
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", files: [VersionFileSpec("model.onnx", Self.onnx)])
            try await uploadBlob(client, Self.weights)
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("w.bin", Self.weights)])
            let base = "/api/v1/models/resnet/versions"
            // When an unknown file, a file of a PENDING version, a missing version, a bad range and a traversal are asked
            let unknown = try await send(client, .get, "\(base)/1/files/other.bin")
            let pending = try await send(client, .get, "\(base)/2/files/w.bin")
            let missing = try await send(client, .get, "\(base)/3/files/w.bin")
            let badRange = try await send(
                client,
                .get,
                "\(base)/1/files/model.onnx",
                headers: [.range: "bytes=\(Self.onnx.size)-"]
            )
            let traversal = try await send(client, .get, "\(base)/1/files/%2E%2E/x")
            let backslash = try await send(client, .get, "\(base)/1/files/a%5Cb")
            // Then
            expectError(unknown, .notFound, "not_found", mentioning: ["no file 'other.bin'"])
            expectError(pending, .notFound, "not_found", mentioning: ["'w.bin'", "PENDING"])
            expectError(missing, .notFound, "not_found", mentioning: ["has no version 3"])
            expectError(
                badRange,
                .rangeNotSatisfiable,
                "range_not_satisfiable",
                mentioning: ["\(Self.onnx.size) bytes"]
            )
            expectError(traversal, .badRequest, "invalid_argument", mentioning: ["invalid file path '../x'"])
            expectError(backslash, .badRequest, "invalid_argument", mentioning: ["invalid file path 'a\\b'"])
        }
    }

    @Test func labelsResolveToTheirVersion() async throws {
        try await withTestRegistry { client in
            // Given two labelled versions
            try await createModel(client, "resnet")
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.weights)],
                label: "1.0.0"
            )
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", Self.onnx)],
                label: "1.1.0+build.7"
            )
            // When each label is resolved
            let first = try await send(client, .get, "/api/v1/models/resnet/labels/1.0.0")
            let second = try await send(client, .get, "/api/v1/models/resnet/labels/1.1.0%2Bbuild.7")
            // Then
            try expectStatus(first, .ok)
            try expectStatus(second, .ok)
            #expect(try first.decode(APIVersion.self).version == 1)
            #expect(try second.decode(APIVersion.self).version == 2)
        }
    }

    @Test func labelErrors() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When resolving an unknown label, an invalid one, and a label of an unknown model
            let unknown = try await send(client, .get, "/api/v1/models/resnet/labels/nope")
            let invalid = try await send(client, .get, "/api/v1/models/resnet/labels/42")
            let model = try await send(client, .get, "/api/v1/models/ghost/labels/nope")
            // Then
            expectError(unknown, .notFound, "not_found", mentioning: ["no version labelled 'nope'"])
            expectError(invalid, .badRequest, "invalid_argument", mentioning: ["invalid label '42'"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }
}
