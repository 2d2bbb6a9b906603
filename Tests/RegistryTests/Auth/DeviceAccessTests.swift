import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// Device tokens read the models they were given and nothing else: no push, no promotion, no other model, no
/// metrics, no token management.
@Suite struct DeviceAccessTests {
    static let ownBlob = BlobFixture.onnx(count: 256, seed: 201)
    static let otherBlob = BlobFixture.onnx(count: 256, seed: 202)
    static let newBlob = BlobFixture(count: 32, seed: 203)

    /// The models `vision-a` (the device's, v1 READY) and `vision-b` and `other-b` (not the device's, v1 READY each),
    /// and a token of the device `cam-17` given `vision-a`.
    struct Fixture {
        var client: any TestClientProtocol
        var admin: String
        var device: String
    }

    func withDevice(_ test: @escaping @Sendable (Fixture) async throws -> Void) async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            try await createModel(client, token: admin, "vision-a")
            try await readyVersion(client, token: admin, model: "vision-a", blob: Self.ownBlob)
            try await createModel(client, token: admin, "vision-b")
            try await readyVersion(client, token: admin, model: "vision-b", blob: Self.otherBlob)
            try await createModel(client, token: admin, "other-b")
            try await readyVersion(client, token: admin, model: "other-b", blob: Self.otherBlob)
            let device = try await deviceToken(client, admin: admin, device: "cam-17", models: ["vision-a"])
            try await test(Fixture(client: client, admin: admin, device: device.token))
        }
    }

    // MARK: Tests

    @Test func aDeviceCannotPushToItsModel() async throws {
        try await withDevice { fixture in
            let client = fixture.client
            // When the device uploads a blob, opens an upload, creates and commits a version of its own model
            let blob = try await send(
                client,
                .put,
                "/api/v1/blobs/\(Self.newBlob.digest)",
                token: fixture.device,
                body: ByteBuffer(bytes: Self.newBlob.bytes)
            )
            let upload = try await send(client, .post, "/api/v1/uploads", token: fixture.device)
            let file: [String: Any] = ["path": "model.onnx", "size": Self.ownBlob.size, "digest": Self.ownBlob.digest]
            let version = try await send(
                client,
                .post,
                "/api/v1/models/vision-a/versions",
                token: fixture.device,
                json: ["files": [file]]
            )
            let update = try await send(
                client,
                .patch,
                "/api/v1/models/vision-a",
                token: fixture.device,
                json: ["description": "mine"]
            )
            // Then each is 403
            expectForbidden(blob, mentioning: ["writer"])
            expectForbidden(upload, mentioning: ["writer"])
            expectForbidden(version, mentioning: ["writer"])
            expectForbidden(update, mentioning: ["writer"])
            // And nothing was stored
            let head = try await send(client, .head, "/api/v1/blobs/\(Self.newBlob.digest)", token: fixture.admin)
            #expect(head.status == .notFound)
            let versions = try await send(client, .get, "/api/v1/models/vision-a/versions", token: fixture.admin)
            #expect(try versions.decode(APIVersionList.self).versions.count == 1)
        }
    }

    @Test func aDeviceCannotPromoteOrRollBack() async throws {
        try await withDevice { fixture in
            let client = fixture.client
            let model = "/api/v1/models/vision-a"
            // When the device moves its version to Production, sets an alias, rolls back
            let stage = try await send(
                client,
                .post,
                "\(model)/versions/1/stage",
                token: fixture.device,
                json: ["stage": "Production"]
            )
            let alias = try await send(
                client,
                .put,
                "\(model)/aliases/champion",
                token: fixture.device,
                json: ["version": 1]
            )
            let rollback = try await send(client, .post, "\(model)/stages/Production/rollback", token: fixture.device)
            let delete = try await send(client, .delete, "\(model)?force=true", token: fixture.device)
            // Then each is 403 naming the role needed
            expectForbidden(stage, mentioning: ["promoter", "cam-17"])
            expectForbidden(alias, mentioning: ["promoter"])
            expectForbidden(rollback, mentioning: ["promoter"])
            expectForbidden(delete, mentioning: ["admin"])
        }
    }

    @Test func aDeviceCannotCreateModelsEvenWithTheNameOfItsModel() async throws {
        try await withDevice { fixture in
            // When the device creates a new model, and one named like its own
            let new = try await send(
                fixture.client,
                .post,
                "/api/v1/models",
                token: fixture.device,
                json: ["name": "vision-c"]
            )
            let same = try await send(
                fixture.client,
                .post,
                "/api/v1/models",
                token: fixture.device,
                json: ["name": "vision-a"]
            )
            // Then both are 403
            expectForbidden(new, mentioning: ["writer"])
            expectForbidden(same, mentioning: ["writer"])
            let missing = try await send(fixture.client, .get, "/api/v1/models/vision-c", token: fixture.admin)
            #expect(missing.status == .notFound)
        }
    }

    @Test func aDeviceCannotReadAnotherModelOrItsBlobs() async throws {
        try await withDevice { fixture in
            let client = fixture.client
            // When the device reads another model, its versions, its file, its blob
            let model = try await send(client, .get, "/api/v1/models/vision-b", token: fixture.device)
            let versions = try await send(client, .get, "/api/v1/models/vision-b/versions", token: fixture.device)
            let file = try await send(
                client,
                .get,
                "/api/v1/models/vision-b/versions/1/files/model.onnx",
                token: fixture.device
            )
            let history = try await send(client, .get, "/api/v1/models/other-b/history", token: fixture.device)
            let blob = try await send(client, .get, "/api/v1/blobs/\(Self.otherBlob.digest)", token: fixture.device)
            let head = try await send(client, .head, "/api/v1/blobs/\(Self.otherBlob.digest)", token: fixture.device)
            // Then each is 403, and no byte of the other model is served
            expectForbidden(model, mentioning: ["vision-b", "reader"])
            expectForbidden(versions, mentioning: ["reader"])
            expectForbidden(file, mentioning: ["reader"])
            expectForbidden(history, mentioning: ["reader"])
            #expect(blob.status == .forbidden, "body: \(blob.text)")
            #expect(!blob.bytes.starts(with: Self.otherBlob.bytes.prefix(16)))
            #expect(head.status == .forbidden)
        }
    }

    @Test func aDeviceListsOnlyItsModels() async throws {
        try await withDevice { fixture in
            // When the device lists models, with and without a prefix that matches others
            let all = try await send(fixture.client, .get, "/api/v1/models", token: fixture.device)
            let prefixed = try await send(fixture.client, .get, "/api/v1/models?prefix=vision", token: fixture.device)
            let others = try await send(fixture.client, .get, "/api/v1/models?prefix=other", token: fixture.device)
            // Then only vision-a is listed
            try expectStatus(all, .ok)
            #expect(try all.decode(APIModelList.self).models.map(\.name) == ["vision-a"])
            #expect(try prefixed.decode(APIModelList.self).models.map(\.name) == ["vision-a"])
            #expect(try others.decode(APIModelList.self).models.map(\.name) == [])
            // While the administrator sees all three
            let admin = try await send(fixture.client, .get, "/api/v1/models", token: fixture.admin)
            #expect(try admin.decode(APIModelList.self).models.map(\.name) == ["other-b", "vision-a", "vision-b"])
        }
    }

    @Test func aDeviceCannotReadMetricsTheAPIDescriptionOrTokens() async throws {
        try await withDevice { fixture in
            // When the device reads /metrics, the OpenAPI document, the token list, the principals
            let metrics = try await send(fixture.client, .get, "/metrics", token: fixture.device)
            let openAPI = try await send(fixture.client, .get, "/api/v1/openapi.yaml", token: fixture.device)
            let tokens = try await send(fixture.client, .get, "/api/v1/tokens", token: fixture.device)
            let principals = try await send(fixture.client, .get, "/api/v1/principals", token: fixture.device)
            // Then each is 403
            expectForbidden(metrics, mentioning: ["device"])
            expectForbidden(openAPI, mentioning: ["device"])
            expectForbidden(tokens, mentioning: ["admin"])
            expectForbidden(principals, mentioning: ["admin"])
        }
    }

    @Test func aDeviceReadsItsModelItsVersionsItsFilesAndWhoami() async throws {
        try await withDevice { fixture in
            let client = fixture.client
            // When the device reads its model, its versions, its file, the file's blob, and whoami
            let model = try await send(client, .get, "/api/v1/models/vision-a", token: fixture.device)
            let versions = try await send(client, .get, "/api/v1/models/vision-a/versions", token: fixture.device)
            let version = try await send(client, .get, "/api/v1/models/vision-a/versions/1", token: fixture.device)
            let file = try await send(
                client,
                .get,
                "/api/v1/models/vision-a/versions/1/files/model.onnx",
                token: fixture.device
            )
            let blob = try await send(client, .get, "/api/v1/blobs/\(Self.ownBlob.digest)", token: fixture.device)
            let head = try await send(client, .head, "/api/v1/blobs/\(Self.ownBlob.digest)", token: fixture.device)
            let me = try await whoami(client, token: fixture.device)
            // Then all succeed with the content
            try expectStatus(model, .ok)
            #expect(try versions.decode(APIVersionList.self).versions.map(\.version) == [1])
            #expect(try version.decode(APIVersion.self).files.map(\.digest) == [Self.ownBlob.digest])
            try expectStatus(file, .ok)
            #expect(file.bytes == Self.ownBlob.bytes)
            #expect(blob.bytes == Self.ownBlob.bytes)
            #expect(head.status == .ok)
            // And whoami names the device and its models, with no roles
            #expect(me.principal == "cam-17")
            #expect(me.id == "device:cam-17")
            #expect(me.kind == "device")
            #expect(me.authentication == "token")
            #expect(me.models == ["vision-a"])
            #expect(me.roles == [])
        }
    }

    @Test func aDeviceReadsABlobItsModelSharesWithAnotherModel() async throws {
        try await withDevice { fixture in
            // Given vision-a v2 holding the same bytes as vision-b and other-b
            try await readyVersion(fixture.client, token: fixture.admin, model: "vision-a", blob: Self.otherBlob)
            // When the device reads that blob
            let blob = try await send(
                fixture.client,
                .get,
                "/api/v1/blobs/\(Self.otherBlob.digest)",
                token: fixture.device
            )
            // Then it is served: the device may read it through its own model
            try expectStatus(blob, .ok)
            #expect(blob.bytes == Self.otherBlob.bytes)
        }
    }
}
