import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// The MLflow handlers check the caller's role on the model they name, as the v1 API does: reader to read, writer to
/// create and edit, promoter for stages and aliases, admin to delete or rename. Renames and deletes keep the audit
/// trail.
@Suite struct MLflowPermissionsTests {
    /// Tokens of principals holding each role on `vision-*`.
    struct Callers {
        var admin: String
        var reader: String
        var writer: String
        var promoter: String
        var modelAdmin: String
    }

    /// A registry with tokens on: `vision-a` (versions 1 and 2) and `other-x` (version 1), pushed by the admin, and a
    /// principal per role on `vision-*`.
    func withFixtures(_ test: @escaping @Sendable (APIClient, Callers) async throws -> Void) async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            try await createModel(client, token: admin, "vision-a")
            try await readyVersion(client, token: admin, model: "vision-a", blob: .onnx(seed: 71))
            try await readyVersion(client, token: admin, model: "vision-a", blob: .onnx(seed: 72))
            try await createModel(client, token: admin, "other-x")
            try await readyVersion(client, token: admin, model: "other-x", blob: .onnx(seed: 73))
            var tokens: [String: String] = [:]
            for (principal, role) in [("rita", "reader"), ("will", "writer"), ("pat", "promoter"), ("ada", "admin")] {
                tokens[role] = try await tokenWithRole(
                    client,
                    admin: admin,
                    principal: principal,
                    role: role,
                    pattern: "vision-*"
                )
            }
            try await test(
                client,
                Callers(
                    admin: admin,
                    reader: tokens["reader"]!,
                    writer: tokens["writer"]!,
                    promoter: tokens["promoter"]!,
                    modelAdmin: tokens["admin"]!
                )
            )
        }
    }

    /// A run of `token` with a model directory uploaded; returns its `runs:/` URI.
    func runSource(_ client: APIClient, token: String) async throws -> String {
        let run = try await mlflowCreateRun(client, token: token)
        try await mlflowUpload(
            client,
            mlflowModelFiles(seed: 74),
            under: "\(mlflowArtifactPath(of: run.info.artifactUri))/model",
            token: token
        )
        return "runs:/\(run.info.runId)/model"
    }

    // MARK: Tests

    @Test func aWriterOfAPatternCannotCreateVersionsOfOtherModels() async throws {
        try await withFixtures { client, callers in
            // Given a writer of vision-* with a run holding a model
            let source = try await runSource(client, token: callers.writer)
            // When it creates a version of vision-a and one of other-x
            let allowed = try await mlflowPostVersion(client, model: "vision-a", source: source, token: callers.writer)
            let refused = try await mlflowPostVersion(client, model: "other-x", source: source, token: callers.writer)
            // Then vision-a gets version 3 and other-x is 403 PERMISSION_DENIED, left with its one version
            try expectStatus(allowed, .ok)
            #expect(try allowed.decode(MLflowModelVersionAnswer.self).modelVersion.version == "3")
            expectMLflowError(refused, .forbidden, "PERMISSION_DENIED", mentioning: ["other-x"])
            #expect(try await v1VersionNumbers(client, model: "other-x", token: callers.admin) == [1])
            // And it cannot register a model outside its pattern either
            let create = try await mlflow(
                client,
                .post,
                "registered-models/create",
                ["name": "other-y"],
                token: callers.writer
            )
            expectMLflowError(create, .forbidden, "PERMISSION_DENIED", mentioning: ["other-y"])
        }
    }

    @Test func aWriterCannotCopyAVersionOfAModelItMayNotRead() async throws {
        try await withFixtures { client, callers in
            // Given / When a writer of vision-* creates a version of vision-a from models:/other-x/1
            let response = try await mlflowPostVersion(
                client,
                model: "vision-a",
                source: "models:/other-x/1",
                token: callers.writer
            )
            // Then it is 403 PERMISSION_DENIED naming the model it may not read, and vision-a is unchanged
            expectMLflowError(response, .forbidden, "PERMISSION_DENIED", mentioning: ["other-x"])
            #expect(try await v1VersionNumbers(client, model: "vision-a", token: callers.admin) == [2, 1])
            // And it may not copy it through the registry view's URI
            let viaView = try await mlflowPostVersion(
                client,
                model: "vision-a",
                source: "mlflow-artifacts:/registry/other-x/1",
                token: callers.writer
            )
            expectMLflowError(viaView, .forbidden, "PERMISSION_DENIED", mentioning: ["other-x"])
            #expect(try await v1VersionNumbers(client, model: "vision-a", token: callers.admin) == [2, 1])
            // And it may not read other-x's files through the registry view either
            let view = try await mlflowArtifact(client, .get, "registry/other-x/1/model.onnx", token: callers.writer)
            expectMLflowError(view, .forbidden, "PERMISSION_DENIED")
            let listing = try await send(
                client,
                .get,
                "/api/2.0/mlflow-artifacts/artifacts?path=registry/other-x/1",
                token: callers.writer
            )
            expectMLflowError(listing, .forbidden, "PERMISSION_DENIED")
        }
    }

    @Test func theRegistryViewListsOnlyReadableModels() async throws {
        try await withFixtures { client, callers in
            // Given / When a reader of vision-* and the admin list the top of the registry view
            let asReader = try await mlflowListArtifacts(client, "registry", token: callers.reader)
            let asAdmin = try await mlflowListArtifacts(client, "registry", token: callers.admin)
            // Then the reader sees vision-a only and the admin both models
            #expect(asReader == [MLflowFileInfo(path: "vision-a", isDir: true)])
            #expect(Set(asAdmin.map(\.path)) == ["vision-a", "other-x"])
            // And the reader can read vision-a's files through it
            let file = try await mlflowArtifact(client, .get, "registry/vision-a/1/model.onnx", token: callers.reader)
            try expectStatus(file, .ok)
            #expect(file.bytes == BlobFixture.onnx(seed: 71).bytes)
        }
    }

    @Test func readersCannotCreateOrEdit() async throws {
        try await withFixtures { client, callers in
            // Given / When a reader of vision-* reads vision-a, then edits it
            let read = try await mlflow(
                client,
                .get,
                "model-versions/get",
                ["name": "vision-a", "version": "1"],
                token: callers.reader
            )
            let update = try await mlflow(
                client,
                .patch,
                "registered-models/update",
                ["name": "vision-a", "description": "mine"],
                token: callers.reader
            )
            let tag = try await mlflow(
                client,
                .post,
                "model-versions/set-tag",
                ["name": "vision-a", "version": "1", "key": "k", "value": "v"],
                token: callers.reader
            )
            // Then reading is allowed and editing is 403 PERMISSION_DENIED
            try expectStatus(read, .ok)
            expectMLflowError(update, .forbidden, "PERMISSION_DENIED")
            expectMLflowError(tag, .forbidden, "PERMISSION_DENIED")
        }
    }

    @Test func stagesAndAliasesNeedAPromoter() async throws {
        try await withFixtures { client, callers in
            let stage: [String: Any] = ["name": "vision-a", "version": "1", "stage": "Production"]
            let alias: [String: Any] = ["name": "vision-a", "alias": "champion", "version": "2"]
            // When a writer of vision-* moves a version and sets an alias
            let writerStage = try await mlflow(
                client,
                .post,
                "model-versions/transition-stage",
                stage,
                token: callers.writer
            )
            let writerAlias = try await mlflow(client, .post, "registered-models/alias", alias, token: callers.writer)
            // Then both are 403 PERMISSION_DENIED and nothing changed
            expectMLflowError(writerStage, .forbidden, "PERMISSION_DENIED", mentioning: ["promoter"])
            expectMLflowError(writerAlias, .forbidden, "PERMISSION_DENIED", mentioning: ["promoter"])
            let before = try await mlflowGetModel(client, "vision-a", token: callers.admin)
            #expect(before.aliases == nil)
            #expect(before.latestVersions?.allSatisfy { $0.currentStage == "None" } == true)
            // When a promoter does the same
            let promoterStage = try await mlflow(
                client,
                .post,
                "model-versions/transition-stage",
                stage,
                token: callers.promoter
            )
            let promoterAlias = try await mlflow(
                client,
                .post,
                "registered-models/alias",
                alias,
                token: callers.promoter
            )
            // Then both succeed
            try expectStatus(promoterStage, .ok)
            try expectStatus(promoterAlias, .ok)
            let after = try await mlflowGetModel(client, "vision-a", token: callers.admin)
            #expect(after.aliases == [MLflowAlias(alias: "champion", version: "2")])
            // And the audit trail names the promoter
            let events = try await send(client, .get, "/api/v1/models/vision-a/history", token: callers.admin)
            try expectStatus(events, .ok)
            let changes = try events.decode(APIHistory.self).events.filter {
                $0.kind == "stage.changed" || $0.kind == "alias.set"
            }
            #expect(changes.count == 2)
            #expect(changes.allSatisfy { $0.actor == "user:pat" }, "\(changes.map(\.actor))")
            // And the writer cannot delete the alias either
            let writerDelete = try await mlflow(
                client,
                .delete,
                "registered-models/alias",
                ["name": "vision-a", "alias": "champion"],
                token: callers.writer
            )
            expectMLflowError(writerDelete, .forbidden, "PERMISSION_DENIED")
            // And a promoter of vision-* cannot move a version of other-x
            let outside = try await mlflow(
                client,
                .post,
                "model-versions/transition-stage",
                ["name": "other-x", "version": "1", "stage": "Production"],
                token: callers.promoter
            )
            expectMLflowError(outside, .forbidden, "PERMISSION_DENIED")
        }
    }

    @Test func deletingAndRenamingNeedAnAdmin() async throws {
        try await withFixtures { client, callers in
            // When a promoter of vision-* deletes a version, deletes the model and renames it
            let deleteVersion = try await mlflow(
                client,
                .delete,
                "model-versions/delete",
                ["name": "vision-a", "version": "1"],
                token: callers.promoter
            )
            let deleteModel = try await mlflow(
                client,
                .delete,
                "registered-models/delete",
                ["name": "vision-a"],
                token: callers.promoter
            )
            let rename = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "vision-a", "new_name": "vision-b"],
                token: callers.promoter
            )
            // Then each is 403 PERMISSION_DENIED naming the admin role, and nothing changed
            for response in [deleteVersion, deleteModel, rename] {
                expectMLflowError(response, .forbidden, "PERMISSION_DENIED", mentioning: ["admin"])
            }
            #expect(try await v1VersionNumbers(client, model: "vision-a", token: callers.admin) == [2, 1])
            // When an admin of vision-* renames it out of its pattern
            let outside = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "vision-a", "new_name": "other-y"],
                token: callers.modelAdmin
            )
            // Then it is refused too: the new name needs admin as well
            expectMLflowError(outside, .forbidden, "PERMISSION_DENIED", mentioning: ["other-y", "needs admin"])
            // When it renames within its pattern and deletes a version
            let inside = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "vision-a", "new_name": "vision-b"],
                token: callers.modelAdmin
            )
            try expectStatus(inside, .ok)
            let deleted = try await mlflow(
                client,
                .delete,
                "model-versions/delete",
                ["name": "vision-b", "version": "1"],
                token: callers.modelAdmin
            )
            // Then both succeed
            try expectStatus(deleted, .ok)
            #expect(try await v1VersionNumbers(client, model: "vision-b", token: callers.admin) == [2])
            // And an admin of vision-* cannot delete other-x
            let other = try await mlflow(
                client,
                .delete,
                "registered-models/delete",
                ["name": "other-x"],
                token: callers.modelAdmin
            )
            expectMLflowError(other, .forbidden, "PERMISSION_DENIED")
        }
    }

    @Test func renamingNeedsAdminOnTheNewNameNotJustWriter() async throws {
        try await withFixtures { client, callers in
            // Given a principal with admin on vision-a and writer on every other vision-* model
            let vic = try await tokenWithRole(
                client,
                admin: callers.admin,
                principal: "vic",
                role: "writer",
                pattern: "vision-*"
            )
            try await grantRole(client, admin: callers.admin, principal: "vic", pattern: "vision-a", role: "admin")
            // When it renames vision-a to vision-b
            let rename = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "vision-a", "new_name": "vision-b"],
                token: vic
            )
            // Then it is 403 naming the new name and the role it needs there, and vision-a keeps its name
            expectMLflowError(rename, .forbidden, "PERMISSION_DENIED", mentioning: ["'vision-b'", "needs admin"])
            #expect(try await v1VersionNumbers(client, model: "vision-a", token: callers.admin) == [2, 1])
            // And with admin on vision-b as well the rename succeeds
            try await grantRole(client, admin: callers.admin, principal: "vic", pattern: "vision-b", role: "admin")
            let allowed = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "vision-a", "new_name": "vision-b"],
                token: vic
            )
            try expectStatus(allowed, .ok)
        }
    }

    @Test func devicesGivenARenamedModelKeepItUnderItsNewNameOnly() async throws {
        try await withFixtures { client, callers in
            // Given a device given vision-a and one given other-x
            let camera = try await deviceToken(client, admin: callers.admin, device: "cam-a", models: ["vision-a"])
                .token
            let other = try await deviceToken(client, admin: callers.admin, device: "cam-x", models: ["other-x"]).token
            // When vision-a is renamed to vision-b
            let rename = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "vision-a", "new_name": "vision-b"],
                token: callers.admin
            )
            try expectStatus(rename, .ok)
            // Then the device reads the model and its files under the new name
            try expectStatus(try await send(client, .get, "/api/v1/models/vision-b", token: camera), .ok)
            let file = try await send(
                client,
                .get,
                "/api/v1/models/vision-b/versions/2/files/model.onnx",
                token: camera
            )
            try expectStatus(file, .ok)
            #expect(file.bytes == BlobFixture.onnx(seed: 72).bytes)
            // And the other device is not given it
            expectForbidden(try await send(client, .get, "/api/v1/models/vision-b", token: other), mentioning: [])
            // When a new model takes the old name
            try await createModel(client, token: callers.admin, "vision-a")
            try await readyVersion(client, token: callers.admin, model: "vision-a", blob: .onnx(seed: 75))
            // Then the device was not given it: it lost the old name with the rename
            for path in ["/api/v1/models/vision-a", "/api/v1/models/vision-a/versions/1/files/model.onnx"] {
                expectForbidden(try await send(client, .get, path, token: camera), mentioning: [], path)
            }
            // And it still reads vision-b, and the other device its own model
            try expectStatus(try await send(client, .get, "/api/v1/models/vision-b", token: camera), .ok)
            try expectStatus(try await send(client, .get, "/api/v1/models/other-x", token: other), .ok)
        }
    }

    @Test func aSourceModelIsCheckedForReaderBeforeItIsLookedUp() async throws {
        try await withFixtures { client, callers in
            // Given / When a writer of vision-* copies versions of other-* models that exist and that do not
            let sources = [
                "models:/other-x/1", "models:/other-x/9", "models:/other-x", "models:/other-x/Production",
                "models:/other-x@champion", "models:/other-gone/1", "models:/other-gone", "models:/other-gone@champion",
            ]
            var messages: [String] = []
            for source in sources {
                let response = try await mlflowPostVersion(
                    client,
                    model: "vision-a",
                    source: source,
                    token: callers.writer
                )
                // Then each is 403 PERMISSION_DENIED naming the model it may not read, whether it exists or not
                let model = source.contains("gone") ? "other-gone" : "other-x"
                expectMLflowError(
                    response,
                    .forbidden,
                    "PERMISSION_DENIED",
                    mentioning: ["may not read model '\(model)'"],
                    source
                )
                let body = try? response.decode(MLflowErrorBody.self)
                messages.append(body?.message.replacingOccurrences(of: model, with: "MODEL") ?? "")
            }
            // And the answers do not tell an existing model or version from a missing one
            #expect(Set(messages).count == 1, "\(messages)")
            #expect(try await v1VersionNumbers(client, model: "vision-a", token: callers.admin) == [2, 1])
            // And to the administrator, who may read them, the missing ones are 404
            for source in ["models:/other-x/9", "models:/other-gone/1", "models:/other-gone"] {
                let response = try await mlflowPostVersion(
                    client,
                    model: "vision-a",
                    source: source,
                    token: callers.admin
                )
                expectMLflowError(response, .notFound, "RESOURCE_DOES_NOT_EXIST", source)
            }
        }
    }

    @Test func renameKeepsVersionsAliasesStagesAndHistory() async throws {
        try await withTestRegistry { client in
            // Given resnet with versions 1 and 2, 1 in Production, alias champion on 2, and a description
            try await createModel(client, "resnet", description: "classifier")
            let first = try await readyVersion(client, model: "resnet", seed: 81)
            try await readyVersion(client, model: "resnet", seed: 82)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Production"), .ok)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 2), .ok)
            let before = try await history(client, model: "resnet").events
            // When MLflow renames it
            let response = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "resnet", "new_name": "resnet-v2"]
            )
            // Then the answer is the model under its new name
            try expectStatus(response, .ok)
            #expect(try response.decode(MLflowRegisteredModelAnswer.self).registeredModel.name == "resnet-v2")
            // And the v1 API has it with its versions, stage, alias and description
            let model = try await getModel(client, "resnet-v2")
            #expect(model.description == "classifier")
            #expect(model.latestVersion == 2)
            #expect(model.aliases == ["champion": 2])
            #expect(try await v1VersionNumbers(client, model: "resnet-v2") == [2, 1])
            #expect(try await getVersion(client, model: "resnet-v2", version: 1).stage == "Production")
            let resolved = try await send(client, .get, "/api/v1/models/resnet-v2/aliases/champion")
            try expectStatus(resolved, .ok)
            #expect(try resolved.decode(APIVersion.self).version == 2)
            // And its files still download
            let file = try await send(client, .get, "/api/v1/models/resnet-v2/versions/1/files/model.onnx")
            try expectStatus(file, .ok)
            #expect(sha256Digest(file.bytes) == first.files[0].digest)
            // And its history under the new name has every event from before the rename, then the rename
            let after = try await history(client, model: "resnet-v2").events
            #expect(Set(before.map(\.id)).isSubset(of: Set(after.map(\.id))))
            #expect(after.contains { $0.kind == "model.created" })
            #expect(after.contains { $0.kind == "version.created" && $0.version == 1 })
            #expect(after.contains { $0.kind == "alias.set" })
            let renamed = try #require(after.first)
            #expect(renamed.kind == "model.renamed")
            #expect(renamed.from == "resnet")
            #expect(renamed.to == "resnet-v2")
            // And the old name is gone from both APIs
            expectError(try await send(client, .get, "/api/v1/models/resnet"), .notFound, "not_found")
            let old = try await mlflow(client, .get, "registered-models/get", ["name": "resnet"])
            expectMLflowError(old, .notFound, "RESOURCE_DOES_NOT_EXIST")
            // And the registry view serves the files under the new name only
            let view = try await mlflowArtifact(client, .get, "registry/resnet-v2/1/model.onnx")
            try expectStatus(view, .ok)
            #expect(sha256Digest(view.bytes) == first.files[0].digest)
            let oldView = try await mlflowArtifact(client, .get, "registry/resnet/1/model.onnx")
            expectMLflowError(oldView, .notFound, "RESOURCE_DOES_NOT_EXIST")
            // And MLflow sees the versions under the new name
            #expect(try await mlflowGetVersion(client, model: "resnet-v2", version: 2).aliases == ["champion"])
        }
    }

    @Test func renamingOntoAnExistingModelIs400AlreadyExists() async throws {
        try await withTestRegistry { client in
            // Given two models
            try await mlflowCreateModel(client, "resnet")
            try await mlflowCreateModel(client, "bert")
            // When one is renamed to the other's name
            let response = try await mlflow(
                client,
                .post,
                "registered-models/rename",
                ["name": "resnet", "new_name": "bert"]
            )
            // Then it is 400 RESOURCE_ALREADY_EXISTS, and both are unchanged
            expectMLflowError(response, .badRequest, "RESOURCE_ALREADY_EXISTS", mentioning: ["bert"])
            _ = try await getModel(client, "resnet")
            _ = try await getModel(client, "bert")
        }
    }

    @Test func deletingAVersionRemovesItsAliasesAndIsAudited() async throws {
        try await withTestRegistry { client in
            // Given versions 1 and 2, aliases champion and stable on 2 and old on 1
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 91)
            try await readyVersion(client, model: "resnet", seed: 92)
            for (alias, version) in [("champion", 2), ("stable", 2), ("old", 1)] {
                try expectStatus(try await setAlias(client, model: "resnet", alias: alias, version: version), .ok)
            }
            // When MLflow deletes version 2
            let response = try await mlflow(
                client,
                .delete,
                "model-versions/delete",
                ["name": "resnet", "version": "2"]
            )
            try expectStatus(response, .ok)
            // Then the version is gone from both APIs
            expectError(try await send(client, .get, "/api/v1/models/resnet/versions/2"), .notFound, "not_found")
            let mlflowRead = try await mlflow(client, .get, "model-versions/get", ["name": "resnet", "version": "2"])
            expectMLflowError(mlflowRead, .notFound, "RESOURCE_DOES_NOT_EXIST")
            // And so are its aliases, while the alias of version 1 stays
            let aliases = try await send(client, .get, "/api/v1/models/resnet/aliases")
            try expectStatus(aliases, .ok)
            #expect(try aliases.decode(APIAliases.self).aliases == ["old": 1])
            expectError(try await send(client, .get, "/api/v1/models/resnet/aliases/champion"), .notFound, "not_found")
            #expect(try await mlflowGetModel(client, "resnet").aliases == [MLflowAlias(alias: "old", version: "1")])
            // And the history records the deletion of version 2
            let event = try #require(try await history(client, model: "resnet").events.first)
            #expect(event.kind == "version.deleted")
            #expect(event.version == 2)
            #expect(event.actor == "anonymous")
        }
    }

    @Test func deletingAVersionRecordsTheDeletionOfEachOfItsAliases() async throws {
        try await withTestRegistry { client in
            // Given versions 1 and 2, aliases champion and stable on 2 and old on 1
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 93)
            try await readyVersion(client, model: "resnet", seed: 94)
            for (alias, version) in [("champion", 2), ("stable", 2), ("old", 1)] {
                try expectStatus(try await setAlias(client, model: "resnet", alias: alias, version: version), .ok)
            }
            let before = try await history(client, model: "resnet").events.map(\.id).max() ?? 0
            // When MLflow deletes version 2
            let response = try await mlflow(
                client,
                .delete,
                "model-versions/delete",
                ["name": "resnet", "version": "2"]
            )
            try expectStatus(response, .ok)
            // Then the history has an alias.deleted event for each of its aliases, from version 2, and the deletion
            let events = try await history(client, model: "resnet").events.filter { $0.id > before }
            let aliasEvents = events.filter { $0.kind == "alias.deleted" }
            #expect(Set(aliasEvents.compactMap(\.subject)) == ["champion", "stable"])
            #expect(aliasEvents.count == 2)
            for event in aliasEvents {
                #expect(event.version == 2)
                #expect(event.from == "2")
                #expect(event.actor == "anonymous")
            }
            #expect(events.filter { $0.kind == "version.deleted" }.map(\.version) == [2])
            #expect(events.count == 3, "\(events.map(\.kind))")
            // And all three share the revision of the deletion
            #expect(Set(events.map(\.revision)).count == 1)
            // And the alias of version 1 is untouched, with no event
            #expect(!aliasEvents.contains { $0.subject == "old" })
            let aliases = try await send(client, .get, "/api/v1/models/resnet/aliases")
            #expect(try aliases.decode(APIAliases.self).aliases == ["old": 1])
        }
    }

    @Test func deletingTheNewestVersionMakesThePreviousOneTheLatest() async throws {
        try await withTestRegistry { client in
            // Given versions 1, 2 and 3 of resnet, and a model to copy into
            try await createModel(client, "resnet")
            var digests: [Int: String] = [:]
            for number in 1...3 {
                let version = try await readyVersion(client, model: "resnet", seed: 95 + UInt64(number))
                digests[number] = version.files[0].digest
            }
            try await mlflowCreateModel(client, "copy")
            func deleteVersion(_ number: Int) async throws {
                let response = try await mlflow(
                    client,
                    .delete,
                    "model-versions/delete",
                    ["name": "resnet", "version": String(number)]
                )
                try expectStatus(response, .ok)
            }
            // When the newest, version 3, is deleted
            try await deleteVersion(3)
            // Then version 2 is the latest: in the v1 API, in MLflow's latest versions, and as models:/resnet
            #expect(try await getModel(client, "resnet").latestVersion == 2)
            let latest = try await mlflow(client, .get, "registered-models/get-latest-versions", ["name": "resnet"])
            try expectStatus(latest, .ok)
            #expect(try latest.decode(MLflowVersionSearchAnswer.self).modelVersions?.map(\.version) == ["2"])
            let copy = try await mlflowCreateVersion(client, model: "copy", source: "models:/resnet")
            #expect(copy.version == "1")
            #expect(try await getVersion(client, model: "copy", version: 1).files.map(\.digest) == [digests[2]])
            // When a version is added, it is version 4 (numbers are never reused), and the latest
            let fourth = try await readyVersion(client, model: "resnet", seed: 99)
            #expect(fourth.version == 4)
            #expect(try await getModel(client, "resnet").latestVersion == 4)
            // When a version that is not the newest is deleted, the latest stays
            try await deleteVersion(2)
            #expect(try await getModel(client, "resnet").latestVersion == 4)
            // When the newest is deleted again, the highest remaining number is the latest
            try await deleteVersion(4)
            #expect(try await getModel(client, "resnet").latestVersion == 1)
            // When the last version is deleted, there is no latest, and models:/resnet names nothing
            try await deleteVersion(1)
            #expect(try await getModel(client, "resnet").latestVersion == nil)
            let none = try await mlflowPostVersion(client, model: "copy", source: "models:/resnet")
            expectMLflowError(none, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: ["resnet"])
            // And the next version is 5
            #expect(try await readyVersion(client, model: "resnet", seed: 100).version == 5)
            #expect(try await getModel(client, "resnet").latestVersion == 5)
        }
    }
}
