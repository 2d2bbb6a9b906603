import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Runs and logged models belong to the principal that created them: any writer may read them, but only their creator
/// or an administrator (admin on `*`) may change them, write or delete their artifacts, or log a model of the run.
/// Nobody can replace the files another team's training job is about to register.
@Suite struct MLflowOwnershipTests {
    /// Tokens of the callers, and what `will` created: a run (param `lr`, tag `note`, the file `model/model.onnx` in
    /// its artifacts) and a logged model of it (tag `stage`, the file `model.onnx`).
    struct Fixture {
        /// Admin on `*`.
        var admin: String
        /// Writer of `vision-*`, the creator of the run and logged model.
        var owner: String
        /// Writer of `other-*`: may use tracking, did not create them.
        var otherWriter: String
        /// Admin of `vision-*` only: not an administrator.
        var modelAdmin: String
        var runID: String
        var modelID: String

        var runArtifacts: String { "0/\(runID)/artifacts" }
        var modelArtifacts: String { "0/models/\(modelID)/artifacts" }
        /// The callers that may not change what `will` created, with their principal.
        var strangers: [(token: String, principal: String)] { [(otherWriter, "user:olga"), (modelAdmin, "user:ada")] }
    }

    static let file = BlobFixture(count: 64, seed: 201)

    func withFixture(_ test: @escaping @Sendable (APIClient, Fixture) async throws -> Void) async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            var tokens: [String: String] = [:]
            for (principal, role, pattern) in [
                ("will", "writer", "vision-*"), ("olga", "writer", "other-*"), ("ada", "admin", "vision-*"),
            ] {
                tokens[principal] = try await tokenWithRole(
                    client,
                    admin: admin,
                    principal: principal,
                    role: role,
                    pattern: pattern
                )
            }
            let owner = try #require(tokens["will"])
            let run = try await mlflowCreateRun(client, token: owner).info.runId
            try expectStatus(
                try await mlflow(
                    client,
                    .post,
                    "runs/log-batch",
                    [
                        "run_id": run, "params": [["key": "lr", "value": "0.1"]],
                        "tags": [["key": "note", "value": "first"]],
                    ],
                    token: owner
                ),
                .ok
            )
            let model = try await mlflowCreateLoggedModel(client, name: "clf", sourceRunID: run, token: owner)
                .info.modelId
            try expectStatus(
                try await mlflow(
                    client,
                    .patch,
                    "logged-models/\(model)/tags",
                    ["tags": [["key": "stage", "value": "dev"]]],
                    token: owner
                ),
                .ok
            )
            let fixture = Fixture(
                admin: admin,
                owner: owner,
                otherWriter: try #require(tokens["olga"]),
                modelAdmin: try #require(tokens["ada"]),
                runID: run,
                modelID: model
            )
            try await mlflowPutArtifact(
                client,
                "\(fixture.runArtifacts)/model/model.onnx",
                Self.file.bytes,
                token: owner
            )
            try await mlflowPutArtifact(client, "\(fixture.modelArtifacts)/model.onnx", Self.file.bytes, token: owner)
            try await test(client, fixture)
        }
    }

    /// Each mutation of a run, with keys made unique by `suffix` (a param cannot change once logged).
    static func runMutations(run: String, model: String, suffix: String) -> [(String, [String: Any])] {
        let metric: [String: Any] = ["key": "acc-\(suffix)", "value": 0.9, "timestamp": 1_700_000_001_000, "step": 1]
        return [
            ("runs/update", ["run_id": run, "status": "RUNNING", "run_name": "fit-\(suffix)"]),
            ("runs/log-parameter", ["run_id": run, "key": "p-\(suffix)", "value": "1"]),
            (
                "runs/log-metric",
                ["run_id": run, "key": "loss-\(suffix)", "value": 0.5, "timestamp": 1_700_000_000_000, "step": 0]
            ),
            (
                "runs/log-batch",
                ["run_id": run, "metrics": [metric], "params": [["key": "b-\(suffix)", "value": "2"]]]
            ),
            ("runs/set-tag", ["run_id": run, "key": "t-\(suffix)", "value": "v"]),
            ("runs/delete-tag", ["run_id": run, "key": "t-\(suffix)"]),
            ("runs/outputs", ["run_id": run, "models": [["model_id": model, "step": 1]]]),
        ]
    }

    /// Each mutation of a logged model: method, path under `logged-models/<id>`, body.
    static func loggedModelMutations(suffix: String) -> [(HTTPRequest.Method, String, [String: Any])] {
        [
            (.patch, "/tags", ["tags": [["key": "k-\(suffix)", "value": "v"]]]),
            (.delete, "/tags/k-\(suffix)", [:]),
            (.post, "/params", ["params": [["key": "p-\(suffix)", "value": "1"]]]),
            (.patch, "", ["status": "LOGGED_MODEL_READY"]),
        ]
    }

    // MARK: Tests

    @Test func runMutationsNeedTheRunsCreatorOrAnAdministrator() async throws {
        try await withFixture { client, fixture in
            // When another writer and an admin of vision-* only change the run in every way
            for (token, principal) in fixture.strangers {
                for (endpoint, body) in Self.runMutations(run: fixture.runID, model: fixture.modelID, suffix: "x") {
                    let response = try await mlflow(client, .post, endpoint, body, token: token)
                    // Then each is 403 PERMISSION_DENIED naming the run and its owner
                    expectMLflowError(
                        response,
                        .forbidden,
                        "PERMISSION_DENIED",
                        mentioning: [principal, "run \(fixture.runID)", "belongs to user:will"],
                        "\(endpoint) as \(principal)"
                    )
                }
            }
            // And the run is as its owner left it
            let run = try await mlflowGetRun(client, fixture.runID, token: fixture.otherWriter)
            #expect(run.info.runName != "fit-x")
            #expect(run.data.params == [MLflowKeyValue(key: "lr", value: "0.1")])
            #expect(run.data.metrics == nil)
            #expect(run.data.tags?.contains(MLflowKeyValue(key: "note", value: "first")) == true)
            #expect(run.data.tags?.contains { $0.key == "t-x" } == false)
            // When the owner and an administrator do the same
            for (token, suffix) in [(fixture.owner, "owner"), (fixture.admin, "admin")] {
                for (endpoint, body) in Self.runMutations(run: fixture.runID, model: fixture.modelID, suffix: suffix) {
                    // Then each succeeds
                    let response = try await mlflow(client, .post, endpoint, body, token: token)
                    #expect(response.status == .ok, "\(endpoint) as \(suffix): \(response.text)")
                }
            }
            let changed = try await mlflowGetRun(client, fixture.runID, token: fixture.owner)
            #expect(changed.info.runName == "fit-admin")
            #expect(Set((changed.data.params ?? []).map(\.key)) == ["lr", "p-owner", "b-owner", "p-admin", "b-admin"])
        }
    }

    @Test func loggedModelMutationsNeedTheirCreatorOrAnAdministrator() async throws {
        try await withFixture { client, fixture in
            let path = "logged-models/\(fixture.modelID)"
            // When another writer and an admin of vision-* only tag, untag, log params and finalize the logged model
            for (token, principal) in fixture.strangers {
                for (method, subpath, body) in Self.loggedModelMutations(suffix: "x")
                    + [(.delete, "/tags/stage", [:])]
                {
                    let response = try await mlflow(client, method, path + subpath, body, token: token)
                    // Then each is 403 PERMISSION_DENIED naming the logged model and its owner
                    expectMLflowError(
                        response,
                        .forbidden,
                        "PERMISSION_DENIED",
                        mentioning: [principal, "logged model \(fixture.modelID)", "belongs to user:will"],
                        "\(method) \(subpath) as \(principal)"
                    )
                }
            }
            // And the logged model is unchanged: still pending, with its one tag
            let read = try await mlflow(client, .get, path, token: fixture.otherWriter)
            try expectStatus(read, .ok)
            #expect(try read.decode(MLflowLoggedModelAnswer.self).model.info.status == "LOGGED_MODEL_PENDING")
            #expect(read.text.contains("\"stage\""))
            #expect(!read.text.contains("k-x") && !read.text.contains("p-x"))
            // When the owner and an administrator do the same
            for (token, suffix) in [(fixture.owner, "owner"), (fixture.admin, "admin")] {
                for (method, subpath, body) in Self.loggedModelMutations(suffix: suffix) {
                    // Then each succeeds
                    let response = try await mlflow(client, method, path + subpath, body, token: token)
                    #expect(response.status == .ok, "\(method) \(subpath) as \(suffix): \(response.text)")
                }
            }
            let finalized = try await mlflow(client, .get, path, token: fixture.owner)
            #expect(try finalized.decode(MLflowLoggedModelAnswer.self).model.info.status == "LOGGED_MODEL_READY")
        }
    }

    @Test func onlyTheRunsCreatorOrAnAdministratorLogsAModelOfIt() async throws {
        try await withFixture { client, fixture in
            let body: [String: Any] = ["experiment_id": "0", "name": "mine", "source_run_id": fixture.runID]
            // When another writer and an admin of vision-* only create a logged model of the owner's run
            for (token, principal) in fixture.strangers {
                let response = try await mlflow(client, .post, "logged-models", body, token: token)
                // Then it is 403 PERMISSION_DENIED naming the run and its owner
                expectMLflowError(
                    response,
                    .forbidden,
                    "PERMISSION_DENIED",
                    mentioning: [principal, "run \(fixture.runID)", "user:will"],
                    "as \(principal)"
                )
            }
            // And `runs:/<run>/mine` names nothing
            let search = try await mlflow(
                client,
                .post,
                "logged-models/search",
                ["experiment_ids": ["0"]],
                token: fixture.admin
            )
            try expectStatus(search, .ok)
            #expect(!search.text.contains("\"mine\""), "\(search.text)")
            // And another writer may still log a model of its own run, or of none
            let own = try await mlflowCreateRun(client, token: fixture.otherWriter).info.runId
            _ = try await mlflowCreateLoggedModel(client, name: "mine", sourceRunID: own, token: fixture.otherWriter)
            _ = try await mlflowCreateLoggedModel(client, name: "free", token: fixture.otherWriter)
            // And the owner and an administrator may log one of the owner's run
            try expectStatus(try await mlflow(client, .post, "logged-models", body, token: fixture.owner), .ok)
            try expectStatus(try await mlflow(client, .post, "logged-models", body, token: fixture.admin), .ok)
        }
    }

    @Test func onlyTheCreatorOrAnAdministratorWritesTheArtifactsOfARunOrLoggedModel() async throws {
        try await withFixture { client, fixture in
            for (root, what) in [
                (fixture.runArtifacts, "run \(fixture.runID)"), (fixture.modelArtifacts, "logged model"),
            ] {
                let file = root == fixture.runArtifacts ? "\(root)/model/model.onnx" : "\(root)/model.onnx"
                for (token, principal) in fixture.strangers {
                    // When another writer and an admin of vision-* only replace, add and delete files
                    let replace = try await mlflowArtifact(client, .put, file, body: [0], token: token)
                    let add = try await mlflowArtifact(client, .put, "\(root)/extra.txt", body: [0], token: token)
                    let deleteFile = try await mlflowArtifact(client, .delete, file, token: token)
                    let deleteAll = try await mlflowArtifact(client, .delete, root + "/model", token: token)
                    // Then each is 403 PERMISSION_DENIED naming the owner
                    for response in [replace, add, deleteFile, deleteAll] {
                        expectMLflowError(
                            response,
                            .forbidden,
                            "PERMISSION_DENIED",
                            mentioning: [principal, what, "belongs to user:will"],
                            "\(what) as \(principal)"
                        )
                    }
                    // And they may still read and list them (reads need writer on some model)
                    let read = try await mlflowArtifact(client, .get, file, token: token)
                    try expectStatus(read, .ok)
                    #expect(read.bytes == Self.file.bytes)
                    #expect(try await mlflowListArtifacts(client, root, token: token).count == 1)
                }
                // And the owner and an administrator may write and delete
                try await mlflowPutArtifact(client, "\(root)/by-owner.txt", [1], token: fixture.owner)
                try await mlflowPutArtifact(client, "\(root)/by-admin.txt", [2], token: fixture.admin)
                try expectStatus(try await mlflowArtifact(client, .delete, file, token: fixture.admin), .ok)
                try expectStatus(
                    try await mlflowArtifact(client, .delete, "\(root)/by-admin.txt", token: fixture.owner),
                    .ok
                )
                #expect(
                    try await mlflowListArtifacts(client, root, token: fixture.owner) == [
                        MLflowFileInfo(path: "by-owner.txt", isDir: false, fileSize: 1)
                    ]
                )
            }
        }
    }

    @Test func changingARunOrLoggedModelThatDoesNotExistIs404ToEveryWriter() async throws {
        try await withFixture { client, fixture in
            // When another writer writes into a run and a logged model that do not exist
            let missingRun = "0/0123456789abcdef0123456789abcdef/artifacts/x"
            let missingModel = "0/models/m-0123456789abcdef0123456789abcdef/artifacts/x"
            for path in [missingRun, missingModel] {
                let response = try await mlflowArtifact(client, .put, path, body: [1], token: fixture.otherWriter)
                // Then it is 404, not 403: any writer may read runs and logged models, so their existence is no secret
                expectMLflowError(response, .notFound, "RESOURCE_DOES_NOT_EXIST", path)
            }
            // And changing a run that does not exist is 404 too, not 403
            let update = try await mlflow(
                client,
                .post,
                "runs/set-tag",
                ["run_id": "0123456789abcdef0123456789abcdef", "key": "k", "value": "v"],
                token: fixture.otherWriter
            )
            expectMLflowError(update, .notFound, "RESOURCE_DOES_NOT_EXIST")
        }
    }
}
