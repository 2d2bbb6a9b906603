import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `registered-models/search` and `model-versions/search` over the real store: filters, ordering, paging, errors and
/// what the caller may read.
@Suite struct MLflowSearchTests {
    /// `registered-models/search` (GET, as the MLflow client sends it); it must answer 200.
    func searchModels(
        _ client: APIClient,
        filter: String? = nil,
        orderBy: [String] = [],
        maxResults: Int? = nil,
        pageToken: String? = nil,
        token: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> MLflowModelSearchAnswer {
        var parameters: [String: Any] = [:]
        if let filter { parameters["filter"] = filter }
        if !orderBy.isEmpty { parameters["order_by"] = orderBy }
        if let maxResults { parameters["max_results"] = maxResults }
        if let pageToken { parameters["page_token"] = pageToken }
        let response = try await mlflow(client, .get, "registered-models/search", parameters, token: token)
        try expectStatus(response, .ok, sourceLocation: sourceLocation)
        return try response.decode(MLflowModelSearchAnswer.self, sourceLocation: sourceLocation)
    }

    func modelNames(
        _ client: APIClient,
        filter: String? = nil,
        orderBy: [String] = [],
        token: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String] {
        try await searchModels(
            client,
            filter: filter,
            orderBy: orderBy,
            token: token,
            sourceLocation: sourceLocation
        ).registeredModels?.map(\.name) ?? []
    }

    /// `model-versions/search`; it must answer 200.
    func searchVersions(
        _ client: APIClient,
        filter: String? = nil,
        orderBy: [String] = [],
        maxResults: Int? = nil,
        pageToken: String? = nil,
        token: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> MLflowVersionSearchAnswer {
        var parameters: [String: Any] = [:]
        if let filter { parameters["filter"] = filter }
        if !orderBy.isEmpty { parameters["order_by"] = orderBy }
        if let maxResults { parameters["max_results"] = maxResults }
        if let pageToken { parameters["page_token"] = pageToken }
        let response = try await mlflow(client, .get, "model-versions/search", parameters, token: token)
        try expectStatus(response, .ok, sourceLocation: sourceLocation)
        return try response.decode(MLflowVersionSearchAnswer.self, sourceLocation: sourceLocation)
    }

    /// `name/version` of every version found.
    func versionIDs(
        _ client: APIClient,
        filter: String? = nil,
        orderBy: [String] = [],
        token: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String] {
        try await searchVersions(
            client,
            filter: filter,
            orderBy: orderBy,
            token: token,
            sourceLocation: sourceLocation
        ).modelVersions?.map { "\($0.name)/\($0.version)" } ?? []
    }

    /// Models with names of several cases, tags, and a prompt.
    func modelsFixture(_ client: APIClient) async throws {
        try await mlflowCreateModel(client, "vision-resnet", tags: ["team": "vision"])
        try await mlflowCreateModel(client, "vision-ViT", tags: ["team": "Vision"])
        try await mlflowCreateModel(client, "Vision-upper")
        try await mlflowCreateModel(client, "nlp-bert", tags: ["team": "nlp", "size": "large"])
        try await mlflowCreateModel(
            client,
            "prompt-summary",
            tags: ["mlflow.prompt.is_prompt": "true", "team": "nlp"]
        )
        try await mlflowCreateModel(client, "plain")
    }

    // MARK: Registered models

    @Test(arguments: [
        ("name = 'nlp-bert'", ["nlp-bert"]),
        ("name != 'nlp-bert'", ["Vision-upper", "plain", "prompt-summary", "vision-ViT", "vision-resnet"]),
        ("name LIKE 'vision-%'", ["vision-ViT", "vision-resnet"]),
        ("name LIKE 'Vision-%'", ["Vision-upper"]),
        ("name LIKE '%-vit'", []),
        ("name ILIKE 'vision-%'", ["Vision-upper", "vision-ViT", "vision-resnet"]),
        ("name ILIKE '%-vit'", ["vision-ViT"]),
        ("name LIKE 'p_ain'", ["plain"]),
        ("tags.team = 'vision'", ["vision-resnet"]),
        ("tags.team ILIKE 'vision'", ["vision-ViT", "vision-resnet"]),
        ("tags.team = 'nlp' AND name LIKE '%bert'", ["nlp-bert"]),
        ("tags.size = 'large'", ["nlp-bert"]),
        (
            "tags.`mlflow.prompt.is_prompt` != 'true'",
            ["Vision-upper", "nlp-bert", "plain", "vision-ViT", "vision-resnet"]
        ),
        ("tags.`mlflow.prompt.is_prompt` = 'true'", ["prompt-summary"]),
        ("name = 'nobody'", []),
    ])
    func registeredModelFilters(_ filter: String, _ expected: [String]) async throws {
        try await withTestRegistry { client in
            // Given models of several names and tags
            try await modelsFixture(client)
            // When they are searched with the filter
            let names = try await modelNames(client, filter: filter)
            // Then exactly the matching ones are found, by name
            #expect(names == expected, "filter: \(filter)")
        }
    }

    @Test func registeredModelsAreOrderedByName() async throws {
        try await withTestRegistry { client in
            // Given models of several names
            try await modelsFixture(client)
            let all = ["Vision-upper", "nlp-bert", "plain", "prompt-summary", "vision-ViT", "vision-resnet"]
            // When they are searched without and with an order
            // Then the default is by name, ascending; DESC reverses it
            #expect(try await modelNames(client) == all)
            #expect(try await modelNames(client, orderBy: ["name ASC"]) == all)
            #expect(try await modelNames(client, orderBy: ["name DESC"]) == all.reversed())
            #expect(try await modelNames(client, orderBy: ["attributes.name desc"]) == all.reversed())
        }
    }

    @Test(arguments: [1, 2, 3, 5, 6, 7])
    func registeredModelPagesCoverEveryModelOnce(_ pageSize: Int) async throws {
        try await withTestRegistry { client in
            // Given six models
            try await modelsFixture(client)
            // When they are read page by page, by name descending
            var names: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let page = try await searchModels(
                    client,
                    orderBy: ["name DESC"],
                    maxResults: pageSize,
                    pageToken: token
                )
                let found = page.registeredModels?.map(\.name) ?? []
                #expect(found.count <= pageSize)
                names += found
                token = page.nextPageToken
                pages += 1
            } while token != nil && pages < 20
            // Then every model comes once, in order, in ceil(6 / size) pages
            #expect(names == ["vision-resnet", "vision-ViT", "prompt-summary", "plain", "nlp-bert", "Vision-upper"])
            #expect(pages == (6 + pageSize - 1) / pageSize)
        }
    }

    @Test func registeredModelPagesOfAFilteredSearch() async throws {
        try await withTestRegistry { client in
            // Given six models, five of which are not prompts
            try await modelsFixture(client)
            let filter = "tags.`mlflow.prompt.is_prompt` != 'true'"
            // When the non-prompts are read two by two
            let first = try await searchModels(client, filter: filter, maxResults: 2)
            let second = try await searchModels(client, filter: filter, maxResults: 2, pageToken: first.nextPageToken)
            let third = try await searchModels(client, filter: filter, maxResults: 2, pageToken: second.nextPageToken)
            // Then the pages hold 2, 2 and 1 models and the last has no next token
            #expect(first.registeredModels?.map(\.name) == ["Vision-upper", "nlp-bert"])
            #expect(second.registeredModels?.map(\.name) == ["plain", "vision-ViT"])
            #expect(third.registeredModels?.map(\.name) == ["vision-resnet"])
            #expect(first.nextPageToken != nil)
            #expect(third.nextPageToken == nil)
        }
    }

    @Test(arguments: [
        ["filter": "name ~ 'x'"],
        ["filter": "owner = 'x'"],
        ["filter": "name = 'a' OR name = 'b'"],
        ["filter": "name = x"],
        ["filter": "name = 'unterminated"],
        ["filter": "metrics.acc > 1"],
        ["filter": "name >"],
        ["order_by": "size DESC"],
        ["order_by": "name SIDEWAYS"],
        ["max_results": "0"],
        ["max_results": "-1"],
        ["max_results": "1001"],
        ["max_results": "ten"],
        ["page_token": "garbage"],
        ["page_token": "b2Zmc2V0Oi0x"],
    ])
    func invalidRegisteredModelSearchesAre400(_ parameters: [String: String]) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await mlflowCreateModel(client, "resnet")
            // When it is searched with an invalid parameter
            let response = try await mlflow(client, .get, "registered-models/search", parameters)
            // Then it is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", "\(parameters)")
        }
    }

    // MARK: Model versions

    /// resnet 1 and 2 from two runs, bert 1 through the v1 API, bert 2 tagged env=prod; returns the run ids.
    func versionsFixture(_ client: APIClient) async throws -> (String, String) {
        try await mlflowCreateModel(client, "resnet")
        var runs: [String] = []
        for seed in [1, 2] as [UInt64] {
            let run = try await mlflowCreateRun(client)
            try await mlflowUpload(
                client,
                mlflowModelFiles(seed: seed),
                under: "\(mlflowArtifactPath(of: run.info.artifactUri))/model"
            )
            try await mlflowCreateVersion(client, model: "resnet", source: "runs:/\(run.info.runId)/model")
            runs.append(run.info.runId)
        }
        try await createModel(client, "bert")
        try await readyVersion(client, model: "bert", seed: 10)
        try await readyVersion(client, model: "bert", seed: 11)
        let tag = try await mlflow(
            client,
            .post,
            "model-versions/set-tag",
            ["name": "bert", "version": "2", "key": "env", "value": "prod"]
        )
        try expectStatus(tag, .ok)
        return (runs[0], runs[1])
    }

    @Test func modelVersionFilters() async throws {
        try await withTestRegistry { client in
            // Given versions of two models, from runs and through the v1 API, one tagged
            let (first, second) = try await versionsFixture(client)
            // When they are searched with filters
            // Then each finds exactly the matching versions (by name, newest version first)
            #expect(try await versionIDs(client) == ["bert/2", "bert/1", "resnet/2", "resnet/1"])
            #expect(try await versionIDs(client, filter: "name = 'resnet'") == ["resnet/2", "resnet/1"])
            #expect(try await versionIDs(client, filter: "name IN ('bert', 'nobody')") == ["bert/2", "bert/1"])
            #expect(try await versionIDs(client, filter: "run_id = '\(first)'") == ["resnet/1"])
            #expect(try await versionIDs(client, filter: "run_id = '\(second)'") == ["resnet/2"])
            #expect(try await versionIDs(client, filter: "tags.env = 'prod'") == ["bert/2"])
            #expect(try await versionIDs(client, filter: "name LIKE 'res%' AND version_number > 1") == ["resnet/2"])
            #expect(try await versionIDs(client, filter: "name LIKE 'RES%'") == [])
            #expect(try await versionIDs(client, filter: "name ILIKE 'RES%'") == ["resnet/2", "resnet/1"])
            #expect(try await versionIDs(client, filter: "source_path LIKE 'runs:/%'") == ["resnet/2", "resnet/1"])
            #expect(try await versionIDs(client, filter: "name = 'resnet' AND version_number = '1'") == ["resnet/1"])
        }
    }

    @Test func modelVersionsAreOrderedAsAsked() async throws {
        try await withTestRegistry { client in
            // Given versions of two models
            _ = try await versionsFixture(client)
            // When they are searched with an order
            // Then the order is applied, key by key
            #expect(
                try await versionIDs(client, orderBy: ["version_number ASC", "name DESC"])
                    == ["resnet/1", "bert/1", "resnet/2", "bert/2"]
            )
            #expect(
                try await versionIDs(client, orderBy: ["name DESC", "version_number ASC"])
                    == ["resnet/1", "resnet/2", "bert/1", "bert/2"]
            )
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func modelVersionPagesCoverEveryVersionOnce(_ pageSize: Int) async throws {
        try await withTestRegistry { client in
            // Given four versions of two models
            _ = try await versionsFixture(client)
            // When they are read page by page
            var ids: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let page = try await searchVersions(client, maxResults: pageSize, pageToken: token)
                let found = page.modelVersions?.map { "\($0.name)/\($0.version)" } ?? []
                #expect(found.count <= pageSize)
                ids += found
                token = page.nextPageToken
                pages += 1
            } while token != nil && pages < 20
            // Then every version comes once, in order
            #expect(ids == ["bert/2", "bert/1", "resnet/2", "resnet/1"])
            #expect(pages == (4 + pageSize - 1) / pageSize)
        }
    }

    @Test(arguments: [
        ["filter": "metrics.acc > 1"],
        ["filter": "params.lr = '1'"],
        ["filter": "version_number = 'abc'"],
        ["filter": "name = 'a' or name = 'b'"],
        ["filter": "stage = 'Production'"],
        ["order_by": "metrics.acc"],
        ["order_by": "version_number UP"],
        ["max_results": "0"],
        ["max_results": "200001"],
        ["page_token": "%%%"],
    ])
    func invalidModelVersionSearchesAre400(_ parameters: [String: String]) async throws {
        try await withTestRegistry { client in
            // Given / When versions are searched with an invalid parameter
            let response = try await mlflow(client, .get, "model-versions/search", parameters)
            // Then it is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", "\(parameters)")
        }
    }

    // MARK: Visibility

    @Test func aReaderOfAPatternOnlyFindsThoseModels() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given models vision-a, vision-b and other-x, each with a version, and a reader of vision-*
            for (index, name) in ["vision-a", "vision-b", "other-x"].enumerated() {
                try await createModel(client, token: admin, name)
                try await readyVersion(client, token: admin, model: name, blob: .onnx(seed: UInt64(index + 1)))
            }
            let reader = try await tokenWithRole(
                client,
                admin: admin,
                principal: "rita",
                role: "reader",
                pattern: "vision-*"
            )
            // When the reader searches models and versions
            // Then only the vision models and their versions are found
            #expect(try await modelNames(client, token: reader) == ["vision-a", "vision-b"])
            #expect(try await modelNames(client, filter: "name = 'other-x'", token: reader) == [])
            #expect(try await versionIDs(client, token: reader) == ["vision-a/1", "vision-b/1"])
            #expect(try await versionIDs(client, filter: "name = 'other-x'", token: reader) == [])
            // And paging by one never reaches other-x
            let first = try await searchModels(client, maxResults: 1, token: reader)
            let second = try await searchModels(client, maxResults: 1, pageToken: first.nextPageToken, token: reader)
            #expect(first.registeredModels?.map(\.name) == ["vision-a"])
            #expect(second.registeredModels?.map(\.name) == ["vision-b"])
            #expect(second.nextPageToken == nil)
            // And the admin finds all three
            #expect(try await modelNames(client, token: admin) == ["other-x", "vision-a", "vision-b"])
            // And a device given vision-b finds only vision-b
            let device = try await deviceToken(client, admin: admin, device: "cam-1", models: ["vision-b"]).token
            #expect(try await modelNames(client, token: device) == ["vision-b"])
            #expect(try await versionIDs(client, token: device) == ["vision-b/1"])
            // And reading other-x directly is refused
            let direct = try await mlflow(client, .get, "registered-models/get", ["name": "other-x"], token: reader)
            expectMLflowError(direct, .forbidden, "PERMISSION_DENIED")
        }
    }
}
