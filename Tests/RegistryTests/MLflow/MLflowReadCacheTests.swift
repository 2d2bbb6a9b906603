import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// The read cache of the MLflow routes: a value is served only while the store has not changed since it was read,
/// so every change, through either API, is visible to the very next read.
@Suite struct MLflowReadCacheTests {
    @Test func aValueIsServedOnlyUnderTheChangeCountItWasReadAt() {
        let cache = ChangeKeyedCache<String, Int>(capacity: 3)
        cache.keep(1, for: "a", changeCount: 5)
        #expect(cache.value("a", changeCount: 5) == 1)
        // After a change the entry is gone, also when asked with the old count again
        #expect(cache.value("a", changeCount: 6) == nil)
        cache.keep(2, for: "a", changeCount: 6)
        #expect(cache.value("a", changeCount: 5) == nil)
        #expect(cache.value("a", changeCount: 6) == 2)
        // A value read before a change that another request has already seen is not kept
        cache.keep(9, for: "b", changeCount: 5)
        #expect(cache.value("b", changeCount: 5) == nil && cache.value("b", changeCount: 6) == nil)
        // When full it starts again with the new entry
        cache.keep(3, for: "c", changeCount: 6)
        cache.keep(4, for: "d", changeCount: 6)
        cache.keep(5, for: "e", changeCount: 6)
        #expect(cache.value("e", changeCount: 6) == 5)
        #expect(cache.value("a", changeCount: 6) == nil)
    }

    @Test func theStoreCountsEveryWriteTransactionOnceItHasEnded() async throws {
        try await withTemporaryDirectory { directory in
            let database = try RegistryDatabase(path: directory.appending(path: "registry.sqlite").path)
            let store = SQLiteMetadataStore(database: database)
            let start = store.changeCount
            _ = try await store.createModel(name: "m", description: "", tags: [:], actor: Principal(id: "user:a"))
            #expect(store.changeCount == start + 1)
            // A refused write counts too: nothing changed, and nothing is lost by reading again
            await #expect(throws: RegistryError.self) {
                _ = try await store.createModel(name: "m", description: "", tags: [:], actor: Principal(id: "user:a"))
            }
            #expect(store.changeCount == start + 2)
            // Reads do not count
            _ = try await store.model(named: "m")
            _ = try await store.modelSummaries(prefix: nil, name: nil)
            #expect(store.changeCount == start + 2)
        }
    }

    /// Reads every cached answer about `resnet`, as MLflow clients do, and returns them.
    func readAll(
        _ client: APIClient
    ) async throws -> (
        alias: TestResponse, version: MLflowModelVersion, versions: [MLflowModelVersion],
        models: [MLflowRegisteredModel]
    ) {
        let alias = try await mlflow(client, .get, "registered-models/alias", ["name": "resnet", "alias": "champion"])
        let version = try await mlflowGetVersion(client, model: "resnet", version: 1)
        let versions = try await mlflow(client, .get, "model-versions/search", ["filter": "name='resnet'"])
        try expectStatus(versions, .ok)
        let models = try await mlflow(client, .get, "registered-models/search", ["filter": "name LIKE 'res%'"])
        try expectStatus(models, .ok)
        return (
            alias,
            version,
            try versions.decode(MLflowVersionSearchAnswer.self).modelVersions ?? [],
            try models.decode(MLflowModelSearchAnswer.self).registeredModels ?? []
        )
    }

    /// Points resnet's alias champion at `version` through MLflow.
    func pointChampion(_ client: APIClient, at version: String) async throws {
        let response = try await mlflow(
            client,
            .post,
            "registered-models/alias",
            ["name": "resnet", "alias": "champion", "version": version]
        )
        try expectStatus(response, .ok)
    }

    @Test func everyChangeThroughEitherAPIIsSeenByTheNextRead() async throws {
        try await withTestRegistry { client in
            // Given resnet with versions 1 and 2 and the alias champion on 1, read twice (the second from the cache)
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            try await readyVersion(client, model: "resnet", seed: 2)
            try await pointChampion(client, at: "1")
            _ = try await readAll(client)
            var seen = try await readAll(client)
            #expect(try seen.alias.decode(MLflowModelVersionAnswer.self).modelVersion.version == "1")
            #expect(seen.versions.map(\.version) == ["2", "1"])

            // When MLflow moves the alias, the alias answer and both versions' aliases follow
            try await pointChampion(client, at: "2")
            seen = try await readAll(client)
            #expect(try seen.alias.decode(MLflowModelVersionAnswer.self).modelVersion.version == "2")
            #expect(seen.version.aliases == nil)
            #expect(seen.versions.first?.aliases == ["champion"])

            // When the v1 API changes version 1's description and tags
            let patched = try await send(
                client,
                .patch,
                "/api/v1/models/resnet/versions/1",
                json: ["description": "retrained", "tags": ["team": "vision"]]
            )
            try expectStatus(patched, .ok)
            seen = try await readAll(client)
            #expect(seen.version.description == "retrained")
            #expect(seen.version.tags == [MLflowKeyValue(key: "team", value: "vision")])
            #expect(seen.versions.last?.tags == [MLflowKeyValue(key: "team", value: "vision")])

            // When MLflow moves version 1 to Production, the registered model's latest versions follow
            try expectStatus(
                try await mlflow(
                    client,
                    .post,
                    "model-versions/transition-stage",
                    ["name": "resnet", "version": "1", "stage": "Production", "archive_existing_versions": false]
                ),
                .ok
            )
            seen = try await readAll(client)
            #expect(seen.version.currentStage == "Production")
            #expect(seen.models.first?.latestVersions?.map(\.currentStage).sorted() == ["None", "Production"])

            // When a model tag is set, the model search shows it
            try expectStatus(
                try await mlflow(
                    client,
                    .post,
                    "registered-models/set-tag",
                    ["name": "resnet", "key": "k", "value": "v"]
                ),
                .ok
            )
            seen = try await readAll(client)
            #expect(seen.models.first?.tags == [MLflowKeyValue(key: "k", value: "v")])

            // When a new version is pushed through the v1 API, the version search lists it at once
            try await readyVersion(client, model: "resnet", seed: 3)
            seen = try await readAll(client)
            #expect(seen.versions.map(\.version) == ["3", "2", "1"])

            // When the alias's version is deleted, the alias is gone and so is the version
            try expectStatus(
                try await mlflow(client, .delete, "model-versions/delete", ["name": "resnet", "version": "2"]),
                .ok
            )
            let alias = try await mlflow(
                client,
                .get,
                "registered-models/alias",
                ["name": "resnet", "alias": "champion"]
            )
            #expect(alias.status == .badRequest)
            let gone = try await mlflow(client, .get, "model-versions/get", ["name": "resnet", "version": "2"])
            #expect(gone.status == .notFound)

            // When the model is renamed, the old name answers 404 and the new one everything
            try expectStatus(
                try await mlflow(
                    client,
                    .post,
                    "registered-models/rename",
                    ["name": "resnet", "new_name": "resnet-v2"]
                ),
                .ok
            )
            let old = try await mlflow(client, .get, "model-versions/get", ["name": "resnet", "version": "1"])
            #expect(old.status == .notFound)
            #expect(try await mlflowGetVersion(client, model: "resnet-v2", version: 1).description == "retrained")
            let search = try await mlflow(client, .get, "registered-models/search", ["filter": "name LIKE 'res%'"])
            #expect(try search.decode(MLflowModelSearchAnswer.self).registeredModels?.map(\.name) == ["resnet-v2"])
        }
    }

    @Test func cachedAnswersAreByteForByteWhatTheEncoderWrites() async throws {
        try await withTestRegistry { client in
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            // The second answer comes from the cache; both are the same bytes, with a JSON content type and length
            for endpoint in ["model-versions/get", "model-versions/search", "registered-models/search"] {
                let parameters: [String: Any] =
                    endpoint == "model-versions/get" ? ["name": "resnet", "version": "1"] : ["max_results": 1]
                let first = try await mlflow(client, .get, endpoint, parameters)
                let second = try await mlflow(client, .get, endpoint, parameters)
                try expectStatus(first, .ok)
                #expect(first.body == second.body, "\(endpoint)")
                #expect(second.headers[.contentType] == "application/json; charset=utf-8")
                #expect(second.headers[.contentLength] == String(second.body.readableBytes))
                let object =
                    try JSONSerialization.jsonObject(with: Data(second.body.readableBytesView)) as? [String: Any]
                #expect(object?.isEmpty == false, "\(endpoint)")
            }
            // An empty search is {} as before
            let empty = try await mlflow(client, .get, "model-versions/search", ["filter": "name='nothing'"])
            #expect(String(buffer: empty.body) == "{}")
        }
    }
}
