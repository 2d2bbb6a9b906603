import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

// Shared request helpers and wire types of the MLflow-compatible API tests. They sit on the helpers of
// `APITestHelpers.swift` (`send`, `expectStatus`, `decode`) and `AuthTestHelpers.swift` (tokens); every helper that
// "must succeed" records an issue and throws when the registry answers otherwise.

// MARK: Wire types

/// MLflow's error body, `{"error_code": "…", "message": "…"}`.
struct MLflowErrorBody: Decodable {
    var errorCode: String
    var message: String
}

struct MLflowKeyValue: Decodable, Hashable {
    var key: String
    var value: String?
}

struct MLflowAlias: Decodable, Equatable {
    var alias: String
    var version: String
}

struct MLflowModelVersion: Decodable {
    var name: String
    var version: String
    var currentStage: String
    var status: String
    var source: String?
    var runId: String?
    var modelId: String?
    var description: String?
    var aliases: [String]?
    var tags: [MLflowKeyValue]?
    var userId: String?
}

struct MLflowRegisteredModel: Decodable {
    var name: String
    var description: String?
    var latestVersions: [MLflowModelVersion]?
    var tags: [MLflowKeyValue]?
    var aliases: [MLflowAlias]?
}

struct MLflowRegisteredModelAnswer: Decodable {
    var registeredModel: MLflowRegisteredModel
}

struct MLflowModelVersionAnswer: Decodable {
    var modelVersion: MLflowModelVersion
}

struct MLflowModelSearchAnswer: Decodable {
    var registeredModels: [MLflowRegisteredModel]?
    var nextPageToken: String?
}

struct MLflowVersionSearchAnswer: Decodable {
    var modelVersions: [MLflowModelVersion]?
    var nextPageToken: String?
}

struct MLflowFileInfo: Decodable, Equatable {
    var path: String
    var isDir: Bool
    var fileSize: Int64?
}

struct MLflowFileList: Decodable {
    var files: [MLflowFileInfo]?
}

struct MLflowMetric: Decodable, Equatable {
    var key: String
    var value: Double
    var timestamp: Int64
    var step: Int64
}

struct MLflowRun: Decodable {
    struct Info: Decodable {
        var runId: String
        var experimentId: String
        var runName: String
        var status: String
        var artifactUri: String
    }
    struct Data: Decodable {
        var metrics: [MLflowMetric]?
        var params: [MLflowKeyValue]?
        var tags: [MLflowKeyValue]?
    }
    var info: Info
    var data: Data
}

struct MLflowRunAnswer: Decodable {
    var run: MLflowRun
}

struct MLflowRunSearchAnswer: Decodable {
    var runs: [MLflowRun]?
    var nextPageToken: String?
}

struct MLflowMetricHistory: Decodable {
    var metrics: [MLflowMetric]?
    var nextPageToken: String?
}

struct MLflowLoggedModel: Decodable {
    struct Info: Decodable {
        var modelId: String
        var experimentId: String
        var name: String
        var artifactUri: String
        var status: String
        var sourceRunId: String?
        var modelType: String?
    }
    var info: Info
}

struct MLflowLoggedModelAnswer: Decodable {
    var model: MLflowLoggedModel
}

struct MLflowDownloadURI: Decodable {
    var artifactUri: String
}

// MARK: Requests

/// Percent-encodes a query (`a=1&b=x%20y`); an array value repeats its key.
func mlflowQuery(_ parameters: [String: Any]) -> String {
    var pairs: [String] = []
    for key in parameters.keys.sorted() {
        let values: [Any] = (parameters[key] as? [Any]) ?? [parameters[key]!]
        for value in values { pairs.append("\(segment(key))=\(segment("\(value)"))") }
    }
    return pairs.joined(separator: "&")
}

/// Calls `/api/2.0/mlflow/<endpoint>`: a `GET` carries `parameters` in the query string, anything else as a JSON
/// body, as the MLflow client sends them. `token` adds `Authorization: Bearer …`.
@discardableResult
func mlflow(
    _ client: APIClient,
    _ method: HTTPRequest.Method,
    _ endpoint: String,
    _ parameters: [String: Any] = [:],
    token: String? = nil
) async throws -> TestResponse {
    let path = "/api/2.0/mlflow/\(endpoint)"
    let authorization = token.map { "Bearer \($0)" }
    if method == .get {
        let query = mlflowQuery(parameters)
        return try await send(client, .get, query.isEmpty ? path : "\(path)?\(query)", authorization: authorization)
    }
    return try await send(client, method, path, authorization: authorization, json: parameters)
}

/// Sends `method` to `/api/2.0/mlflow-artifacts/artifacts/<path>` (the path as given, not encoded).
@discardableResult
func mlflowArtifact(
    _ client: APIClient,
    _ method: HTTPRequest.Method,
    _ path: String,
    body: [UInt8]? = nil,
    token: String? = nil
) async throws -> TestResponse {
    try await send(
        client,
        method,
        "/api/2.0/mlflow-artifacts/artifacts/\(path)",
        authorization: token.map { "Bearer \($0)" },
        body: body.map { ByteBuffer(bytes: $0) }
    )
}

/// `PUT` of an artifact; it must answer 200.
func mlflowPutArtifact(
    _ client: APIClient,
    _ path: String,
    _ bytes: [UInt8],
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let response = try await mlflowArtifact(client, .put, path, body: bytes, token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
}

/// Lists the direct children of `path` (the top when `nil`); it must answer 200.
func mlflowListArtifacts(
    _ client: APIClient,
    _ path: String?,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> [MLflowFileInfo] {
    let uri = "/api/2.0/mlflow-artifacts/artifacts" + (path.map { "?path=\(segment($0))" } ?? "")
    let response = try await send(client, .get, uri, authorization: token.map { "Bearer \($0)" })
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowFileList.self, sourceLocation: sourceLocation).files ?? []
}

/// `registered-models/create`; it must answer 200.
@discardableResult
func mlflowCreateModel(
    _ client: APIClient,
    _ name: String,
    tags: [String: String] = [:],
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowRegisteredModel {
    var parameters: [String: Any] = ["name": name]
    if !tags.isEmpty {
        parameters["tags"] = tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
    }
    let response = try await mlflow(client, .post, "registered-models/create", parameters, token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowRegisteredModelAnswer.self, sourceLocation: sourceLocation).registeredModel
}

/// `registered-models/get`; it must answer 200.
func mlflowGetModel(
    _ client: APIClient,
    _ name: String,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowRegisteredModel {
    let response = try await mlflow(client, .get, "registered-models/get", ["name": name], token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowRegisteredModelAnswer.self, sourceLocation: sourceLocation).registeredModel
}

/// `model-versions/create` without checking the answer.
func mlflowPostVersion(
    _ client: APIClient,
    model: String,
    source: String,
    runID: String? = nil,
    modelID: String? = nil,
    tags: [String: String] = [:],
    token: String? = nil
) async throws -> TestResponse {
    var parameters: [String: Any] = ["name": model, "source": source]
    if let runID { parameters["run_id"] = runID }
    if let modelID { parameters["model_id"] = modelID }
    if !tags.isEmpty {
        parameters["tags"] = tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
    }
    return try await mlflow(client, .post, "model-versions/create", parameters, token: token)
}

/// `model-versions/create`; it must answer 200.
@discardableResult
func mlflowCreateVersion(
    _ client: APIClient,
    model: String,
    source: String,
    runID: String? = nil,
    modelID: String? = nil,
    tags: [String: String] = [:],
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowModelVersion {
    let response = try await mlflowPostVersion(
        client,
        model: model,
        source: source,
        runID: runID,
        modelID: modelID,
        tags: tags,
        token: token
    )
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowModelVersionAnswer.self, sourceLocation: sourceLocation).modelVersion
}

/// `model-versions/get`; it must answer 200.
func mlflowGetVersion(
    _ client: APIClient,
    model: String,
    version: Int,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowModelVersion {
    let response = try await mlflow(
        client,
        .get,
        "model-versions/get",
        ["name": model, "version": String(version)],
        token: token
    )
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowModelVersionAnswer.self, sourceLocation: sourceLocation).modelVersion
}

/// `runs/create` in `experimentID`; it must answer 200. Returns the run.
func mlflowCreateRun(
    _ client: APIClient,
    experimentID: String = "0",
    name: String? = nil,
    startTime: Int64? = nil,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowRun {
    var parameters: [String: Any] = ["experiment_id": experimentID]
    if let name { parameters["run_name"] = name }
    if let startTime { parameters["start_time"] = startTime }
    let response = try await mlflow(client, .post, "runs/create", parameters, token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowRunAnswer.self, sourceLocation: sourceLocation).run
}

/// A new run of `token` in experiment `0`; returns the artifact path of its artifacts (`0/<run>/artifacts`). Artifacts
/// are written only there and under a logged model's artifacts, by whoever created the run or an administrator.
func mlflowRunArtifactRoot(
    _ client: APIClient,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> String {
    let run = try await mlflowCreateRun(client, token: token, sourceLocation: sourceLocation)
    return mlflowArtifactPath(of: run.info.artifactUri)
}

/// `runs/get`; it must answer 200.
func mlflowGetRun(
    _ client: APIClient,
    _ runID: String,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowRun {
    let response = try await mlflow(client, .get, "runs/get", ["run_id": runID], token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowRunAnswer.self, sourceLocation: sourceLocation).run
}

/// `POST logged-models`; it must answer 200.
func mlflowCreateLoggedModel(
    _ client: APIClient,
    experimentID: String = "0",
    name: String = "model",
    sourceRunID: String? = nil,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> MLflowLoggedModel {
    var parameters: [String: Any] = ["experiment_id": experimentID, "name": name]
    if let sourceRunID { parameters["source_run_id"] = sourceRunID }
    let response = try await mlflow(client, .post, "logged-models", parameters, token: token)
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
    return try response.decode(MLflowLoggedModelAnswer.self, sourceLocation: sourceLocation).model
}

/// `PATCH logged-models/<id>` to `LOGGED_MODEL_READY`; it must answer 200. Only a finalized logged model is a version
/// source.
func mlflowFinalizeLoggedModel(
    _ client: APIClient,
    _ modelID: String,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let response = try await mlflow(
        client,
        .patch,
        "logged-models/\(modelID)",
        ["model_id": modelID, "status": "LOGGED_MODEL_READY"],
        token: token
    )
    try expectStatus(response, .ok, sourceLocation: sourceLocation)
}

// MARK: Artifact fixtures

/// A file of an MLflow model directory: its path relative to the directory and its bytes.
struct MLflowArtifactFile {
    var path: String
    var blob: BlobFixture

    init(_ path: String, _ blob: BlobFixture) {
        self.path = path
        self.blob = blob
    }
}

/// A small MLflow model directory: `MLmodel`, an ONNX file and a nested file, contents depending on `seed`.
func mlflowModelFiles(seed: UInt64 = 1) -> [MLflowArtifactFile] {
    [
        MLflowArtifactFile(
            "MLmodel",
            BlobFixture(bytes: Array("artifact_path: model\nflavors:\n  onnx: {}\nseed: \(seed)\n".utf8))
        ),
        MLflowArtifactFile("model.onnx", .onnx(count: 2048, seed: seed)),
        MLflowArtifactFile("data/vocab.txt", BlobFixture(count: 300, seed: seed &+ 100)),
    ]
}

/// Uploads `files` under the artifact directory `root`.
func mlflowUpload(
    _ client: APIClient,
    _ files: [MLflowArtifactFile],
    under root: String,
    token: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    for file in files {
        try await mlflowPutArtifact(
            client,
            "\(root)/\(file.path)",
            file.blob.bytes,
            token: token,
            sourceLocation: sourceLocation
        )
    }
}

/// The artifact path of a `mlflow-artifacts:/…` URI.
func mlflowArtifactPath(of uri: String) -> String {
    String(uri.dropFirst("mlflow-artifacts:/".count))
}

// MARK: Checks

/// Checks an MLflow error answer: the status, a body of exactly `error_code` and `message` (no modelctl `error`
/// object), the code, and that the message names every fragment.
func expectMLflowError(
    _ response: TestResponse,
    _ status: HTTPResponse.Status,
    _ code: String,
    mentioning fragments: [String] = [],
    _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "\(what()) body: \(response.text)", sourceLocation: sourceLocation)
    let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
    guard let object, let errorCode = object["error_code"] as? String, let message = object["message"] as? String
    else {
        Issue.record(
            "\(what()) expected an MLflow error body with error_code \(code), got \(response.status.code) '\(response.text)'",
            sourceLocation: sourceLocation
        )
        return
    }
    #expect(
        Set(object.keys) == ["error_code", "message"],
        "\(what()) body: \(response.text)",
        sourceLocation: sourceLocation
    )
    #expect(
        response.headers[.contentType]?.hasPrefix("application/json") == true,
        "\(what())",
        sourceLocation: sourceLocation
    )
    #expect(errorCode == code, "\(what()) message: \(message)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(
            message.contains(fragment),
            "\(what()) message '\(message)' should mention '\(fragment)'",
            sourceLocation: sourceLocation
        )
    }
}

/// The versions of `model` through the v1 API (numbers, newest first).
func v1VersionNumbers(_ client: APIClient, model: String, token: String? = nil) async throws -> [Int] {
    let response = try await send(
        client,
        .get,
        "/api/v1/models/\(model)/versions",
        authorization: token.map { "Bearer \($0)" }
    )
    try expectStatus(response, .ok)
    return try response.decode(APIVersionList.self).versions.map(\.version)
}
