import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/api/v1/models`: create, list, get, update, delete, history.
@Suite struct ModelsControllerTests {
    func listModels(_ client: APIClient, _ query: String = "") async throws -> APIModelList {
        let response = try await send(client, .get, "/api/v1/models\(query)")
        try expectStatus(response, .ok)
        return try response.decode(APIModelList.self)
    }

    func updateModel(
        _ client: APIClient,
        _ name: String,
        _ body: [String: Any],
        ifMatch: String? = nil
    ) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [:]
        if let ifMatch { headers[.ifMatch] = ifMatch }
        return try await send(client, .patch, "/api/v1/models/\(name)", json: body, headers: headers)
    }

    func deleteModel(
        _ client: APIClient,
        _ name: String,
        query: String = "",
        ifMatch: String? = nil
    ) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [:]
        if let ifMatch { headers[.ifMatch] = ifMatch }
        return try await send(client, .delete, "/api/v1/models/\(name)\(query)", headers: headers)
    }

    // MARK: Tests

    @Test func createAnswers201WithLocationETagAndTheModel() async throws {
        try await withTestRegistry { client in
            // Given an empty registry
            // When a model is created with a description and tags
            let response = try await send(
                client,
                .post,
                "/api/v1/models",
                json: ["name": "resnet", "description": "image classifier", "tags": ["team": "vision"]]
            )
            // Then it is answered 201 with its location, revision 1 as entity tag and its fields
            try expectStatus(response, .created)
            #expect(response.headers[.location] == "/api/v1/models/resnet")
            #expect(response.headers[.eTag] == "\"1\"")
            let model = try response.decode(APIModel.self)
            #expect(model.name == "resnet")
            #expect(model.description == "image classifier")
            #expect(model.tags == ["team": "vision"])
            #expect(model.revision == 1)
            #expect(model.latestVersion == nil)
            #expect(model.aliases.isEmpty)
            // And dates are UTC RFC 3339 without fractional seconds, keys snake_case and sorted
            let date = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
            #expect(model.createdAt.wholeMatch(of: date) != nil, "created_at: \(model.createdAt)")
            #expect(model.updatedAt.wholeMatch(of: date) != nil, "updated_at: \(model.updatedAt)")
            #expect(response.text.hasPrefix("{\"aliases\":{},\"created_at\":"), "body: \(response.text)")
            #expect(response.text.contains("\"latest_version\":null"))
            // And it can be read back
            let fetched = try await getModel(client, "resnet")
            #expect(fetched.description == "image classifier")
            #expect(fetched.tags == ["team": "vision"])
        }
    }

    @Test func createWithOnlyANameDefaultsTheRest() async throws {
        try await withTestRegistry { client in
            // Given / When a model is created with a name only
            let model = try await createModel(client, "bert")
            // Then description and tags are empty
            #expect(model.description == "")
            #expect(model.tags.isEmpty)
        }
    }

    @Test func creatingAnExistingModelIs409AlreadyExists() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet", description: "first")
            // When another one with the same name is created
            let response = try await send(
                client,
                .post,
                "/api/v1/models",
                json: ["name": "resnet", "description": "second"]
            )
            // Then it is refused, naming the model, and the first one is unchanged
            expectError(response, .conflict, "already_exists", mentioning: ["'resnet'"])
            #expect(try await getModel(client, "resnet").description == "first")
        }
    }

    @Test(arguments: ["", "has space", "../x", "/abs", "a/b", "a\\b", "-leading", ".hidden", "naïve", "a\u{1}b"])
    func createRejectsInvalidNames(_ name: String) async throws {
        try await withTestRegistry { client in
            // Given / When a model with an invalid name is created
            let response = try await send(client, .post, "/api/v1/models", json: ["name": name])
            // Then it is 400 invalid_argument naming the value
            let printable = name.replacingOccurrences(of: "\u{1}", with: "\\u{01}")
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid model name '\(printable)'"])
            // And nothing was created
            let list = try await listModels(client)
            #expect(list.models.isEmpty)
        }
    }

    @Test func createRejectsANameLongerThan128Characters() async throws {
        try await withTestRegistry { client in
            // Given a name of 129 characters (128 are accepted)
            let accepted = String(repeating: "a", count: 128)
            let tooLong = String(repeating: "b", count: 129)
            // When both are created
            try await createModel(client, accepted)
            let response = try await send(client, .post, "/api/v1/models", json: ["name": tooLong])
            // Then the longer one is refused
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid model name", "1-128"])
        }
    }

    @Test func createRejectsInvalidTagKeysAndValues() async throws {
        try await withTestRegistry { client in
            // Given / When models are created with a bad tag key, an empty key and a value with a control character
            let badKey = try await send(client, .post, "/api/v1/models", json: ["name": "a", "tags": ["bad key": "x"]])
            let emptyKey = try await send(client, .post, "/api/v1/models", json: ["name": "b", "tags": ["": "x"]])
            let badValue = try await send(
                client,
                .post,
                "/api/v1/models",
                json: ["name": "c", "tags": ["team": "a\u{0}b"]]
            )
            // Then each is 400 naming the offending key
            expectError(badKey, .badRequest, "invalid_argument", mentioning: ["invalid tag key 'bad key'"])
            expectError(emptyKey, .badRequest, "invalid_argument", mentioning: ["invalid tag key ''"])
            expectError(
                badValue,
                .badRequest,
                "invalid_argument",
                mentioning: ["value of tag 'team'", "control character"]
            )
        }
    }

    @Test func createRejectsTooManyOrTooLongTags() async throws {
        try await withTestRegistry { client in
            // Given 1,001 tags, a 5,001-byte value and a 251-byte key
            let many = Dictionary(uniqueKeysWithValues: (0...1000).map { ("k\($0)", "v") })
            let longValue = ["team": String(repeating: "v", count: 5001)]
            let longKey = [String(repeating: "k", count: 251): "v"]
            // When models are created with them
            let tooMany = try await send(client, .post, "/api/v1/models", json: ["name": "a", "tags": many])
            let tooLongValue = try await send(client, .post, "/api/v1/models", json: ["name": "b", "tags": longValue])
            let tooLongKey = try await send(client, .post, "/api/v1/models", json: ["name": "c", "tags": longKey])
            // Then each is 400 saying what is accepted
            expectError(tooMany, .badRequest, "invalid_argument", mentioning: ["1001 tags given", "at most 1000"])
            expectError(
                tooLongValue,
                .badRequest,
                "invalid_argument",
                mentioning: ["value of tag 'team' is 5001 bytes long"]
            )
            expectError(tooLongKey, .badRequest, "invalid_argument", mentioning: ["invalid tag key", "1-250"])
            // And the limits themselves are accepted
            let atLimit = Dictionary(uniqueKeysWithValues: (0..<1000).map { ("k\($0)", "v") })
            try await createModel(client, "d", tags: atLimit)
        }
    }

    @Test func createRejectsADescriptionWithAControlCharacter() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await send(
                client,
                .post,
                "/api/v1/models",
                json: ["name": "m", "description": "bell\u{7}"]
            )
            // Then
            expectError(response, .badRequest, "invalid_argument", mentioning: ["description", "control character"])
        }
    }

    @Test func createWithoutNameOrWithWrongTypesIs400() async throws {
        try await withTestRegistry { client in
            // Given / When the name is missing, or a number
            let missing = try await send(client, .post, "/api/v1/models", json: ["description": "x"])
            let wrongType = try await send(client, .post, "/api/v1/models", json: ["name": 5])
            // Then both are invalid arguments naming the field
            expectError(missing, .badRequest, "invalid_argument", mentioning: ["name"])
            expectError(wrongType, .badRequest, "invalid_argument", mentioning: ["name"])
        }
    }

    @Test func getAnswersTheModelWithItsRevisionAsETag() async throws {
        try await withTestRegistry { client in
            // Given a model changed once
            try await createModel(client, "resnet")
            try expectStatus(try await updateModel(client, "resnet", ["description": "v2"]), .ok)
            // When it is read
            let response = try await send(client, .get, "/api/v1/models/resnet")
            // Then the entity tag is its revision
            try expectStatus(response, .ok)
            let model = try response.decode(APIModel.self)
            #expect(model.revision == 2)
            #expect(response.headers[.eTag] == "\"2\"")
        }
    }

    @Test func getUnknownModelIs404NamingIt() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await send(client, .get, "/api/v1/models/ghost")
            // Then
            expectError(response, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test(arguments: ["bad%20name", "..%2Fx", "a%5Cb", "-x"])
    func getWithAnInvalidNameIs400(_ encoded: String) async throws {
        try await withTestRegistry { client in
            // Given / When the path names an invalid model
            let response = try await send(client, .get, "/api/v1/models/\(encoded)")
            // Then it is an invalid argument naming the decoded value
            expectError(
                response,
                .badRequest,
                "invalid_argument",
                mentioning: ["invalid model name '\(encoded.removingPercentEncoding!)'"]
            )
        }
    }

    @Test func listFiltersByPrefixAndTagsAndPages() async throws {
        try await withTestRegistry { client in
            // Given five models, two tagged team=vision and one team=nlp
            try await createModel(client, "resnet-a", tags: ["team": "vision"])
            try await createModel(client, "resnet-b")
            try await createModel(client, "resnet-c", tags: ["team": "nlp"])
            try await createModel(client, "yolo", tags: ["team": "vision"])
            try await createModel(client, "bert")
            // When listing everything, by prefix, by tag key and by tag value
            let all = try await listModels(client)
            let byPrefix = try await listModels(client, "?prefix=resnet")
            let byKey = try await listModels(client, "?tag=team")
            let byValue = try await listModels(client, "?tag=team%3Dvision")
            let byBoth = try await listModels(client, "?prefix=resnet&tag=team=vision")
            // Then models are in name order and filtered
            #expect(all.models.map(\.name) == ["bert", "resnet-a", "resnet-b", "resnet-c", "yolo"])
            #expect(all.nextPageToken == nil)
            #expect(byPrefix.models.map(\.name) == ["resnet-a", "resnet-b", "resnet-c"])
            #expect(byKey.models.map(\.name) == ["resnet-a", "resnet-c", "yolo"])
            #expect(byValue.models.map(\.name) == ["resnet-a", "yolo"])
            #expect(byBoth.models.map(\.name) == ["resnet-a"])
        }
    }

    @Test func listPagesWithNextPageToken() async throws {
        try await withTestRegistry { client in
            // Given five models
            for name in ["m1", "m2", "m3", "m4", "m5"] { try await createModel(client, name) }
            // When listing two at a time, following next_page_token
            var pages: [[String]] = []
            var token: String?
            repeat {
                let query = "?limit=2" + (token.map { "&page_token=\(segment($0))" } ?? "")
                let page = try await listModels(client, query)
                pages.append(page.models.map(\.name))
                token = page.nextPageToken
            } while token != nil && pages.count < 10
            // Then the pages cover every model once, in order, and the last one has no token
            #expect(pages == [["m1", "m2"], ["m3", "m4"], ["m5"]])
        }
    }

    @Test func aFullLastPageHasNoNextPageToken() async throws {
        try await withTestRegistry { client in
            // Given exactly four models
            for name in ["m1", "m2", "m3", "m4"] { try await createModel(client, name) }
            // When listing two at a time
            let first = try await listModels(client, "?limit=2")
            let second = try await listModels(
                client,
                "?limit=2&page_token=\(segment(try #require(first.nextPageToken)))"
            )
            // Then the second page is the last one
            #expect(second.models.map(\.name) == ["m3", "m4"])
            #expect(second.nextPageToken == nil)
        }
    }

    @Test func prefixIsMatchedLiterally() async throws {
        try await withTestRegistry { client in
            // Given models whose names contain characters that are wildcards in SQL LIKE
            try await createModel(client, "res_net")
            try await createModel(client, "resnet")
            try await createModel(client, "res.x")
            // When listing with prefixes that would match as patterns
            let underscore = try await listModels(client, "?prefix=res_")
            let percent = try await listModels(client, "?prefix=res%25")
            let empty = try await listModels(client, "?prefix=")
            // Then only literal prefixes match, and an empty prefix matches everything
            #expect(underscore.models.map(\.name) == ["res_net"])
            #expect(percent.models.isEmpty)
            #expect(empty.models.count == 3)
        }
    }

    @Test func prefixLongerThanANameIs400() async throws {
        try await withTestRegistry { client in
            // Given / When listing with a 129-byte prefix
            let response = try await send(client, .get, "/api/v1/models?prefix=\(String(repeating: "p", count: 129))")
            // Then
            expectError(
                response,
                .badRequest,
                "invalid_argument",
                mentioning: ["prefix is 129 bytes long", "at most 128"]
            )
        }
    }

    @Test(arguments: [
        ("?limit=0", "invalid limit 0"),
        ("?limit=1001", "invalid limit 1001"),
        ("?limit=-3", "invalid limit -3"),
        ("?limit=ten", "invalid limit 'ten'"),
        ("?page_token=%21%21not-base64", "invalid page_token '!!not-base64'"),
        ("?tag=bad%20key", "invalid tag filter key 'bad key'"),
        ("?tag=%3Dvalue", "invalid tag filter key ''"),
    ])
    func listRejectsInvalidQueryParameters(_ query: String, _ fragment: String) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When listing with an invalid parameter
            let response = try await send(client, .get, "/api/v1/models\(query)")
            // Then it is 400 naming the value
            expectError(response, .badRequest, "invalid_argument", mentioning: [fragment])
        }
    }

    @Test func listAcceptsTheLimitBounds() async throws {
        try await withTestRegistry { client in
            // Given two models
            try await createModel(client, "a")
            try await createModel(client, "b")
            // When listing with limit 1 and 1000
            let one = try await listModels(client, "?limit=1")
            let thousand = try await listModels(client, "?limit=1000")
            // Then both are accepted
            #expect(one.models.map(\.name) == ["a"])
            #expect(one.nextPageToken != nil)
            #expect(thousand.models.count == 2)
        }
    }

    @Test func patchUpdatesDescriptionAndTagsAndRaisesTheRevision() async throws {
        try await withTestRegistry { client in
            // Given a model with two tags
            try await createModel(client, "resnet", description: "old", tags: ["team": "vision", "tier": "gold"])
            // When the description is replaced, a tag set and another removed
            let response = try await updateModel(
                client,
                "resnet",
                ["description": "new", "tags": ["owner": "alice"], "remove_tags": ["tier"]]
            )
            // Then the answer and a fresh read show the change, at revision 2
            try expectStatus(response, .ok)
            #expect(response.headers[.eTag] == "\"2\"")
            let updated = try response.decode(APIModel.self)
            #expect(updated.description == "new")
            #expect(updated.tags == ["team": "vision", "owner": "alice"])
            #expect(updated.revision == 2)
            let fetched = try await getModel(client, "resnet")
            #expect(fetched.tags == ["team": "vision", "owner": "alice"])
            #expect(fetched.description == "new")
        }
    }

    @Test func patchErrors() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet", tags: ["team": "vision"])
            // When patching an unknown model, with a bad tag key, with a bad key to remove, with a bad body
            let unknown = try await updateModel(client, "ghost", ["description": "x"])
            let badTag = try await updateModel(client, "resnet", ["tags": ["no spaces": "x"]])
            let badRemove = try await updateModel(client, "resnet", ["remove_tags": ["a b"]])
            let badType = try await updateModel(client, "resnet", ["tags": ["team": 3]])
            // Then each is answered with the right error, and the model is unchanged
            expectError(unknown, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(badTag, .badRequest, "invalid_argument", mentioning: ["'no spaces'"])
            expectError(badRemove, .badRequest, "invalid_argument", mentioning: ["'a b'"])
            expectError(badType, .badRequest, "invalid_argument", mentioning: ["tags"])
            let model = try await getModel(client, "resnet")
            #expect(model.revision == 1)
            #expect(model.tags == ["team": "vision"])
        }
    }

    @Test(arguments: [
        "{}", "{\"tags\": {}}", "{\"remove_tags\": []}", "{\"tags\": {}, \"remove_tags\": []}",
        "{\"metrics\": {\"a\": 1}}",
    ])
    func patchThatChangesNothingIs400(_ body: String) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When it is patched with nothing to change (models have no metrics: they are ignored)
            let response = try await send(client, .patch, "/api/v1/models/resnet", body: ByteBuffer(string: body))
            // Then it is refused, and neither the revision nor the history moved
            expectError(response, .badRequest, "invalid_argument", mentioning: ["nothing to update"])
            #expect(try await getModel(client, "resnet").revision == 1)
            #expect(try await history(client, model: "resnet").events.count == 1)
        }
    }

    @Test func patchAndDeleteHonourIfMatch() async throws {
        try await withTestRegistry { client in
            // Given a model at revision 2
            try await createModel(client, "resnet")
            try expectStatus(try await updateModel(client, "resnet", ["description": "two"]), .ok)
            // When it is patched and deleted with the stale revision 1
            let stalePatch = try await updateModel(client, "resnet", ["description": "three"], ifMatch: "\"1\"")
            let staleDelete = try await deleteModel(client, "resnet", ifMatch: "\"1\"")
            // Then both are 409 with the current revision, and nothing changed
            for response in [stalePatch, staleDelete] {
                expectError(response, .conflict, "conflict", mentioning: ["revision 2", "expected 1"])
                #expect(response.headers[.eTag] == "\"2\"")
                #expect(response.apiError?.details?["revision"] == "2")
            }
            #expect(try await getModel(client, "resnet").description == "two")
            // When they are sent with the current revision
            let patch = try await updateModel(client, "resnet", ["description": "three"], ifMatch: "\"2\"")
            let delete = try await deleteModel(client, "resnet", ifMatch: "\"3\"")
            // Then both succeed
            try expectStatus(patch, .ok)
            #expect(patch.headers[.eTag] == "\"3\"")
            #expect(delete.status == .noContent, "body: \(delete.text)")
        }
    }

    @Test func patchAndDeleteRejectAMalformedIfMatch() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When patched or deleted with an If-Match that is no revision
            let patch = try await updateModel(client, "resnet", ["description": "x"], ifMatch: "\"abc\"")
            let delete = try await deleteModel(client, "resnet", ifMatch: "abc")
            // Then both are 400 naming the header, and the model is unchanged
            expectError(patch, .badRequest, "invalid_argument", mentioning: ["invalid If-Match '\"abc\"'"])
            expectError(delete, .badRequest, "invalid_argument", mentioning: ["invalid If-Match 'abc'"])
            #expect(try await getModel(client, "resnet").revision == 1)
        }
    }

    @Test func deleteChecksIfMatchBeforeRefusingAModelInUse() async throws {
        try await withTestRegistry { client in
            // Given a model in use by an alias
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            let current = try await getModel(client, "resnet").revision
            // When it is deleted with force but a stale revision
            let response = try await deleteModel(client, "resnet", query: "?force=true", ifMatch: "\"\(current - 1)\"")
            // Then the revision conflict wins and the model stays
            expectError(response, .conflict, "conflict", mentioning: ["revision \(current)"])
            #expect(response.headers[.eTag] == "\"\(current)\"")
            _ = try await getModel(client, "resnet")
        }
    }

    @Test func historyOutlivesTheModel() async throws {
        try await withTestRegistry { client in
            // Given a model that was created, updated and deleted
            try await createModel(client, "resnet")
            try expectStatus(try await updateModel(client, "resnet", ["description": "d"]), .ok)
            #expect(try await deleteModel(client, "resnet").status == .noContent)
            // When its history is read
            let trail = try await history(client, model: "resnet")
            // Then it lists the deletion first, then the earlier events
            #expect(trail.events.map(\.kind) == ["model.deleted", "model.updated", "model.created"])
            // When a model of the same name is created again
            try await createModel(client, "resnet")
            // Then the history of the name continues, the new model counting its revisions from 1
            let continued = try await history(client, model: "resnet")
            #expect(
                continued.events.map(\.kind) == ["model.created", "model.deleted", "model.updated", "model.created"]
            )
            #expect(continued.events.first?.revision == 1)
            // And a name that never existed is 404, or an empty page when paging with before
            expectError(try await send(client, .get, "/api/v1/models/never/history"), .notFound, "not_found")
            let paged = try await history(client, model: "never", query: "?before=1000")
            #expect(paged.events.isEmpty)
            #expect(paged.nextBefore == nil)
        }
    }

    @Test func deleteRemovesTheModelAndItsVersions() async throws {
        try await withTestRegistry { client in
            // Given a model with a READY version
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            // When it is deleted
            let response = try await deleteModel(client, "resnet")
            // Then it is 204 and the model and its versions are gone
            #expect(response.status == .noContent, "body: \(response.text)")
            expectError(try await send(client, .get, "/api/v1/models/resnet"), .notFound, "not_found")
            expectError(try await send(client, .get, "/api/v1/models/resnet/versions/1"), .notFound, "not_found")
            #expect(try await listModels(client).models.isEmpty)
            // And the name can be used again, starting from version 1
            try await createModel(client, "resnet")
            let version = try await pushVersion(
                client,
                model: "resnet",
                files: [VersionFileSpec("m.bin", BlobFixture(count: 8))]
            )
            #expect(version.version == 1)
        }
    }

    @Test func deleteUnknownModelIs404() async throws {
        try await withTestRegistry { client in
            // Given / When
            let response = try await deleteModel(client, "ghost")
            // Then
            expectError(response, .notFound, "not_found", mentioning: ["'ghost'"])
        }
    }

    @Test func deleteIsRefusedWhileAnAliasPointsIntoTheModelUnlessForced() async throws {
        try await withTestRegistry { client in
            // Given a model whose version 1 carries the alias champion
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            try expectStatus(try await setAlias(client, model: "resnet", alias: "champion", version: 1), .ok)
            // When it is deleted without force
            let refused = try await deleteModel(client, "resnet")
            // Then it is 409 naming the alias, and the model is still there
            expectError(refused, .conflict, "conflict", mentioning: ["alias 'champion'", "force"])
            _ = try await getModel(client, "resnet")
            // When it is deleted with force=true
            let forced = try await deleteModel(client, "resnet", query: "?force=true")
            // Then it is gone
            #expect(forced.status == .noContent, "body: \(forced.text)")
            expectError(try await send(client, .get, "/api/v1/models/resnet"), .notFound, "not_found")
        }
    }

    @Test(arguments: ["Staging", "Production"])
    func deleteIsRefusedWhileAVersionIsInStagingOrProduction(_ stage: String) async throws {
        try await withTestRegistry { client in
            // Given a model whose version 1 is in the stage
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: stage), .ok)
            // When it is deleted without force, and with force=false
            let refused = try await deleteModel(client, "resnet")
            let refusedFalse = try await deleteModel(client, "resnet", query: "?force=false")
            // Then both are refused naming the version and stage
            expectError(refused, .conflict, "conflict", mentioning: ["version 1 is in \(stage)"])
            expectError(refusedFalse, .conflict, "conflict", mentioning: ["version 1 is in \(stage)"])
            _ = try await getModel(client, "resnet")
            // When forced with force=1
            let forced = try await deleteModel(client, "resnet", query: "?force=1")
            // Then it is deleted
            #expect(forced.status == .noContent, "body: \(forced.text)")
        }
    }

    @Test func deleteIsAllowedWhenVersionsAreOnlyArchived() async throws {
        try await withTestRegistry { client in
            // Given a model whose only version is Archived
            try await createModel(client, "resnet")
            try await readyVersion(client, model: "resnet", seed: 1)
            try expectStatus(try await setStage(client, model: "resnet", version: 1, stage: "Archived"), .ok)
            // When it is deleted without force
            let response = try await deleteModel(client, "resnet")
            // Then it is deleted
            #expect(response.status == .noContent, "body: \(response.text)")
        }
    }

    @Test func deleteWithAnInvalidForceValueIs400() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When force is not a boolean
            let response = try await deleteModel(client, "resnet", query: "?force=maybe")
            // Then it is 400 naming the value, and the model stays
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid force 'maybe'"])
            _ = try await getModel(client, "resnet")
        }
    }

    @Test func historyListsEventsNewestFirst() async throws {
        try await withTestRegistry { client in
            // Given a model that was created, updated, got a version committed and an alias
            try await createModel(client, "resnet")
            try expectStatus(try await updateModel(client, "resnet", ["tags": ["team": "vision"]]), .ok)
            try await readyVersion(client, model: "resnet", seed: 1)
            try expectStatus(
                try await setAlias(client, model: "resnet", alias: "champion", version: 1, comment: "best"),
                .ok
            )
            // When its history is read
            let history = try await history(client, model: "resnet")
            // Then the events are newest first, with ids descending and revisions matching
            #expect(
                history.events.map(\.kind) == [
                    "alias.set", "version.committed", "version.created", "model.updated", "model.created",
                ]
            )
            #expect(history.events.map(\.id) == history.events.map(\.id).sorted(by: >))
            #expect(history.events.map(\.revision) == [5, 4, 3, 2, 1])
            #expect(history.events.allSatisfy { $0.model == "resnet" && $0.actor == "anonymous" })
            let alias = try #require(history.events.first)
            #expect(alias.subject == "champion")
            #expect(alias.to == "1")
            #expect(alias.from == nil)
            #expect(alias.version == 1)
            #expect(alias.comment == "best")
            #expect(history.nextBefore == nil)
        }
    }

    @Test func historyPagesWithLimitAndBefore() async throws {
        try await withTestRegistry { client in
            // Given a model with five events
            try await createModel(client, "resnet")
            for index in 1...4 {
                try expectStatus(try await updateModel(client, "resnet", ["description": "d\(index)"]), .ok)
            }
            // When reading two at a time with before=next_before
            let first = try await history(client, model: "resnet", query: "?limit=2")
            let before = try #require(first.nextBefore)
            let second = try await history(client, model: "resnet", query: "?limit=2&before=\(before)")
            let third = try await history(
                client,
                model: "resnet",
                query: "?limit=2&before=\(try #require(second.nextBefore))"
            )
            // Then the pages follow each other, newest first, and the last is short with no next_before
            #expect(first.events.map(\.revision) == [5, 4])
            #expect(before == first.events.last?.id)
            #expect(second.events.map(\.revision) == [3, 2])
            #expect(third.events.map(\.revision) == [1])
            #expect(third.nextBefore == nil)
        }
    }

    @Test func historyPageEndingOnTheOldestEventHasNoNextBefore() async throws {
        try await withTestRegistry { client in
            // Given a model with exactly four events
            try await createModel(client, "resnet")
            for index in 1...3 {
                try expectStatus(try await updateModel(client, "resnet", ["description": "d\(index)"]), .ok)
            }
            // When reading two at a time
            let first = try await history(client, model: "resnet", query: "?limit=2")
            let second = try await history(
                client,
                model: "resnet",
                query: "?limit=2&before=\(try #require(first.nextBefore))"
            )
            // Then the second page is known to be the last
            #expect(second.events.map(\.revision) == [2, 1])
            #expect(second.nextBefore == nil)
        }
    }

    @Test(arguments: [
        ("?limit=0", "invalid limit 0"),
        ("?limit=1001", "invalid limit 1001"),
        ("?limit=x", "invalid limit 'x'"),
        ("?before=abc", "invalid before 'abc'"),
        ("?before=0", "invalid before '0'"),
        ("?before=-5", "invalid before '-5'"),
    ])
    func historyRejectsInvalidParameters(_ query: String, _ fragment: String) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When reading its history with an invalid parameter
            let response = try await send(client, .get, "/api/v1/models/resnet/history\(query)")
            // Then it is 400 naming the value
            expectError(response, .badRequest, "invalid_argument", mentioning: [fragment])
        }
    }

    @Test func historyOfUnknownOrInvalidModel() async throws {
        try await withTestRegistry { client in
            // Given / When
            let unknown = try await send(client, .get, "/api/v1/models/ghost/history")
            let invalid = try await send(client, .get, "/api/v1/models/bad%20name/history")
            // Then
            expectError(unknown, .notFound, "not_found", mentioning: ["'ghost'"])
            expectError(invalid, .badRequest, "invalid_argument", mentioning: ["'bad name'"])
        }
    }
}
