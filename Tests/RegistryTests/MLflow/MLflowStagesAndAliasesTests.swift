import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Stages and aliases are one state seen by both APIs: what MLflow changes the v1 API sees, and the other way round.
@Suite struct MLflowStagesAndAliasesTests {
    /// `model-versions/transition-stage` without checking the answer.
    func transition(
        _ client: APIClient,
        model: String,
        version: Int,
        stage: String,
        archiveExisting: Bool
    ) async throws -> TestResponse {
        try await mlflow(
            client,
            .post,
            "model-versions/transition-stage",
            [
                "name": model, "version": String(version), "stage": stage,
                "archive_existing_versions": archiveExisting,
            ]
        )
    }

    /// A model with `count` READY versions pushed through the v1 API.
    func modelWithVersions(_ client: APIClient, _ name: String, count: Int) async throws {
        try await createModel(client, name)
        for seed in 1...count { try await readyVersion(client, model: name, seed: UInt64(seed)) }
    }

    // MARK: Tests

    @Test func transitionWithArchiveExistingArchivesThePreviousProductionHolder() async throws {
        try await withTestRegistry { client in
            // Given versions 1, 2 and 3, with 1 in Production and 2 in Staging
            try await modelWithVersions(client, "resnet", count: 3)
            try expectStatus(
                try await transition(client, model: "resnet", version: 1, stage: "Production", archiveExisting: false),
                .ok
            )
            try expectStatus(
                try await transition(client, model: "resnet", version: 2, stage: "Staging", archiveExisting: false),
                .ok
            )
            // When version 3 moves to Production archiving the existing versions of that stage
            let response = try await transition(
                client,
                model: "resnet",
                version: 3,
                stage: "Production",
                archiveExisting: true
            )
            // Then MLflow answers version 3 in Production
            try expectStatus(response, .ok)
            #expect(try response.decode(MLflowModelVersionAnswer.self).modelVersion.currentStage == "Production")
            // And the v1 API sees version 1 archived, version 2 still in Staging and version 3 in Production
            #expect(try await getVersion(client, model: "resnet", version: 1).stage == "Archived")
            #expect(try await getVersion(client, model: "resnet", version: 2).stage == "Staging")
            #expect(try await getVersion(client, model: "resnet", version: 3).stage == "Production")
            let production = try await send(client, .get, "/api/v1/models/resnet/stages/Production")
            try expectStatus(production, .ok)
            #expect(try production.decode(APIVersion.self).version == 3)
            // And the history records the stage changes with the move of version 1
            let events = try await history(client, model: "resnet").events.filter { $0.kind == "stage.changed" }
            #expect(events.contains { $0.version == 3 && $0.to == "Production" })
            // And MLflow reads version 1 as Archived
            #expect(try await mlflowGetVersion(client, model: "resnet", version: 1).currentStage == "Archived")
        }
    }

    @Test func transitionWithoutArchiveExistingKeepsThePreviousHolder() async throws {
        try await withTestRegistry { client in
            // Given versions 1 and 2, with 1 in Production
            try await modelWithVersions(client, "resnet", count: 2)
            try expectStatus(
                try await transition(client, model: "resnet", version: 1, stage: "Production", archiveExisting: false),
                .ok
            )
            // When version 2 moves to Production without archiving
            try expectStatus(
                try await transition(client, model: "resnet", version: 2, stage: "Production", archiveExisting: false),
                .ok
            )
            // Then both are in Production, as in MLflow
            #expect(try await getVersion(client, model: "resnet", version: 1).stage == "Production")
            #expect(try await getVersion(client, model: "resnet", version: 2).stage == "Production")
        }
    }

    @Test(arguments: ["production", "PRODUCTION", "Production"])
    func stageNamesAreCaseInsensitive(_ stage: String) async throws {
        try await withTestRegistry { client in
            // Given a version
            try await modelWithVersions(client, "resnet", count: 1)
            // When it is moved with the stage name in any case
            let response = try await transition(
                client,
                model: "resnet",
                version: 1,
                stage: stage,
                archiveExisting: false
            )
            // Then it is in Production
            try expectStatus(response, .ok)
            #expect(try await getVersion(client, model: "resnet", version: 1).stage == "Production")
        }
    }

    @Test func anUnknownStageIs400NamingIt() async throws {
        try await withTestRegistry { client in
            // Given a version
            try await modelWithVersions(client, "resnet", count: 1)
            // When it is moved to a stage that does not exist
            let response = try await transition(
                client,
                model: "resnet",
                version: 1,
                stage: "Live",
                archiveExisting: false
            )
            // Then it is 400 INVALID_PARAMETER_VALUE naming the stage, and the version has not moved
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: ["Live"])
            #expect(try await getVersion(client, model: "resnet", version: 1).stage == "None")
        }
    }

    @Test func anAliasSetThroughMLflowResolvesThroughV1() async throws {
        try await withTestRegistry { client in
            // Given versions 1 and 2
            try await modelWithVersions(client, "resnet", count: 2)
            // When MLflow sets the alias champion on version 2
            let set = try await mlflow(
                client,
                .post,
                "registered-models/alias",
                ["name": "resnet", "alias": "champion", "version": "2"]
            )
            try expectStatus(set, .ok)
            // Then the v1 API resolves the alias to version 2 and lists it
            let resolved = try await send(client, .get, "/api/v1/models/resnet/aliases/champion")
            try expectStatus(resolved, .ok)
            #expect(try resolved.decode(APIVersion.self).version == 2)
            #expect(try await getModel(client, "resnet").aliases == ["champion": 2])
            #expect(try await getVersion(client, model: "resnet", version: 2).aliases == ["champion"])
            // And the history records it
            #expect(
                try await history(client, model: "resnet").events.contains {
                    $0.kind == "alias.set" && $0.subject == "champion"
                }
            )
            // When MLflow moves it to version 1 and then deletes it
            try expectStatus(
                try await mlflow(
                    client,
                    .post,
                    "registered-models/alias",
                    ["name": "resnet", "alias": "champion", "version": 1]
                ),
                .ok
            )
            #expect(try await getModel(client, "resnet").aliases == ["champion": 1])
            let deleted = try await mlflow(
                client,
                .delete,
                "registered-models/alias",
                ["name": "resnet", "alias": "champion"]
            )
            try expectStatus(deleted, .ok)
            // Then the v1 API no longer resolves it
            expectError(try await send(client, .get, "/api/v1/models/resnet/aliases/champion"), .notFound, "not_found")
        }
    }

    @Test func aPromotionThroughV1IsSeenByMLflow() async throws {
        try await withTestRegistry { client in
            // Given versions 1, 2 and 3
            try await modelWithVersions(client, "resnet", count: 3)
            // When the v1 API promotes 2 to Production, 3 to Staging and points the alias champion at 2
            try expectStatus(try await setStage(client, model: "resnet", version: 2, stage: "Production"), .ok)
            try expectStatus(try await setStage(client, model: "resnet", version: 3, stage: "Staging"), .ok)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 2), .ok)
            // Then MLflow's registered model lists the latest version of each stage and the alias
            let model = try await mlflowGetModel(client, "resnet")
            let latest = Dictionary(
                uniqueKeysWithValues: (model.latestVersions ?? []).map { ($0.currentStage, $0.version) }
            )
            #expect(latest == ["None": "1", "Production": "2", "Staging": "3"])
            #expect(model.aliases == [MLflowAlias(alias: "champion", version: "2")])
            // And the version lists its alias, and get-latest-versions filters by stage
            #expect(try await mlflowGetVersion(client, model: "resnet", version: 2).aliases == ["champion"])
            let production = try await mlflow(
                client,
                .post,
                "registered-models/get-latest-versions",
                ["name": "resnet", "stages": ["Production"]]
            )
            try expectStatus(production, .ok)
            #expect(try production.decode(MLflowVersionSearchAnswer.self).modelVersions?.map(\.version) == ["2"])
            // And the alias resolves through MLflow
            let alias = try await mlflow(
                client,
                .get,
                "registered-models/alias",
                ["name": "resnet", "alias": "champion"]
            )
            try expectStatus(alias, .ok)
            #expect(try alias.decode(MLflowModelVersionAnswer.self).modelVersion.version == "2")
        }
    }

    @Test func anAliasOnAVersionThatDoesNotExistIs404AndChangesNothing() async throws {
        try await withTestRegistry { client in
            // Given one version
            try await modelWithVersions(client, "resnet", count: 1)
            // When MLflow points an alias at version 9
            let response = try await mlflow(
                client,
                .post,
                "registered-models/alias",
                ["name": "resnet", "alias": "champion", "version": "9"]
            )
            // Then it is 404 RESOURCE_DOES_NOT_EXIST, and no alias exists
            expectMLflowError(response, .notFound, "RESOURCE_DOES_NOT_EXIST")
            #expect(try await getModel(client, "resnet").aliases.isEmpty)
        }
    }
}
