import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Stages (`POST …/versions/{n}/stage`, `GET …/stages/{stage}`, rollback), aliases (`PUT/GET/DELETE …/aliases/{alias}`,
/// rollback) and optimistic concurrency with `If-Match`.
@Suite struct PromotionsTests {
    /// A model `resnet` with `count` READY versions.
    func modelWithReadyVersions(_ client: APIClient, count: Int) async throws {
        try await createModel(client, "resnet")
        for seed in 1...count { try await readyVersion(client, model: "resnet", seed: UInt64(seed)) }
    }

    func stageOf(_ client: APIClient, _ version: Int) async throws -> String {
        try await getVersion(client, model: "resnet", version: version).stage
    }

    func holder(_ client: APIClient, stage: String) async throws -> TestResponse {
        try await send(client, .get, "/api/v1/models/resnet/stages/\(stage)")
    }

    func rollbackStage(
        _ client: APIClient,
        _ stage: String,
        json: Any? = nil,
        ifMatch: String? = nil
    ) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [:]
        if let ifMatch { headers[.ifMatch] = ifMatch }
        return try await send(
            client,
            .post,
            "/api/v1/models/resnet/stages/\(stage)/rollback",
            json: json,
            headers: headers
        )
    }

    func rollbackAlias(
        _ client: APIClient,
        _ alias: String,
        json: Any? = nil,
        ifMatch: String? = nil
    ) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [:]
        if let ifMatch { headers[.ifMatch] = ifMatch }
        return try await send(
            client,
            .post,
            "/api/v1/models/resnet/aliases/\(alias)/rollback",
            json: json,
            headers: headers
        )
    }

    func deleteAlias(
        _ client: APIClient,
        _ alias: String,
        query: String = "",
        ifMatch: String? = nil
    ) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [:]
        if let ifMatch { headers[.ifMatch] = ifMatch }
        return try await send(client, .delete, "/api/v1/models/resnet/aliases/\(alias)\(query)", headers: headers)
    }

    func aliases(_ client: APIClient) async throws -> APIAliases {
        let response = try await send(client, .get, "/api/v1/models/resnet/aliases")
        try expectStatus(response, .ok)
        return try response.decode(APIAliases.self)
    }

    func revision(_ client: APIClient) async throws -> Int64 { try await getModel(client, "resnet").revision }

    // MARK: Tests

    @Test func promotingAReadyVersionMovesItAndAnswersTheChange() async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            let before = try await revision(client)
            // When it is promoted to Production with a comment
            let response = try await setStage(
                client,
                model: "resnet",
                version: 1,
                stage: "Production",
                comment: "go live"
            )
            // Then the change lists holders before and after, the move, and the new revision (also as entity tag)
            try expectStatus(response, .ok)
            let change = try response.decode(APIStageChange.self)
            #expect(change.model == "resnet")
            #expect(change.stage == "Production")
            #expect(change.from == [])
            #expect(change.to == [1])
            #expect(change.moves == [.init(version: 1, from: "None", to: "Production")])
            #expect(change.revision == before + 1)
            #expect(response.headers[.eTag] == "\"\(change.revision)\"")
            // And the version, the stage lookup (any case) and the history agree
            #expect(try await stageOf(client, 1) == "Production")
            for spelling in ["Production", "production", "PRODUCTION"] {
                let lookup = try await holder(client, stage: spelling)
                try expectStatus(lookup, .ok)
                #expect(try lookup.decode(APIVersion.self).version == 1)
            }
            let event = try #require(try await history(client, model: "resnet").events.first)
            #expect(event.kind == "stage.changed")
            #expect(event.id == change.eventId)
            #expect(event.subject == "Production")
            #expect(event.from == "None")
            #expect(event.to == "Production")
            #expect(event.comment == "go live")
        }
    }

    @Test func stageNamesAreCaseInsensitiveInTheBody() async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            // When it is promoted with a lower-case stage name
            let response = try await setStage(client, model: "resnet", version: 1, stage: "staging")
            // Then the canonical name is used
            try expectStatus(response, .ok)
            #expect(try response.decode(APIStageChange.self).stage == "Staging")
            #expect(try await stageOf(client, 1) == "Staging")
        }
    }

    @Test func onlyReadyVersionsCanBeStaged() async throws {
        try await withTestRegistry { client in
            // Given a PENDING and a FAILED version
            try await createModel(client, "resnet")
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", BlobFixture(count: 8, seed: 1))]
            )
            try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", BlobFixture(count: 8, seed: 2))]
            )
            try expectStatus(
                try await send(client, .post, "/api/v1/models/resnet/versions/2/fail", json: ["reason": "x"]),
                .ok
            )
            // When they are promoted
            let pending = try await setStage(client, model: "resnet", version: 1, stage: "Staging")
            let failed = try await setStage(client, model: "resnet", version: 2, stage: "Production")
            // Then both are 409 naming the status, and nothing moved
            expectError(pending, .conflict, "conflict", mentioning: ["version 1", "PENDING", "only READY"])
            expectError(failed, .conflict, "conflict", mentioning: ["version 2", "FAILED"])
            #expect(try await stageOf(client, 1) == "None")
            expectError(
                try await holder(client, stage: "Staging"),
                .notFound,
                "not_found",
                mentioning: ["no version in stage Staging"]
            )
        }
    }

    @Test func setStageErrors() async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            // When the stage is unknown, the version or model missing, the body malformed, the comment invalid
            let stage = try await setStage(client, model: "resnet", version: 1, stage: "gold")
            let version = try await setStage(client, model: "resnet", version: 5, stage: "Staging")
            let model = try await setStage(client, model: "ghost", version: 1, stage: "Staging")
            let noStage = try await send(
                client,
                .post,
                "/api/v1/models/resnet/versions/1/stage",
                json: ["comment": "x"]
            )
            let comment = try await setStage(client, model: "resnet", version: 1, stage: "Staging", comment: "a\u{0}b")
            let archive = try await send(
                client,
                .post,
                "/api/v1/models/resnet/versions/1/stage",
                json: ["stage": "Staging", "archive_existing": "yes"]
            )
            // Then
            expectError(stage, .badRequest, "invalid_argument", mentioning: ["invalid stage 'gold'", "Production"])
            expectError(version, .notFound, "not_found", mentioning: ["has no version 5"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(noStage, .badRequest, "invalid_argument", mentioning: ["stage"])
            expectError(comment, .badRequest, "invalid_argument", mentioning: ["comment", "control character"])
            expectError(archive, .badRequest, "invalid_argument", mentioning: ["archive_existing"])
            // And nothing moved
            #expect(try await stageOf(client, 1) == "None")
            #expect(try await revision(client) == 3)
        }
    }

    @Test func getStageErrors() async throws {
        try await withTestRegistry { client in
            // Given a model with a READY version in no stage
            try await modelWithReadyVersions(client, count: 1)
            // When looking up an empty stage, an unknown stage, and a stage of an unknown model
            let empty = try await holder(client, stage: "Production")
            let unknown = try await holder(client, stage: "gold")
            let model = try await send(client, .get, "/api/v1/models/ghost/stages/Production")
            // Then
            expectError(empty, .notFound, "not_found", mentioning: ["no version in stage Production"])
            expectError(unknown, .badRequest, "invalid_argument", mentioning: ["invalid stage 'gold'"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test func promotingWithArchiveExistingArchivesThePreviousHolders() async throws {
        try await withTestRegistry { client in
            // Given v1 in Production
            try await modelWithReadyVersions(client, count: 2)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Production"), .ok)
            // When v2 is promoted with archive_existing
            let response = try await setStage(
                client,
                model: "resnet",
                version: 2,
                stage: "Production",
                archiveExisting: true
            )
            // Then v1 is archived and v2 alone holds Production
            try expectStatus(response, .ok)
            let change = try response.decode(APIStageChange.self)
            #expect(change.from == [1])
            #expect(change.to == [2])
            #expect(
                change.moves == [
                    .init(version: 2, from: "None", to: "Production"),
                    .init(version: 1, from: "Production", to: "Archived"),
                ]
            )
            #expect(try await stageOf(client, 1) == "Archived")
            #expect(try await stageOf(client, 2) == "Production")
        }
    }

    @Test func promotingWithoutArchiveExistingKeepsSeveralHoldersAndLookupAnswersTheNewest() async throws {
        try await withTestRegistry { client in
            // Given v2 in Production
            try await modelWithReadyVersions(client, count: 2)
            try expectStatus(try await setStage(client, model: "resnet", version: 2, stage: "Production"), .ok)
            // When v1 is promoted without archive_existing
            let response = try await setStage(client, model: "resnet", version: 1, stage: "Production")
            // Then both hold Production and the lookup answers the highest number
            try expectStatus(response, .ok)
            let change = try response.decode(APIStageChange.self)
            #expect(change.from == [2])
            #expect(change.to == [1, 2])
            let lookup = try await holder(client, stage: "Production")
            #expect(try lookup.decode(APIVersion.self).version == 2)
            let listed = try await send(client, .get, "/api/v1/models/resnet/versions?stage=Production")
            #expect(try listed.decode(APIVersionList.self).versions.map(\.version) == [2, 1])
        }
    }

    @Test func stageRollbackUndoesChangesOneAtATime() async throws {
        try await withTestRegistry { client in
            // Given v1 promoted to Production, then v2 promoted archiving v1
            try await modelWithReadyVersions(client, count: 2)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Production"), .ok)
            let promotion = try await setStage(
                client,
                model: "resnet",
                version: 2,
                stage: "Production",
                archiveExisting: true
            )
            let promotionEvent = try promotion.decode(APIStageChange.self).eventId
            // When Production is rolled back
            let first = try await rollbackStage(client, "Production", json: ["comment": "bad latency"])
            // Then v1 is back in Production and v2 back in None
            try expectStatus(first, .ok)
            let change = try first.decode(APIStageChange.self)
            #expect(change.from == [2])
            #expect(change.to == [1])
            #expect(Set(change.moves.map(\.version)) == [1, 2])
            #expect(first.headers[.eTag] == "\"\(change.revision)\"")
            #expect(try await stageOf(client, 1) == "Production")
            #expect(try await stageOf(client, 2) == "None")
            let event = try #require(try await history(client, model: "resnet").events.first)
            #expect(event.kind == "stage.rolled_back")
            #expect(event.revertsEventId == promotionEvent)
            #expect(event.comment == "bad latency")
            // When it is rolled back again (without a body)
            let second = try await rollbackStage(client, "production")
            // Then v1's own promotion is undone
            try expectStatus(second, .ok)
            #expect(try await stageOf(client, 1) == "None")
            expectError(try await holder(client, stage: "Production"), .notFound, "not_found")
            // When there is nothing left to roll back
            let third = try await rollbackStage(client, "Production")
            // Then it is 409
            expectError(third, .conflict, "conflict", mentioning: ["no stage change to Production left to roll back"])
        }
    }

    @Test func stageRollbackRefusesWhenTheVersionWasMovedSince() async throws {
        try await withTestRegistry { client in
            // Given v1 promoted to Production, then moved to Staging
            try await modelWithReadyVersions(client, count: 1)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Production"), .ok)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Staging"), .ok)
            // When Production is rolled back
            let response = try await rollbackStage(client, "Production")
            // Then it is refused naming the version and where it is now, and nothing moved
            expectError(response, .conflict, "conflict", mentioning: ["version 1", "now Staging"])
            #expect(try await stageOf(client, 1) == "Staging")
        }
    }

    @Test func stageRollbackErrors() async throws {
        try await withTestRegistry { client in
            // Given a model with no stage change
            try await modelWithReadyVersions(client, count: 1)
            // When rolling back a stage never changed, an invalid stage, an unknown model, with a bad body
            let nothing = try await rollbackStage(client, "Staging")
            let invalid = try await rollbackStage(client, "gold")
            let model = try await send(client, .post, "/api/v1/models/ghost/stages/Staging/rollback")
            let badBody = try await send(
                client,
                .post,
                "/api/v1/models/resnet/stages/Staging/rollback",
                body: ByteBuffer(string: "{not json")
            )
            let badComment = try await rollbackStage(client, "Staging", json: ["comment": "x\u{7}"])
            // Then
            expectError(nothing, .conflict, "conflict", mentioning: ["no stage change to Staging"])
            expectError(invalid, .badRequest, "invalid_argument", mentioning: ["invalid stage 'gold'"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(badBody, .badRequest, "invalid_argument")
            expectError(badComment, .badRequest, "invalid_argument", mentioning: ["comment"])
        }
    }

    @Test func aliasesAreSetMovedListedAndResolved() async throws {
        try await withTestRegistry { client in
            // Given two READY versions
            try await modelWithReadyVersions(client, count: 2)
            // When champion is set to v1, then moved to v2, and challenger set to v1
            let set = try await setAlias(client, model: "resnet", alias: "champion", version: 1)
            let moved = try await setAlias(client, model: "resnet", alias: "champion", version: 2, comment: "better")
            try expectStatus(try await setAlias(client, model: "resnet", alias: "challenger", version: 1), .ok)
            // Then the changes name the previous and new targets, with the revision as entity tag
            try expectStatus(set, .ok)
            let first = try set.decode(APIAliasChange.self)
            #expect(first.model == "resnet")
            #expect(first.alias == "champion")
            #expect(first.from == nil)
            #expect(first.to == 1)
            #expect(set.headers[.eTag] == "\"\(first.revision)\"")
            try expectStatus(moved, .ok)
            let second = try moved.decode(APIAliasChange.self)
            #expect(second.from == 1)
            #expect(second.to == 2)
            #expect(second.revision == first.revision + 1)
            // And the listing, the lookup, the versions and the model agree
            let listing = try await aliases(client)
            #expect(listing.model == "resnet")
            #expect(listing.aliases == ["champion": 2, "challenger": 1])
            #expect(listing.revision == second.revision + 1)
            let resolved = try await send(client, .get, "/api/v1/models/resnet/aliases/champion")
            try expectStatus(resolved, .ok)
            #expect(try resolved.decode(APIVersion.self).version == 2)
            #expect(try await getVersion(client, model: "resnet", version: 2).aliases == ["champion"])
            #expect(try await getVersion(client, model: "resnet", version: 1).aliases == ["challenger"])
            #expect(try await getModel(client, "resnet").aliases == ["champion": 2, "challenger": 1])
            let event = try #require(
                try await history(client, model: "resnet").events.first { $0.id == second.eventId }
            )
            #expect(event.kind == "alias.set")
            #expect(event.from == "1")
            #expect(event.to == "2")
            #expect(event.comment == "better")
        }
    }

    @Test(arguments: ["canary_v2-eu", "B", String(repeating: "a", count: 64), "latest2", "version1", "v1a"])
    func validAliasesAreAccepted(_ alias: String) async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            // When an alias at the edge of the rules is set and resolved
            let set = try await setAlias(client, model: "resnet", alias: alias, version: 1)
            let resolved = try await send(client, .get, "/api/v1/models/resnet/aliases/\(alias)")
            // Then both work
            try expectStatus(set, .ok)
            try expectStatus(resolved, .ok)
            #expect(try await aliases(client).aliases == [alias: 1])
        }
    }

    @Test func aliasesCanOnlyPointToReadyVersions() async throws {
        try await withTestRegistry { client in
            // Given a PENDING version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", BlobFixture(count: 8))])
            // When an alias is set to it, and to a version that does not exist
            let pending = try await setAlias(client, model: "resnet", alias: "champion", version: 1)
            let missing = try await setAlias(client, model: "resnet", alias: "champion", version: 9)
            // Then
            expectError(
                pending,
                .conflict,
                "conflict",
                mentioning: ["PENDING", "only READY versions can carry an alias"]
            )
            expectError(missing, .notFound, "not_found", mentioning: ["has no version 9"])
            #expect(try await aliases(client).aliases.isEmpty)
        }
    }

    @Test(arguments: [
        "latest", "LATEST", "v1", "V22", "1abc", "has%20space", "_x", "a.b", String(repeating: "a", count: 65),
    ])
    func invalidOrReservedAliasesAre400(_ alias: String) async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            let decoded = alias.removingPercentEncoding!
            // When the alias is set, resolved, deleted or rolled back
            let set = try await setAlias(client, model: "resnet", alias: alias, version: 1)
            let get = try await send(client, .get, "/api/v1/models/resnet/aliases/\(alias)")
            let delete = try await deleteAlias(client, alias)
            let rollback = try await rollbackAlias(client, alias)
            // Then every route refuses it, naming it
            for response in [set, get, delete, rollback] {
                expectError(
                    response,
                    .badRequest,
                    "invalid_argument",
                    mentioning: ["invalid alias '\(decoded.prefix(64))"]
                )
            }
            #expect(try await aliases(client).aliases.isEmpty)
        }
    }

    @Test func setAliasErrors() async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            // When the body lacks the version, has it as a string, the model is unknown, or the comment invalid
            let noVersion = try await send(
                client,
                .put,
                "/api/v1/models/resnet/aliases/champion",
                json: ["comment": "x"]
            )
            let stringVersion = try await send(
                client,
                .put,
                "/api/v1/models/resnet/aliases/champion",
                json: ["version": "1"]
            )
            let model = try await send(client, .put, "/api/v1/models/ghost/aliases/champion", json: ["version": 1])
            let comment = try await setAlias(client, model: "resnet", alias: "champion", version: 1, comment: "\u{1}")
            // Then
            expectError(noVersion, .badRequest, "invalid_argument", mentioning: ["version"])
            expectError(stringVersion, .badRequest, "invalid_argument", mentioning: ["version"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(comment, .badRequest, "invalid_argument", mentioning: ["comment"])
            #expect(try await aliases(client).aliases.isEmpty)
        }
    }

    @Test func unknownAliasIs404ListingTheKnownOnes() async throws {
        try await withTestRegistry { client in
            // Given an alias champion
            try await modelWithReadyVersions(client, count: 1)
            let empty = try await send(client, .get, "/api/v1/models/resnet/aliases/champion")
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            // When resolving another alias, or an alias of an unknown model
            let unknown = try await send(client, .get, "/api/v1/models/resnet/aliases/staging-canary")
            let model = try await send(client, .get, "/api/v1/models/ghost/aliases/champion")
            let listing = try await send(client, .get, "/api/v1/models/ghost/aliases")
            // Then
            expectError(empty, .notFound, "not_found", mentioning: ["no alias 'champion'", "it has no aliases"])
            expectError(
                unknown,
                .notFound,
                "not_found",
                mentioning: ["no alias 'staging-canary'", "aliases: champion"]
            )
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(listing, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test func deletingAnAliasRemovesItAndRecordsTheComment() async throws {
        try await withTestRegistry { client in
            // Given champion → v1
            try await modelWithReadyVersions(client, count: 1)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            // When it is deleted with a comment
            let response = try await deleteAlias(client, "champion", query: "?comment=retired")
            // Then the change goes from 1 to nothing and the alias is gone
            try expectStatus(response, .ok)
            let change = try response.decode(APIAliasChange.self)
            #expect(change.from == 1)
            #expect(change.to == nil)
            #expect(response.headers[.eTag] == "\"\(change.revision)\"")
            #expect(try await aliases(client).aliases.isEmpty)
            expectError(try await send(client, .get, "/api/v1/models/resnet/aliases/champion"), .notFound, "not_found")
            let event = try #require(try await history(client, model: "resnet").events.first)
            #expect(event.kind == "alias.deleted")
            #expect(event.comment == "retired")
        }
    }

    @Test func deleteAliasErrors() async throws {
        try await withTestRegistry { client in
            // Given champion → v1
            try await modelWithReadyVersions(client, count: 1)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            // When deleting an unknown alias, an alias of an unknown model, or with a comment holding a NUL
            let unknown = try await deleteAlias(client, "challenger")
            let model = try await send(client, .delete, "/api/v1/models/ghost/aliases/champion")
            let badComment = try await deleteAlias(client, "champion", query: "?comment=a%00b")
            // Then
            expectError(unknown, .notFound, "not_found", mentioning: ["no alias 'challenger'"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(badComment, .badRequest, "invalid_argument", mentioning: ["comment", "control character"])
            #expect(try await aliases(client).aliases == ["champion": 1])
        }
    }

    @Test func aliasRollbackWalksBackThroughItsChanges() async throws {
        try await withTestRegistry { client in
            // Given champion set to v1, then v2
            try await modelWithReadyVersions(client, count: 2)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            let move = try await setAlias(client, model: "resnet", alias: "champion", version: 2)
            let moveEvent = try move.decode(APIAliasChange.self).eventId
            // When it is rolled back
            let first = try await rollbackAlias(client, "champion", json: ["comment": "regression"])
            // Then it points to v1 again
            try expectStatus(first, .ok)
            let change = try first.decode(APIAliasChange.self)
            #expect(change.from == 2)
            #expect(change.to == 1)
            #expect(first.headers[.eTag] == "\"\(change.revision)\"")
            #expect(try await aliases(client).aliases == ["champion": 1])
            let event = try #require(try await history(client, model: "resnet").events.first)
            #expect(event.kind == "alias.rolled_back")
            #expect(event.revertsEventId == moveEvent)
            #expect(event.comment == "regression")
            // When it is rolled back again
            let second = try await rollbackAlias(client, "champion")
            // Then the alias is removed (it did not exist before its first change)
            try expectStatus(second, .ok)
            #expect(try second.decode(APIAliasChange.self).to == nil)
            #expect(try await aliases(client).aliases.isEmpty)
            // When there is nothing left
            let third = try await rollbackAlias(client, "champion")
            // Then it is 409
            expectError(third, .conflict, "conflict", mentioning: ["alias 'champion'", "no change left to roll back"])
        }
    }

    @Test func aliasRollbackRestoresADeletedAlias() async throws {
        try await withTestRegistry { client in
            // Given champion → v1, then deleted
            try await modelWithReadyVersions(client, count: 1)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            try expectStatus(try await deleteAlias(client, "champion"), .ok)
            // When it is rolled back
            let response = try await rollbackAlias(client, "champion")
            // Then it points to v1 again
            try expectStatus(response, .ok)
            let change = try response.decode(APIAliasChange.self)
            #expect(change.from == nil)
            #expect(change.to == 1)
            #expect(try await aliases(client).aliases == ["champion": 1])
        }
    }

    @Test func aliasRollbackErrors() async throws {
        try await withTestRegistry { client in
            // Given a model without alias changes
            try await modelWithReadyVersions(client, count: 1)
            // When rolling back an alias never set, of an unknown model, with a malformed body
            let nothing = try await rollbackAlias(client, "champion")
            let model = try await send(client, .post, "/api/v1/models/ghost/aliases/champion/rollback")
            let badBody = try await send(
                client,
                .post,
                "/api/v1/models/resnet/aliases/champion/rollback",
                body: ByteBuffer(string: "[1,")
            )
            // Then
            expectError(nothing, .conflict, "conflict", mentioning: ["alias 'champion'"])
            expectError(model, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(badBody, .badRequest, "invalid_argument")
        }
    }

    @Test func ifMatchWithTheCurrentRevisionIsAccepted() async throws {
        try await withTestRegistry { client in
            // Given a model and its current revision
            try await modelWithReadyVersions(client, count: 2)
            var current = try await revision(client)
            // When each promotion route is called with If-Match in its accepted spellings
            let stage = try await setStage(
                client,
                model: "resnet",
                version: 1,
                stage: "Staging",
                ifMatch: "\"\(current)\""
            )
            try expectStatus(stage, .ok)
            current += 1
            let alias = try await setAlias(
                client,
                model: "resnet",
                alias: "champion",
                version: 1,
                ifMatch: "W/\"\(current)\""
            )
            try expectStatus(alias, .ok)
            current += 1
            let bare = try await setAlias(client, model: "resnet", alias: "champion", version: 2, ifMatch: "\(current)")
            try expectStatus(bare, .ok)
            current += 1
            let star = try await rollbackAlias(client, "champion", ifMatch: "*")
            try expectStatus(star, .ok)
            current += 1
            let stageRollback = try await rollbackStage(client, "Staging", ifMatch: "\"\(current)\"")
            try expectStatus(stageRollback, .ok)
            current += 1
            let delete = try await deleteAlias(client, "champion", ifMatch: "\"\(current)\"")
            try expectStatus(delete, .ok)
            // Then the revision advanced once per change
            #expect(try await revision(client) == current + 1)
        }
    }

    @Test func ifMatchWithAStaleRevisionIs409WithTheCurrentRevision() async throws {
        try await withTestRegistry { client in
            // Given champion → v1 and v1 in Staging, and a revision read before a concurrent change
            try await modelWithReadyVersions(client, count: 2)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Staging"), .ok)
            let stale = try await revision(client)
            try expectStatus(
                try await send(client, .patch, "/api/v1/models/resnet", json: ["description": "concurrent"]),
                .ok
            )
            let current = stale + 1
            // When every promotion route is called with the stale revision
            let responses = [
                try await setStage(client, model: "resnet", version: 2, stage: "Production", ifMatch: "\"\(stale)\""),
                try await rollbackStage(client, "Staging", ifMatch: "\"\(stale)\""),
                try await setAlias(client, model: "resnet", alias: "champion", version: 2, ifMatch: "\"\(stale)\""),
                try await deleteAlias(client, "champion", ifMatch: "\"\(stale)\""),
                try await rollbackAlias(client, "champion", ifMatch: "\"\(stale)\""),
            ]
            // Then each is 409 conflict naming both revisions, with the current one as entity tag
            for response in responses {
                expectError(response, .conflict, "conflict", mentioning: ["revision \(current)", "expected \(stale)"])
                #expect(response.headers[.eTag] == "\"\(current)\"")
            }
            // And nothing changed
            #expect(try await revision(client) == current)
            #expect(try await aliases(client).aliases == ["champion": 1])
            #expect(try await stageOf(client, 1) == "Staging")
            #expect(try await stageOf(client, 2) == "None")
        }
    }

    @Test(arguments: ["abc", "\"x\"", "0", "-1", "\"\"", "W/"])
    func malformedIfMatchIs400(_ header: String) async throws {
        try await withTestRegistry { client in
            // Given a READY version
            try await modelWithReadyVersions(client, count: 1)
            // When promoting with a malformed If-Match
            let response = try await setStage(client, model: "resnet", version: 1, stage: "Staging", ifMatch: header)
            // Then it is 400 naming the header value
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid If-Match '\(header)'"])
            #expect(try await stageOf(client, 1) == "None")
        }
    }
}
