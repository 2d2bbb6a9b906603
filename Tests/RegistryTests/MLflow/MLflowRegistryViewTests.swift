import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// A version pushed through the v1 API is an MLflow model version too: `model-versions/get` reads it, its download URI
/// is `mlflow-artifacts:/registry/<name>/<n>`, and that read-only view of the artifact tree serves its files.
@Suite struct MLflowRegistryViewTests {
    static let onnx = BlobFixture.onnx(count: 4096, seed: 21)
    static let labels = BlobFixture(bytes: Array("{\"labels\": [\"cat\", \"dog\"]}".utf8))
    static let readme = BlobFixture(count: 700, seed: 22)

    /// Version 1 of `model`, pushed, uploaded and committed through the v1 API.
    @discardableResult
    func v1Version(_ client: APIClient, model: String = "resnet") async throws -> APIVersion {
        try await createModel(client, model)
        return try await readyVersion(
            client,
            model: model,
            files: [
                VersionFileSpec("model.onnx", Self.onnx),
                VersionFileSpec("config/labels.json", Self.labels),
                VersionFileSpec("config/docs/README", Self.readme),
            ]
        )
    }

    // MARK: Tests

    @Test func aV1VersionIsAnMLflowModelVersion() async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet pushed through the v1 API
            try await v1Version(client)
            // When MLflow reads it, its model and its latest versions
            let version = try await mlflowGetVersion(client, model: "resnet", version: 1)
            let model = try await mlflowGetModel(client, "resnet")
            // Then it is READY in stage None
            #expect(version.name == "resnet")
            #expect(version.version == "1")
            #expect(version.status == "READY")
            #expect(version.currentStage == "None")
            #expect(model.latestVersions?.map(\.version) == ["1"])
        }
    }

    @Test func itsDownloadURIIsTheRegistryViewAndServesItsFiles() async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet pushed through the v1 API
            try await v1Version(client)
            // When its download URI is asked for
            let response = try await mlflow(
                client,
                .get,
                "model-versions/get-download-uri",
                ["name": "resnet", "version": "1"]
            )
            try expectStatus(response, .ok)
            let uri = try response.decode(MLflowDownloadURI.self).artifactUri
            // Then it is the registry view of the version
            #expect(uri == "mlflow-artifacts:/registry/resnet/1")
            // And listing it gives its direct children, the nested files as a directory
            let top = try await mlflowListArtifacts(client, "registry/resnet/1")
            #expect(
                top.sorted { $0.path < $1.path } == [
                    MLflowFileInfo(path: "config", isDir: true, fileSize: nil),
                    MLflowFileInfo(path: "model.onnx", isDir: false, fileSize: Int64(Self.onnx.size)),
                ]
            )
            let config = try await mlflowListArtifacts(client, "registry/resnet/1/config")
            #expect(
                config.sorted { $0.path < $1.path } == [
                    MLflowFileInfo(path: "docs", isDir: true, fileSize: nil),
                    MLflowFileInfo(path: "labels.json", isDir: false, fileSize: Int64(Self.labels.size)),
                ]
            )
            // And every file downloads with its bytes
            for (path, blob) in [
                ("model.onnx", Self.onnx), ("config/labels.json", Self.labels), ("config/docs/README", Self.readme),
            ] {
                let download = try await mlflowArtifact(client, .get, "registry/resnet/1/\(path)")
                try expectStatus(download, .ok)
                #expect(download.bytes == blob.bytes, "file \(path)")
            }
            // And the view lists the model among the registry's models and the version among the model's
            #expect(try await mlflowListArtifacts(client, "registry").contains { $0.path == "resnet" && $0.isDir })
            #expect(
                try await mlflowListArtifacts(client, "registry/resnet") == [MLflowFileInfo(path: "1", isDir: true)]
            )
        }
    }

    @Test func aPendingVersionIsNotInTheView() async throws {
        try await withTestRegistry { client in
            // Given a READY version 1 and a PENDING version 2 whose blob was never uploaded
            try await v1Version(client)
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("model.onnx", .onnx(seed: 99))])
            // When the view of the model and of version 2 is read
            let versions = try await mlflowListArtifacts(client, "registry/resnet")
            let download = try await mlflowArtifact(client, .get, "registry/resnet/2/model.onnx")
            // Then only version 1 is listed and version 2's file is 404
            #expect(versions.map(\.path) == ["1"])
            expectMLflowError(download, .notFound, "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func missingFilesAndVersionsInTheViewAre404() async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet
            try await v1Version(client)
            // When a file, a version and a model that do not exist are read through the view
            for path in ["registry/resnet/1/nope.bin", "registry/resnet/9/model.onnx", "registry/ghost/1/model.onnx"] {
                let response = try await mlflowArtifact(client, .get, path)
                // Then each is 404 RESOURCE_DOES_NOT_EXIST
                expectMLflowError(response, .notFound, "RESOURCE_DOES_NOT_EXIST", path)
            }
        }
    }

    @Test(arguments: [
        "registry/resnet/1/model.onnx", "registry/resnet/1/new.bin", "registry/resnet/1", "registry/resnet",
        "registry",
    ])
    func writingOrDeletingInTheViewIsRefused(_ path: String) async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet
            try await v1Version(client)
            // When the view is written to or deleted from
            let put = try await mlflowArtifact(client, .put, path, body: Array("overwritten".utf8))
            let delete = try await mlflowArtifact(client, .delete, path)
            // Then both are 400 INVALID_PARAMETER_VALUE
            expectMLflowError(put, .badRequest, "INVALID_PARAMETER_VALUE", "PUT \(path)")
            expectMLflowError(delete, .badRequest, "INVALID_PARAMETER_VALUE", "DELETE \(path)")
            // And the version's files are unchanged
            let download = try await mlflowArtifact(client, .get, "registry/resnet/1/model.onnx")
            #expect(download.bytes == Self.onnx.bytes)
            let v1 = try await getVersion(client, model: "resnet", version: 1)
            #expect(v1.files.count == 3)
        }
    }

    @Test func aVersionCreatedFromTheViewIsACopy() async throws {
        try await withTestRegistry { client in
            // Given version 1 of resnet pushed through the v1 API and a second model
            try await v1Version(client)
            try await mlflowCreateModel(client, "resnet-copy")
            // When a version of the second model is created from the first's download URI
            let copy = try await mlflowCreateVersion(
                client,
                model: "resnet-copy",
                source: "mlflow-artifacts:/registry/resnet/1"
            )
            // Then it is READY with the same files
            #expect(copy.status == "READY")
            let v1 = try await getVersion(client, model: "resnet-copy", version: 1)
            let original = try await getVersion(client, model: "resnet", version: 1)
            #expect(
                Set(v1.files.map { "\($0.path) \($0.size) \($0.digest)" })
                    == Set(original.files.map { "\($0.path) \($0.size) \($0.digest)" })
            )
        }
    }
}
