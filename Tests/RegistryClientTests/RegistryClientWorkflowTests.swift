import Foundation
import RegistryClient
import TestSupport
import Testing

/// The client against the real registry: the push → promote → alias → rollback → history flow, and every error
/// mapping.
@Suite struct RegistryClientWorkflowTests {
    /// Uploads `blob` and creates and commits a version holding it as `model.onnx`.
    func pushVersion(
        _ client: RegistryClient,
        _ model: String,
        _ blob: BlobFixture,
        in directory: URL
    ) async throws
        -> RemoteVersion
    {
        let file = try write(blob, in: directory)
        _ = try await client.uploadBlob(digest: blob.digest, from: file)
        let version = try await client.createVersion(
            model: model,
            NewRemoteVersion(files: [RemoteFile(path: "model.onnx", size: Int64(blob.size), digest: blob.digest)])
        )
        return try await client.commitVersion(model: model, version: version.version)
    }

    // MARK: Tests

    @Test func pushPromoteAliasRollbackAndHistory() async throws {
        try await withLiveRegistry { client, directory in
            // Given a model and a blob uploaded from a file
            let created = try await client.createModel(name: "resnet", description: "vision", tags: ["team": "cv"])
            #expect(created.revision == 1)
            #expect(created.tags == ["team": "cv"])
            let blob = BlobFixture.onnx(count: 4096, seed: 1)
            let file = try write(blob, in: directory)
            let progress = ProgressLog()
            let uploaded = try await client.uploadBlob(digest: blob.digest, from: file, progress: progress.progress)
            #expect(uploaded == RemoteBlob(digest: blob.digest, size: 4096, created: true))
            #expect(progress.all.last?.completed == 4096)
            #expect(try await client.uploadBlob(digest: blob.digest, from: file).created == false)
            #expect(try await client.blobExists(digest: blob.digest))

            // When a version is created and committed
            let pending = try await client.createVersion(
                model: "resnet",
                NewRemoteVersion(
                    files: [RemoteFile(path: "model.onnx", size: 4096, digest: blob.digest, role: "model")],
                    label: "1.0.0-a",
                    metrics: ["accuracy": 0.91],
                    lineage: RemoteLineage(runID: "run-1")
                )
            )
            #expect(pending.version == 1)
            #expect(pending.status == .pending)
            let ready = try await client.commitVersion(model: "resnet", version: 1)
            #expect(ready.status == .ready)
            #expect(ready.metrics == ["accuracy": 0.91])
            #expect(ready.lineage.runID == "run-1")
            #expect(try await client.files(model: "resnet", version: 1) == ready.files)
            #expect(try await client.version(model: "resnet", label: "1.0.0-a").version == 1)

            // And promoted to Production, then replaced by version 2 which archives it
            let first = try await client.setStage(model: "resnet", version: 1, stage: .production, comment: "go")
            #expect(first.to == [1])
            let second = try await pushVersion(client, "resnet", BlobFixture.onnx(count: 2048, seed: 2), in: directory)
            let model = try await client.model(named: "resnet")
            let swap = try await client.setStage(
                model: "resnet",
                version: second.version,
                stage: .production,
                archiveExisting: true,
                ifMatch: model.revision
            )
            #expect(swap.from == [1])
            #expect(swap.to == [2])
            #expect(swap.moves.contains { $0.version == 1 && $0.from == .production && $0.to == .archived })

            // And aliased
            let alias = try await client.setAlias(model: "resnet", alias: "champion", version: 2)
            #expect(alias.from == nil)
            #expect(alias.to == 2)
            #expect(try await client.version(model: "resnet", alias: "champion").version == 2)
            _ = try await client.setAlias(model: "resnet", alias: "champion", version: 1)
            #expect(try await client.aliases(model: "resnet").aliases == ["champion": 1])

            // Then rollbacks return the previous holders
            let stageRollback = try await client.rollbackStage(model: "resnet", stage: .production)
            #expect(stageRollback.to == [1])
            #expect(try await client.version(model: "resnet", stage: .production).version == 1)
            let aliasRollback = try await client.rollbackAlias(model: "resnet", alias: "champion", comment: "oops")
            #expect(aliasRollback.to == 2)
            let deleted = try await client.deleteAlias(model: "resnet", alias: "champion")
            #expect(deleted.to == nil)

            // And the history records every step, newest first
            let history = try await client.history(model: "resnet")
            let kinds = history.events.map(\.kind)
            #expect(kinds.first == "alias.deleted")
            #expect(kinds.contains("stage.rolled_back"))
            #expect(kinds.contains("alias.rolled_back"))
            #expect(kinds.last == "model.created")
            let page = try await client.history(model: "resnet", limit: 2)
            #expect(page.events.count == 2)
            #expect(page.nextBefore != nil)
        }
    }

    @Test func listsAndUpdates() async throws {
        try await withLiveRegistry { client, directory in
            // Given two models, one with two versions
            _ = try await client.createModel(name: "alpha", tags: ["team": "a"])
            _ = try await client.createModel(name: "beta")
            _ = try await pushVersion(client, "alpha", BlobFixture.onnx(count: 100, seed: 3), in: directory)
            _ = try await pushVersion(client, "alpha", BlobFixture.onnx(count: 100, seed: 4), in: directory)
            // When they are listed with filters and pages
            let all = try await client.listModels(limit: 1)
            let byTag = try await client.listModels(tags: ["team=a"])
            let byPrefix = try await client.listModels(prefix: "be")
            let versions = try await client.listVersions(model: "alpha", status: .ready, ascending: true)
            // Then the filters apply
            #expect(all.models.map(\.name) == ["alpha"])
            let token: String = try #require(all.nextPageToken)
            let next = try await client.listModels(limit: 1, pageToken: token)
            #expect(next.models.map(\.name) == ["beta"])
            #expect(byTag.models.map(\.name) == ["alpha"])
            #expect(byPrefix.models.map(\.name) == ["beta"])
            #expect(versions.versions.map(\.version) == [1, 2])

            // And updates change metadata under If-Match
            let model = try await client.model(named: "alpha")
            let updated = try await client.updateModel(
                named: "alpha",
                description: "new",
                removeTags: ["team"],
                ifMatch: model.revision
            )
            #expect(updated.description == "new")
            #expect(updated.tags.isEmpty)
            #expect(updated.revision == model.revision + 1)
            let version = try await client.updateVersion(model: "alpha", version: 1, metrics: ["f1": 0.5])
            #expect(version.metrics["f1"] == 0.5)
            try await client.deleteModel(named: "beta", ifMatch: try await client.model(named: "beta").revision)
            #expect(try await client.listModels().models.map(\.name) == ["alpha"])
        }
    }

    @Test func failMarksAPendingVersionFailed() async throws {
        try await withLiveRegistry { client, _ in
            _ = try await client.createModel(name: "m")
            let blob = BlobFixture(count: 10)
            _ = try await client.createVersion(
                model: "m",
                NewRemoteVersion(files: [RemoteFile(path: "w.bin", size: 10, digest: blob.digest)])
            )
            let failed = try await client.failVersion(model: "m", version: 1, reason: "training diverged")
            #expect(failed.status == .failed)
            #expect(failed.failureReason == "training diverged")
        }
    }

    @Test func systemRoutes() async throws {
        try await withLiveRegistry { client, _ in
            let health = try await client.health()
            #expect(health.status == "ok")
            #expect(health.server == "modelctl")
            #expect(try await client.readiness().status == "ready")
            #expect(try await client.metrics().contains("modelctl_http_requests_total"))
            #expect(try await client.openAPIDocument().hasPrefix("openapi: 3.1.0"))
        }
    }

    // MARK: Errors

    @Test func unknownModelIsNotFoundNamingIt() async throws {
        try await withLiveRegistry { client, _ in
            let error = try await expectClientError { _ = try await client.model(named: "no-such-model") }
            #expect(error.code == .notFound)
            #expect(error.status == 404)
            #expect(error.serverCode == "not_found")
            #expect(error.message.contains("no-such-model"))
            #expect(error.description == error.message)
        }
    }

    @Test func takenNameIsConflictAlreadyExists() async throws {
        try await withLiveRegistry { client, _ in
            _ = try await client.createModel(name: "dup")
            let error = try await expectClientError { _ = try await client.createModel(name: "dup") }
            #expect(error.code == .conflict)
            #expect(error.status == 409)
            #expect(error.serverCode == "already_exists")
        }
    }

    @Test func staleIfMatchIsPreconditionFailedWithTheCurrentRevision() async throws {
        try await withLiveRegistry { client, _ in
            // Given a model changed since revision 1 was read
            _ = try await client.createModel(name: "m")
            _ = try await client.updateModel(named: "m", description: "changed")
            // When a change is sent with If-Match: "1"
            let error = try await expectClientError {
                _ = try await client.updateModel(named: "m", description: "mine", ifMatch: 1)
            }
            // Then the registry's 409 conflict is a precondition failure naming the current revision
            #expect(error.code == .preconditionFailed)
            #expect(error.status == 409)
            #expect(error.serverCode == "conflict")
            #expect(error.currentRevision == 2)
        }
    }

    @Test func modelInUseIsConflict() async throws {
        try await withLiveRegistry { client, directory in
            // Given a model with an alias
            _ = try await client.createModel(name: "m")
            _ = try await pushVersion(client, "m", BlobFixture.onnx(count: 64, seed: 6), in: directory)
            _ = try await client.setAlias(model: "m", alias: "champion", version: 1)
            // When it is deleted without force
            let error = try await expectClientError { try await client.deleteModel(named: "m") }
            // Then it is a plain conflict (no If-Match was sent)
            #expect(error.code == .conflict)
            #expect(error.status == 409)
            #expect(error.serverCode == "conflict")
            #expect(error.message.contains("champion"))
        }
    }

    @Test func digestMismatchIsIntegrity() async throws {
        try await withLiveRegistry { client, directory in
            let file = try write(BlobFixture(count: 100, seed: 1), in: directory)
            let wrong = BlobFixture(count: 100, seed: 2).digest
            let error = try await expectClientError { _ = try await client.uploadBlob(digest: wrong, from: file) }
            #expect(error.code == .integrity)
            #expect(error.status == 422)
            #expect(error.serverCode == "integrity_failure")
            #expect(error.details["expected"] == wrong)
        }
    }

    @Test func malformedNameIsInvalidArgument() async throws {
        try await withLiveRegistry { client, _ in
            let error = try await expectClientError { _ = try await client.createModel(name: "bad name!") }
            #expect(error.code == .invalidArgument)
            #expect(error.status == 400)
            #expect(error.serverCode == "invalid_argument")
        }
    }

    @Test func commitWithoutBlobsIsBlobsMissing() async throws {
        try await withLiveRegistry { client, _ in
            _ = try await client.createModel(name: "m")
            let blob = BlobFixture(count: 10, seed: 5)
            _ = try await client.createVersion(
                model: "m",
                NewRemoteVersion(files: [RemoteFile(path: "w.bin", size: 10, digest: blob.digest)])
            )
            let error = try await expectClientError { _ = try await client.commitVersion(model: "m", version: 1) }
            #expect(error.code == .blobsMissing)
            #expect(error.status == 422)
            #expect(error.details["missing"]?.contains(blob.digest) == true)
        }
    }
}
