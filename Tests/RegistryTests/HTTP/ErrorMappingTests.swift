import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Registry
import TestSupport
import Testing

/// The error contract of the whole API: every failure is `{"error": {"code", "message"}}` with the status of its code.
@Suite struct ErrorMappingTests {
    /// A JSON object larger than 1 MiB: `{"name": "m", "description": "xxx…"}`.
    static func oversizedJSON(field: String = "description") -> ByteBuffer {
        ByteBuffer(string: "{\"name\":\"m\",\"\(field)\":\"" + String(repeating: "x", count: (1 << 20) + 16) + "\"}")
    }

    // MARK: Tests

    @Test(arguments: [
        RegistryError.Code.notFound: HTTPResponse.Status.notFound,
        .alreadyExists: .conflict,
        .conflict: .conflict,
        .invalidArgument: .badRequest,
        .integrityFailure: .unprocessableContent,
        .blobsMissing: .unprocessableContent,
        .rangeNotSatisfiable: .rangeNotSatisfiable,
        .bodyTooLarge: .contentTooLarge,
        .unauthorized: .unauthorized,
        .forbidden: .forbidden,
        .unavailable: .serviceUnavailable,
        .internal: .internalServerError,
    ])
    func everyErrorCodeHasItsStatus(_ code: RegistryError.Code, _ status: HTTPResponse.Status) {
        // Given / When an error of the code
        let error = RegistryError(code, "x")
        // Then it maps to the documented status
        #expect(error.status == status)
    }

    @Test func everyErrorCodeIsCoveredByTheMappingTest() {
        // Given / When / Then the table above lists every code (a new code must get a status and a test)
        #expect(RegistryError.Code.allCases.count == 12)
        #expect(
            Set(RegistryError.Code.allCases.map(\.rawValue)) == [
                "not_found", "already_exists", "conflict", "invalid_argument", "integrity_failure", "blobs_missing",
                "range_not_satisfiable", "body_too_large", "unauthorized", "forbidden", "unavailable", "internal",
            ]
        )
    }

    @Test func errorBodiesHaveExactlyCodeAndMessageWhenThereAreNoDetails() async throws {
        try await withTestRegistry { client in
            // Given / When an error without details, and one with details
            let plain = try await send(client, .get, "/api/v1/models/ghost")
            let detailed = try await send(
                client,
                .put,
                "/api/v1/blobs/\(BlobFixture(count: 1).digest)",
                body: ByteBuffer(string: "other")
            )
            // Then the first has only code and message, the second details as strings
            let plainJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(plain.body.readableBytesView)) as? [String: Any]
            )
            #expect(Array(plainJSON.keys) == ["error"])
            let error = try #require(plainJSON["error"] as? [String: Any])
            #expect(Set(error.keys) == ["code", "message"])
            #expect(plain.headers[.contentType] == "application/json; charset=utf-8")
            let detailedJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(detailed.body.readableBytesView))
                    as? [String: [String: Any]]
            )
            #expect(detailedJSON["error"]?["details"] is [String: String])
            #expect(!detailed.text.contains("\\/"))
        }
    }

    @Test(arguments: [
        ("/nope", HTTPRequest.Method.get),
        ("/api/v1/nope", .get),
        ("/api/v2/models", .get),
        ("/api/v1/models/resnet/versions/1/promote", .post),
        ("/api/v1/blobs", .get),
        ("/api/v1/uploads", .get),
        ("/api/v1/models/resnet/versions/1/files", .get),
    ])
    func unknownRoutesAre404NotFoundNamingMethodAndPath(_ path: String, _ method: HTTPRequest.Method) async throws {
        try await withTestRegistry { client in
            // Given / When a path no route matches
            let response = try await send(client, method, path)
            // Then it is 404 not_found with a JSON body naming the method and path
            expectError(response, .notFound, "not_found", mentioning: ["no route for \(method) \(path)"])
        }
    }

    @Test(arguments: [
        ("/api/v1/models", HTTPRequest.Method.delete),
        ("/api/v1/models/resnet", .post),
        ("/api/v1/models/resnet/history", .delete),
        ("/api/v1/blobs/sha256:" + String(repeating: "a", count: 64), .delete),
        ("/api/v1/openapi.yaml", .post),
        ("/healthz", .put),
        ("/api/v1/models/resnet", .head),
        ("/api/v1/models/resnet/versions", .head),
    ])
    func unsupportedMethodsOnKnownPathsAreJSONErrors(_ path: String, _ method: HTTPRequest.Method) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When a method the path does not support is used
            let response = try await send(client, method, path)
            // Then it is a 404 with the usual JSON error body
            expectError(response, .notFound, "not_found", mentioning: ["\(method) \(path)"])
            // And nothing changed
            _ = try await getModel(client, "resnet")
        }
    }

    @Test(arguments: [
        ("/api/v1/models", HTTPRequest.Method.post),
        ("/api/v1/models/resnet", .patch),
        ("/api/v1/models/resnet/versions", .post),
        ("/api/v1/models/resnet/versions/1", .patch),
        ("/api/v1/models/resnet/versions/1/fail", .post),
        ("/api/v1/models/resnet/versions/1/stage", .post),
        ("/api/v1/models/resnet/aliases/champion", .put),
        ("/api/v1/models/resnet/stages/Staging/rollback", .post),
        ("/api/v1/models/resnet/aliases/champion/rollback", .post),
    ])
    func malformedJSONIs400InvalidArgument(_ path: String, _ method: HTTPRequest.Method) async throws {
        try await withTestRegistry { client in
            // Given a model with a PENDING version
            try await createModel(client, "resnet")
            try await pushVersion(client, model: "resnet", files: [VersionFileSpec("m.bin", BlobFixture(count: 4))])
            // When a JSON route gets a body that is not JSON
            let response = try await send(
                client,
                method,
                path,
                body: ByteBuffer(string: "{\"name\": \"x\","),
                headers: [.contentType: "application/json"]
            )
            // Then it is 400 invalid_argument
            expectError(response, .badRequest, "invalid_argument")
            // And nothing changed
            #expect(try await getModel(client, "resnet").revision == 2)
        }
    }

    @Test(arguments: ["", "[]", "null", "\"resnet\"", "{\"name\": null}", "{\"name\": [\"a\"]}"])
    func wrongJSONShapesAre400(_ body: String) async throws {
        try await withTestRegistry { client in
            // Given / When a model is created with a body of the wrong shape
            let response = try await send(client, .post, "/api/v1/models", body: ByteBuffer(string: body))
            // Then it is 400 invalid_argument, not a server error
            expectError(response, .badRequest, "invalid_argument")
            #expect(try await send(client, .get, "/api/v1/models").decode(APIModelList.self).models.isEmpty)
        }
    }

    @Test
    func jsonBodyOver1MiBIs413BodyTooLarge() async throws {
        try await withTestRegistry { client in
            // Given / When a model is created with a body over the 1 MiB limit
            let response = try await send(client, .post, "/api/v1/models", body: Self.oversizedJSON())
            // Then it is 413 body_too_large
            expectError(response, .contentTooLarge, "body_too_large", mentioning: ["1 MiB"])
            #expect(try await send(client, .get, "/api/v1/models").decode(APIModelList.self).models.isEmpty)
        }
    }

    @Test(
        arguments: [
            ("/api/v1/models/resnet", HTTPRequest.Method.patch),
            ("/api/v1/models/resnet/versions", .post),
            ("/api/v1/models/resnet/aliases/champion", .put),
            ("/api/v1/models/resnet/stages/Staging/rollback", .post),
            ("/api/v1/models/resnet/aliases/champion/rollback", .post),
        ]
    )
    func jsonBodyOver1MiBIs413OnEveryJSONRoute(_ path: String, _ method: HTTPRequest.Method) async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When a JSON route gets a body over 1 MiB
            let response = try await send(client, method, path, body: Self.oversizedJSON(field: "comment"))
            // Then it is 413 body_too_large
            expectError(response, .contentTooLarge, "body_too_large")
        }
    }

    @Test func aJSONBodyOfExactly1MiBIsAccepted() async throws {
        try await withTestRegistry { client in
            // Given a body of exactly 1 MiB whose description is within limits except its length
            let prefix = "{\"name\":\"m\",\"description\":\""
            let body = prefix + String(repeating: "x", count: (1 << 20) - prefix.utf8.count - 2) + "\"}"
            #expect(body.utf8.count == 1 << 20)
            // When it is sent
            let response = try await send(client, .post, "/api/v1/models", body: ByteBuffer(string: body))
            // Then it is read (and refused for the description's length, not for the body's size)
            expectError(response, .badRequest, "invalid_argument", mentioning: ["description is", "at most 65536"])
        }
    }

    @Test(arguments: [
        "/api/v1/models/bad%20name",
        "/api/v1/models/bad%20name/history",
        "/api/v1/models/bad%20name/versions",
        "/api/v1/models/bad%20name/versions/1",
        "/api/v1/models/bad%20name/versions/1/files/m.bin",
        "/api/v1/models/bad%20name/labels/x",
        "/api/v1/models/bad%20name/stages/Production",
        "/api/v1/models/bad%20name/aliases",
        "/api/v1/models/bad%20name/aliases/champion",
    ])
    func invalidModelNamesInPathsAre400OnEveryGetRoute(_ path: String) async throws {
        try await withTestRegistry { client in
            // Given / When a model name with a space is used in the path
            let response = try await send(client, .get, path)
            // Then it is 400 naming the value
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid model name 'bad name'"])
        }
    }

    @Test(arguments: [
        ("/api/v1/models/..%2Fx", HTTPRequest.Method.patch, "'../x'"),
        ("/api/v1/models/a%5Cb", .delete, "'a\\b'"),
        ("/api/v1/models/bad%20name/versions", .post, "'bad name'"),
        ("/api/v1/models/%2Fabs/versions/1", .patch, "'/abs'"),
        ("/api/v1/models/a%2F%2Fb/versions/1/commit", .post, "'a//b'"),
        ("/api/v1/models/bad%20name/versions/1/fail", .post, "'bad name'"),
        ("/api/v1/models/bad%20name/versions/1/stage", .post, "'bad name'"),
        ("/api/v1/models/bad%20name/stages/Production/rollback", .post, "'bad name'"),
        ("/api/v1/models/bad%20name/aliases/champion", .put, "'bad name'"),
        ("/api/v1/models/bad%20name/aliases/champion", .delete, "'bad name'"),
        ("/api/v1/models/bad%20name/aliases/champion/rollback", .post, "'bad name'"),
    ])
    func invalidModelNamesInPathsAre400OnEveryWriteRoute(
        _ path: String,
        _ method: HTTPRequest.Method,
        _ quoted: String
    )
        async throws
    {
        try await withTestRegistry { client in
            // Given a body that would be valid for the route
            let body: [String: Any] = [
                "description": "d", "reason": "r", "stage": "Staging", "version": 1,
                "files": [VersionFileSpec("m.bin", BlobFixture(count: 4)).json],
            ]
            // When the model name in the path is invalid
            let response = try await send(client, method, path, json: body)
            // Then it is 400 naming the value
            expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid model name \(quoted)"])
        }
    }

    @Test func limitZeroIsRefusedEverywhere() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When listing models, versions and history with limit=0
            let paths = [
                "/api/v1/models?limit=0", "/api/v1/models/resnet/versions?limit=0",
                "/api/v1/models/resnet/history?limit=0",
            ]
            for path in paths {
                let response = try await send(client, .get, path)
                // Then each is 400 naming the limit and the accepted range
                expectError(response, .badRequest, "invalid_argument", mentioning: ["invalid limit 0", "1 to 1000"])
            }
        }
    }

    @Test func badPageTokensAreRefused() async throws {
        try await withTestRegistry { client in
            // Given a model
            try await createModel(client, "resnet")
            // When listing with page tokens that are not base64, or not a version token
            let models = try await send(client, .get, "/api/v1/models?page_token=not*base64")
            let versions = try await send(client, .get, "/api/v1/models/resnet/versions?page_token=not*base64")
            let notANumber = try await send(client, .get, "/api/v1/models/resnet/versions?page_token=cmVzbmV0")
            // Then each is 400 naming the token
            expectError(
                models,
                .badRequest,
                "invalid_argument",
                mentioning: ["invalid page_token 'not*base64'", "next_page_token"]
            )
            expectError(versions, .badRequest, "invalid_argument", mentioning: ["invalid page_token 'not*base64'"])
            expectError(notANumber, .badRequest, "invalid_argument", mentioning: ["invalid page_token 'cmVzbmV0'"])
        }
    }

    @Test func longBadValuesAreShortenedAndControlCharactersEscapedInMessages() async throws {
        try await withTestRegistry { client in
            // Given a 300-character name with a newline in it
            let name = "a\n" + String(repeating: "b", count: 298)
            // When a model is created with it
            let response = try await send(client, .post, "/api/v1/models", json: ["name": name])
            // Then the message quotes at most 80 characters, with the newline escaped
            expectError(response, .badRequest, "invalid_argument", mentioning: ["'a\\nbbb", "…'"])
            #expect(response.apiError?.message.contains("\n") == false)
            #expect(response.apiError?.message.contains(String(repeating: "b", count: 100)) == false)
        }
    }

    @Test func anUnavailableBlobDirectoryMakesReadyz503Unavailable() async throws {
        try await withTemporaryDirectory { directory in
            try await withTestRegistry(dataDirectory: directory) { client in
                // Given a registry whose temporary directory disappeared
                try expectStatus(try await send(client, .get, "/readyz"), .ok)
                try FileManager.default.removeItem(at: directory.appending(path: "tmp"))
                // When readiness is probed
                let response = try await send(client, .get, "/readyz")
                // Then it is 503 unavailable
                expectError(response, .serviceUnavailable, "unavailable", mentioning: ["not ready"])
                // And liveness is unaffected
                try expectStatus(try await send(client, .get, "/healthz"), .ok)
            }
        }
    }

    @Test func unexpectedFailuresAre500InternalNamingTheRequestIDOnly() async throws {
        try await withTemporaryDirectory { directory in
            try await withTestRegistry(dataDirectory: directory) { client in
                // Given a registry whose uploads directory disappeared
                try FileManager.default.removeItem(at: directory.appending(path: "uploads"))
                // When an upload is started
                let response = try await send(client, .post, "/api/v1/uploads")
                // Then it is a 500 with the JSON error body, pointing to the log by request id without internals
                expectError(response, .internalServerError, "internal", mentioning: ["request id"])
                #expect(response.apiError?.message.contains(directory.path) == false)
            }
        }
    }

    @Test func corruptUploadStateIs500Internal() async throws {
        try await withTemporaryDirectory { directory in
            try await withTestRegistry(dataDirectory: directory) { client in
                // Given an upload whose recorded offset was corrupted on disk
                let created = try await send(client, .post, "/api/v1/uploads")
                let upload = try created.decode(APIUpload.self)
                try Data("garbage".utf8).write(to: directory.appending(path: "uploads/\(upload.id)/offset"))
                // When its status is read
                let response = try await send(client, .get, "/api/v1/uploads/\(upload.id)")
                // Then it is 500 internal with the JSON error body
                expectError(response, .internalServerError, "internal")
            }
        }
    }
}
