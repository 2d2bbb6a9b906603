import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `model-versions/create` reads its files only from the registry's own stores: `mlflow-artifacts:/…`, `runs:/…` and
/// `models:/…` resolve to uploaded artifacts or registered versions, anything else is refused. A version made this way
/// is an ordinary READY modelctl version, with the same bytes, served by the v1 API.
@Suite struct MLflowVersionSourcesTests {
    /// Checks through the v1 API that `version` of `model` is READY with exactly `files` (paths, sizes, digests) and
    /// that every file downloads with identical bytes.
    func expectV1Version(
        _ client: APIClient,
        model: String,
        version: Int,
        files: [MLflowArtifactFile],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let v1 = try await getVersion(client, model: model, version: version, sourceLocation: sourceLocation)
        #expect(v1.status == "READY", sourceLocation: sourceLocation)
        let expected = Set(files.map { "\($0.path) \($0.blob.size) \($0.blob.digest)" })
        let actual = Set(v1.files.map { "\($0.path) \($0.size) \($0.digest)" })
        #expect(actual == expected, sourceLocation: sourceLocation)
        for file in files {
            let download = try await send(
                client,
                .get,
                "/api/v1/models/\(model)/versions/\(version)/files/\(file.path)"
            )
            try expectStatus(download, .ok, sourceLocation: sourceLocation)
            #expect(download.bytes == file.blob.bytes, "file \(file.path)", sourceLocation: sourceLocation)
        }
    }

    /// A run with the model directory of `seed` uploaded under `<run artifacts>/model`.
    func runWithModel(
        _ client: APIClient,
        seed: UInt64 = 1
    ) async throws -> (run: MLflowRun, files: [MLflowArtifactFile]) {
        let run = try await mlflowCreateRun(client)
        let files = mlflowModelFiles(seed: seed)
        try await mlflowUpload(client, files, under: "\(mlflowArtifactPath(of: run.info.artifactUri))/model")
        return (run, files)
    }

    // MARK: Tests

    @Test func aVersionFromMLflowArtifactsIsReadyWithTheSameFilesInTheV1API() async throws {
        try await withTestRegistry { client in
            // Given a run whose model directory was uploaded to the artifact proxy, and a registered model
            let (run, files) = try await runWithModel(client)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from the directory's mlflow-artifacts URI
            let source = "\(run.info.artifactUri)/model"
            #expect(source.hasPrefix("mlflow-artifacts:/0/\(run.info.runId)/artifacts"))
            let version = try await mlflowCreateVersion(
                client,
                model: "resnet",
                source: source,
                runID: run.info.runId,
                tags: ["team": "vision"]
            )
            // Then it is version 1, READY, with its source and run
            #expect(version.version == "1")
            #expect(version.status == "READY")
            #expect(version.source == source)
            #expect(version.runId == run.info.runId)
            #expect(version.currentStage == "None")
            #expect(version.tags == [MLflowKeyValue(key: "team", value: "vision")])
            // And the v1 API has the same files, which download with identical bytes
            try await expectV1Version(client, model: "resnet", version: 1, files: files)
            let v1 = try await getVersion(client, model: "resnet", version: 1)
            #expect(v1.lineage.runId == run.info.runId)
            #expect(v1.lineage.source == source)
            #expect(v1.tags == ["team": "vision"])
            // And MLflow reads the same version back
            let read = try await mlflowGetVersion(client, model: "resnet", version: 1)
            #expect(read.status == "READY")
            #expect(read.source == source)
        }
    }

    @Test func aVersionFromARunsURIHasTheRunsFiles() async throws {
        try await withTestRegistry { client in
            // Given a run with a model directory, and a registered model
            let (run, files) = try await runWithModel(client, seed: 2)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from runs:/<run>/model
            let version = try await mlflowCreateVersion(
                client,
                model: "resnet",
                source: "runs:/\(run.info.runId)/model",
                runID: run.info.runId
            )
            // Then it is READY, names the run, and has exactly the run's files
            #expect(version.status == "READY")
            #expect(version.runId == run.info.runId)
            try await expectV1Version(client, model: "resnet", version: 1, files: files)
        }
    }

    @Test func aVersionFromALoggedModelHasItsFilesAndModelID() async throws {
        try await withTestRegistry { client in
            // Given a logged model of a run, its files uploaded to its artifact location and finalized READY
            let run = try await mlflowCreateRun(client)
            let logged = try await mlflowCreateLoggedModel(client, name: "clf", sourceRunID: run.info.runId)
            let files = mlflowModelFiles(seed: 3)
            try await mlflowUpload(client, files, under: mlflowArtifactPath(of: logged.info.artifactUri))
            let finalized = try await mlflow(
                client,
                .patch,
                "logged-models/\(logged.info.modelId)",
                ["model_id": logged.info.modelId, "status": "LOGGED_MODEL_READY"]
            )
            try expectStatus(finalized, .ok)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from models:/<model id>
            let version = try await mlflowCreateVersion(
                client,
                model: "resnet",
                source: "models:/\(logged.info.modelId)",
                modelID: logged.info.modelId
            )
            // Then it is READY, names the logged model and its run, and has the logged model's files
            #expect(version.status == "READY")
            #expect(version.modelId == logged.info.modelId)
            #expect(version.runId == run.info.runId)
            try await expectV1Version(client, model: "resnet", version: 1, files: files)
        }
    }

    @Test func aVersionFromAnotherRegisteredVersionIsACopyOfItsFiles() async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet, made from a run, and a second registered model
            let (run, files) = try await runWithModel(client, seed: 4)
            try await mlflowCreateModel(client, "resnet")
            try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(run.info.runId)/model")
            try await mlflowCreateModel(client, "resnet-prod")
            // When a version of resnet-prod is created from models:/resnet/1
            let copy = try await mlflowCreateVersion(client, model: "resnet-prod", source: "models:/resnet/1")
            // Then it is READY with the same files, and the original is untouched
            #expect(copy.version == "1")
            #expect(copy.status == "READY")
            #expect(copy.source == "models:/resnet/1")
            try await expectV1Version(client, model: "resnet-prod", version: 1, files: files)
            try await expectV1Version(client, model: "resnet", version: 1, files: files)
        }
    }

    @Test func aRunsURINamingALoggedModelOfTheRunHasItsFiles() async throws {
        try await withTestRegistry { client in
            // Given a run that logged a model "clf" outside its artifacts, as MLflow 3 does, and finalized it
            let run = try await mlflowCreateRun(client)
            let logged = try await mlflowCreateLoggedModel(client, name: "clf", sourceRunID: run.info.runId)
            let files = mlflowModelFiles(seed: 5)
            try await mlflowUpload(client, files, under: mlflowArtifactPath(of: logged.info.artifactUri))
            try await mlflowFinalizeLoggedModel(client, logged.info.modelId)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from runs:/<run>/clf
            let version = try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(run.info.runId)/clf")
            // Then it has the logged model's files and names it and the run
            #expect(version.modelId == logged.info.modelId)
            #expect(version.runId == run.info.runId)
            try await expectV1Version(client, model: "resnet", version: 1, files: files)
        }
    }

    @Test func aLoggedModelIsASourceOnlyOnceFinalized() async throws {
        try await withTestRegistry { client in
            // Given a logged model "clf" of a run with its files uploaded, still pending
            let run = try await mlflowCreateRun(client).info.runId
            let logged = try await mlflowCreateLoggedModel(client, name: "clf", sourceRunID: run)
            let id = logged.info.modelId
            let files = mlflowModelFiles(seed: 10)
            try await mlflowUpload(client, files, under: mlflowArtifactPath(of: logged.info.artifactUri))
            try await mlflowCreateModel(client, "resnet")
            // When versions are created from models:/<id> and from runs:/<run>/clf
            let sources = ["models:/\(id)", "runs:/\(run)/clf"]
            for source in sources {
                let response = try await mlflowPostVersion(client, model: "resnet", source: source)
                // Then each is 400 INVALID_PARAMETER_VALUE naming the source, the status and what to do
                expectMLflowError(
                    response,
                    .badRequest,
                    "INVALID_PARAMETER_VALUE",
                    mentioning: [source, id, "LOGGED_MODEL_PENDING", "finalize"],
                    source
                )
            }
            #expect(try await v1VersionNumbers(client, model: "resnet") == [])
            // And a failed logged model is refused the same way
            let failed = try await mlflow(
                client,
                .patch,
                "logged-models/\(id)",
                ["status": "LOGGED_MODEL_UPLOAD_FAILED"]
            )
            try expectStatus(failed, .ok)
            let fromFailed = try await mlflowPostVersion(client, model: "resnet", source: sources[0])
            expectMLflowError(fromFailed, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: ["finalize"])
            // When it is finalized
            try await mlflowFinalizeLoggedModel(client, id)
            // Then both sources give a version with its files
            for (number, source) in sources.enumerated() {
                let version = try await mlflowCreateVersion(client, model: "resnet", source: source)
                #expect(version.modelId == id, "\(source)")
                try await expectV1Version(client, model: "resnet", version: number + 1, files: files)
            }
        }
    }

    @Test func aRegisteredModelWhoseNameStartsWithMDashIsNotALoggedModel() async throws {
        try await withTestRegistry { client in
            // Given a registered model m-detector with version 1 (in Production, alias champion) made from a run
            let (run, files) = try await runWithModel(client, seed: 11)
            try await mlflowCreateModel(client, "m-detector")
            try await mlflowCreateVersion(client, model: "m-detector", source: "runs:/\(run.info.runId)/model")
            try expectStatus(try await setStage(client, model: "m-detector", version: 1, stage: "Production"), .ok)
            try expectStatus(try await setAlias(client, model: "m-detector", alias: "champion", version: 1), .ok)
            try await mlflowCreateModel(client, "copy")
            // When versions of copy are created from models:/m-detector/1, its stage, its alias and its latest
            let sources = [
                "models:/m-detector/1", "models:/m-detector/Production", "models:/m-detector@champion",
                "models:/m-detector",
            ]
            for (number, source) in sources.enumerated() {
                let copy = try await mlflowCreateVersion(client, model: "copy", source: source)
                // Then each is a copy of the registered version, naming no logged model
                #expect(copy.status == "READY", "\(source)")
                #expect(copy.modelId == nil || copy.modelId == "", "\(source): \(copy.modelId ?? "")")
                try await expectV1Version(client, model: "copy", version: number + 1, files: files)
            }
            // And a version of a model m-… that does not exist is 404 naming it, not a logged model lookup
            let missing = try await mlflowPostVersion(client, model: "copy", source: "models:/m-ghost/1")
            expectMLflowError(missing, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: ["m-ghost"])
        }
    }

    @Test func theAuthorityOfAnMLflowArtifactsURIIsThisRegistry() async throws {
        try await withTestRegistry { client in
            // Given a run with a model directory, and a registered model
            let (run, files) = try await runWithModel(client, seed: 6)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from mlflow-artifacts://host:port/<path>
            let path = "\(mlflowArtifactPath(of: run.info.artifactUri))/model"
            let version = try await mlflowCreateVersion(
                client,
                model: "resnet",
                source: "mlflow-artifacts://registry.example:5000/\(path)"
            )
            // Then the path is read from this registry's artifacts
            #expect(version.status == "READY")
            try await expectV1Version(client, model: "resnet", version: 1, files: files)
        }
    }

    @Test(arguments: [
        "models:/resnet@champion", "models:/resnet/Production", "models:/resnet/production", "models:/resnet",
    ])
    func aVersionFromAnAliasAStageOrTheLatestIsACopyOfThatVersion(_ source: String) async throws {
        try await withTestRegistry { client in
            // Given resnet 1 (in Production, alias champion) and resnet 2, made from runs
            let (first, files) = try await runWithModel(client, seed: 7)
            let (second, latestFiles) = try await runWithModel(client, seed: 8)
            try await mlflowCreateModel(client, "resnet")
            try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(first.info.runId)/model")
            try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(second.info.runId)/model")
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Production"), .ok)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            try await mlflowCreateModel(client, "resnet-prod")
            // When a version of resnet-prod is created from the source
            let copy = try await mlflowCreateVersion(client, model: "resnet-prod", source: source)
            // Then it has the files of the version the source names (the latest for a bare name)
            #expect(copy.status == "READY")
            let expected = source == "models:/resnet" ? latestFiles : files
            try await expectV1Version(client, model: "resnet-prod", version: 1, files: expected)
        }
    }

    @Test func aVersionFromADirectoryOfTheRegistryViewHasItsFilesRelativeToIt() async throws {
        try await withTestRegistry { client in
            // Given resnet 1 made from a model directory with a data/ subdirectory
            let (run, files) = try await runWithModel(client, seed: 9)
            try await mlflowCreateModel(client, "resnet")
            try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(run.info.runId)/model")
            try await mlflowCreateModel(client, "vocab")
            // When a version of vocab is created from the data/ directory of resnet 1's download URI
            let copy = try await mlflowCreateVersion(
                client,
                model: "vocab",
                source: "mlflow-artifacts:/registry/resnet/1/data"
            )
            // Then it holds only that directory's files, relative to it
            #expect(copy.status == "READY")
            let data = try #require(files.first { $0.path == "data/vocab.txt" })
            try await expectV1Version(
                client,
                model: "vocab",
                version: 1,
                files: [MLflowArtifactFile("vocab.txt", data.blob)]
            )
        }
    }

    @Test(arguments: ["models:/resnet/2", "mlflow-artifacts:/registry/resnet/2"])
    func aPendingVersionIsNotASource(_ source: String) async throws {
        try await withTestRegistry { client in
            // Given resnet 1 READY and resnet 2 PENDING (its blob never uploaded)
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("model.onnx", .onnx(seed: 2))])
            try await mlflowCreateModel(client, "copy")
            // When a version is created from version 2
            let response = try await mlflowPostVersion(client, model: "copy", source: source)
            // Then it is refused as an invalid source naming the version's status, and nothing is created
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: [source, "PENDING"])
            #expect(try await v1VersionNumbers(client, model: "copy") == [])
        }
    }

    @Test func concurrentCreatesGetDistinctVersionNumbers() async throws {
        try await withTestRegistry { client in
            // Given a run with a model directory, and a registered model
            let (run, _) = try await runWithModel(client)
            try await mlflowCreateModel(client, "resnet")
            // When eight versions are created at once
            let numbers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(run.info.runId)/model")
                            .version
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            // Then each got its own number, 1 to 8, all READY
            #expect(Set(numbers) == Set((1...8).map(String.init)))
            #expect(try await v1VersionNumbers(client, model: "resnet") == Array((1...8).reversed()))
        }
    }

    @Test(arguments: [
        "file:///etc/passwd",
        "/etc/passwd",
        "../x",
        "s3://bucket/x",
        "http://127.0.0.1:1/x",
        "mlflow-artifacts:/0/../../x",
        "mlflow-artifacts:/0/%2e%2e/x",
        "mlflow-artifacts:/0/%2E%2E/%2E%2E/etc",
        "mlflow-artifacts:/0//x",
        "mlflow-artifacts:/0\\..\\x",
        "runs://host/x",
        "runs:/not-a-run/model",
        "models://host/m-0123456789abcdef0123456789abcdef",
    ])
    func sourcesOutsideTheRegistryAreRefusedNamingTheSource(_ source: String) async throws {
        try await withTestRegistry { client in
            // Given a registered model and a run with files (so a valid source would exist)
            _ = try await runWithModel(client)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from the source
            let response = try await mlflowPostVersion(client, model: "resnet", source: source)
            // Then it is 400 INVALID_PARAMETER_VALUE naming the source
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: [source], source)
            // And no version was created
            #expect(try await v1VersionNumbers(client, model: "resnet") == [])
        }
    }

    @Test func sourcesNamingARunOrLoggedModelThatDoesNotExistAre404NamingIt() async throws {
        try await withTestRegistry { client in
            // Given a registered model
            try await mlflowCreateModel(client, "resnet")
            let run = "0123456789abcdef0123456789abcdef"
            let logged = "m-0123456789abcdef0123456789abcdef"
            // When versions are created from a run and a logged model that do not exist
            let fromRun = try await mlflowPostVersion(client, model: "resnet", source: "runs:/\(run)/model")
            let fromLogged = try await mlflowPostVersion(client, model: "resnet", source: "models:/\(logged)")
            // Then each is 404 RESOURCE_DOES_NOT_EXIST naming the missing id, as MLflow's own server answers
            expectMLflowError(fromRun, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: [run])
            expectMLflowError(fromLogged, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: [logged])
            // And no version was created
            #expect(try await v1VersionNumbers(client, model: "resnet") == [])
        }
    }

    @Test func sourcesWithoutUploadedFilesAreRefused() async throws {
        try await withTestRegistry { client in
            // Given a run with a model directory, and a registered model
            let (run, _) = try await runWithModel(client)
            try await mlflowCreateModel(client, "resnet")
            // When versions are created from paths where nothing was uploaded
            for source in [
                "runs:/\(run.info.runId)/missing",
                "\(run.info.artifactUri)/missing",
                "mlflow-artifacts:/42/nothing",
            ] {
                let response = try await mlflowPostVersion(client, model: "resnet", source: source)
                // Then each is 400 INVALID_PARAMETER_VALUE naming the source
                expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: [source], source)
            }
            #expect(try await v1VersionNumbers(client, model: "resnet") == [])
        }
    }

    @Test func aSourceInOneRunWithTheRunIDOfAnotherIsRefused() async throws {
        try await withTestRegistry { client in
            // Given two runs, the first with a model directory
            let (run, _) = try await runWithModel(client)
            let other = try await mlflowCreateRun(client)
            try await mlflowCreateModel(client, "resnet")
            // When a version is created from the first run's artifacts but claims the second run
            let source = "\(run.info.artifactUri)/model"
            let response = try await mlflowPostVersion(client, model: "resnet", source: source, runID: other.info.runId)
            // Then it is refused: the version would record a lineage its files do not have
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: [source])
            #expect(try await v1VersionNumbers(client, model: "resnet") == [])
            // And runs:/ with a different run_id is refused the same way
            let runs = try await mlflowPostVersion(
                client,
                model: "resnet",
                source: "runs:/\(run.info.runId)/model",
                runID: other.info.runId
            )
            expectMLflowError(runs, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: [run.info.runId])
        }
    }

    @Test func aVersionOfAModelThatDoesNotExistIs404() async throws {
        try await withTestRegistry { client in
            // Given a run with a model directory and no registered model
            let (run, _) = try await runWithModel(client)
            // When a version of an unregistered model is created
            let response = try await mlflowPostVersion(client, model: "ghost", source: "runs:/\(run.info.runId)/model")
            // Then it is 404 RESOURCE_DOES_NOT_EXIST naming the model
            expectMLflowError(response, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: ["ghost"])
        }
    }
}
