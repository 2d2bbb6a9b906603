import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// The MLflow routes answer errors in MLflow's shape (`{"error_code", "message"}`) with MLflow's statuses, while the
/// v1 routes keep `{"error": {...}}`.
@Suite struct MLflowErrorShapeTests {
    // MARK: Tests

    @Test func missingResourcesAre404ResourceDoesNotExist() async throws {
        try await withTestRegistry { client in
            // Given a registered model without versions
            try await mlflowCreateModel(client, "resnet")
            // When a model that does not exist is read
            let model = try await mlflow(client, .get, "registered-models/get", ["name": "missing"])
            // Then it is 404 RESOURCE_DOES_NOT_EXIST naming it, without an `error` object
            expectMLflowError(model, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: ["missing"])
            #expect(!model.text.contains("\"error\""), "body: \(model.text)")
            // And so is a version that does not exist of a model that does
            let version = try await mlflow(client, .get, "model-versions/get", ["name": "resnet", "version": "7"])
            expectMLflowError(version, .notFound, "RESOURCE_DOES_NOT_EXIST", mentioning: ["7"])
            // And a run that does not exist
            let run = try await mlflow(client, .get, "runs/get", ["run_id": String(repeating: "a", count: 32)])
            expectMLflowError(run, .notFound, "RESOURCE_DOES_NOT_EXIST")
        }
    }

    @Test func creatingAnExistingModelIs400ResourceAlreadyExists() async throws {
        try await withTestRegistry { client in
            // Given a registered model
            try await mlflowCreateModel(client, "resnet")
            // When it is created again
            let response = try await mlflow(client, .post, "registered-models/create", ["name": "resnet"])
            // Then it is 400 RESOURCE_ALREADY_EXISTS naming it (MLflow's status, not the v1 API's 409)
            expectMLflowError(response, .badRequest, "RESOURCE_ALREADY_EXISTS", mentioning: ["resnet"])
        }
    }

    @Test(
        arguments: [
            ("model-versions/get", HTTPRequest.Method.get, ["name": "resnet", "version": "one"], "version"),
            ("model-versions/get", .get, ["name": "resnet", "version": "0"], "version"),
            ("model-versions/get", .get, ["name": "resnet"], "version"),
            ("registered-models/get", .get, [:], "name"),
            ("registered-models/create", .post, [:], "name"),
            ("registered-models/search", .get, ["max_results": "0"], "max_results"),
            ("registered-models/search", .get, ["max_results": "many"], "max_results"),
            ("model-versions/search", .get, ["page_token": "not-a-token"], "page token"),
            ("registered-models/alias", .post, ["name": "resnet", "alias": "champion", "version": "x"], "version"),
            ("model-versions/create", .post, ["name": "resnet"], "source"),
            ("runs/create", .post, ["experiment_id": "zero"], "experiment_id"),
        ] as [(String, HTTPRequest.Method, [String: String], String)]
    )
    func badValuesAre400InvalidParameterValueNamingTheParameter(
        _ endpoint: String,
        _ method: HTTPRequest.Method,
        _ parameters: [String: String],
        _ parameter: String
    ) async throws {
        try await withTestRegistry { client in
            // Given a registered model
            try await mlflowCreateModel(client, "resnet")
            // When a parameter is missing or has a value of the wrong kind
            let response = try await mlflow(client, method, endpoint, parameters)
            // Then it is 400 INVALID_PARAMETER_VALUE naming the parameter
            expectMLflowError(
                response,
                .badRequest,
                "INVALID_PARAMETER_VALUE",
                mentioning: [parameter],
                "\(method) \(endpoint) \(parameters)"
            )
        }
    }

    @Test(arguments: [
        ("/api/2.0/mlflow/nope", HTTPRequest.Method.get),
        ("/api/2.0/mlflow/registered-models/nope", .post),
        ("/api/2.0/mlflow/model-versions/get/extra", .get),
        ("/api/2.0/mlflow", .get),
        ("/api/3.0/mlflow/registered-models/get", .get),
        ("/api/2.0/mlflow-artifacts/nope", .get),
        ("/api/2.0/mlflow/registered-models/create", .get),
        ("/api/2.0/mlflow/registered-models/get", .post),
        ("/api/2.0/mlflow/runs/get", .delete),
        ("/api/2.0/mlflow-artifacts/artifacts", .put),
    ])
    func unknownRoutesAre404EndpointNotFound(_ path: String, _ method: HTTPRequest.Method) async throws {
        try await withTestRegistry { client in
            // Given / When a path or method under the MLflow prefixes that no route serves
            let response = try await send(client, method, path, json: [:] as [String: Any])
            // Then it is 404 ENDPOINT_NOT_FOUND in MLflow's shape, never a 500 (the client retries 5xx)
            expectMLflowError(response, .notFound, "ENDPOINT_NOT_FOUND", "\(method) \(path)")
        }
    }

    @Test(arguments: [
        "{\"name\": ",
        "not json at all",
        "[\"resnet\"]",
        "\"resnet\"",
        "{\"name\": \"resnet\"} trailing",
        "",
    ])
    func malformedJSONBodiesAre400InvalidParameterValue(_ body: String) async throws {
        try await withTestRegistry { client in
            // Given / When a create request whose body is not a JSON object
            let response = try await send(
                client,
                .post,
                "/api/2.0/mlflow/registered-models/create",
                body: ByteBuffer(string: body),
                headers: [.contentType: "application/json"]
            )
            // Then it is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", "body \(body)")
            // And no model was created
            let search = try await mlflow(client, .get, "registered-models/search")
            try expectStatus(search, .ok)
            #expect(try search.decode(MLflowModelSearchAnswer.self).registeredModels == nil)
        }
    }

    @Test func aTrailingCommaIsMalformedJSON() async throws {
        try await withTestRegistry { client in
            // Given / When a create request whose JSON object ends with a comma (RFC 8259 has no trailing commas;
            // MLflow's own server, on Python's json module, answers 400)
            let response = try await send(
                client,
                .post,
                "/api/2.0/mlflow/registered-models/create",
                body: ByteBuffer(string: "{\"name\": \"resnet\",}"),
                headers: [.contentType: "application/json"]
            )
            // Then it is 400 INVALID_PARAMETER_VALUE, and no model was created
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE")
            expectMLflowError(
                try await mlflow(client, .get, "registered-models/get", ["name": "resnet"]),
                .notFound,
                "RESOURCE_DOES_NOT_EXIST"
            )
        }
    }

    @Test func aBodyOverTheJSONLimitIs413InMLflowsShape() async throws {
        try await withTestRegistry { client in
            // Given / When a create request with a 2 MiB description
            let response = try await mlflow(
                client,
                .post,
                "registered-models/create",
                ["name": "resnet", "description": String(repeating: "x", count: 2 << 20)]
            )
            // Then it is 413 in MLflow's shape (a 4xx the client does not retry), and no model was created
            expectMLflowError(response, .contentTooLarge, "INVALID_PARAMETER_VALUE")
            expectMLflowError(
                try await mlflow(client, .get, "registered-models/get", ["name": "resnet"]),
                .notFound,
                "RESOURCE_DOES_NOT_EXIST"
            )
        }
    }

    @Test func aParameterOfTheWrongJSONTypeIs400NamingIt() async throws {
        try await withTestRegistry { client in
            // Given / When a create request whose name is an object
            let response = try await mlflow(client, .post, "registered-models/create", ["name": ["first": "resnet"]])
            // Then it is 400 INVALID_PARAMETER_VALUE naming the parameter
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: ["name"])
        }
    }

    /// `{run}` stands for a run's id. Each number is outside Int64 (JSON allows any magnitude): converting it to one
    /// used to trap and take the daemon down.
    @Test(arguments: [
        ("registered-models/get-latest-versions", #"{"name": 1e300}"#),
        ("registered-models/get-latest-versions", #"{"name": -1e300}"#),
        ("registered-models/get-latest-versions", #"{"name": 9223372036854775808}"#),
        ("registered-models/create", #"{"name": 1e300}"#),
        ("registered-models/alias", #"{"name": "resnet", "alias": "champion", "version": 1e300}"#),
        ("model-versions/set-tag", #"{"name": "resnet", "version": 1e19, "key": "k", "value": "v"}"#),
        ("model-versions/transition-stage", #"{"name": "resnet", "version": -1e300, "stage": "Production"}"#),
        ("runs/search", #"{"experiment_ids": [1e300]}"#),
        ("runs/search", #"{"experiment_ids": ["0"], "max_results": -1e300}"#),
        ("runs/create", #"{"experiment_id": 1e300}"#),
        ("runs/create", #"{"experiment_id": "0", "start_time": 1e300}"#),
        ("runs/log-metric", #"{"run_id": "{run}", "key": "k", "value": 1, "timestamp": 1e300, "step": 0}"#),
        ("runs/log-metric", #"{"run_id": "{run}", "key": "k", "value": 1, "timestamp": 0, "step": -1e300}"#),
        ("runs/update", #"{"run_id": "{run}", "end_time": 1e300}"#),
        ("logged-models", #"{"experiment_id": 1e300, "name": "m"}"#),
    ])
    func numbersOutsideInt64Are400AndTheServerKeepsAnswering(_ endpoint: String, _ json: String) async throws {
        try await withTestRegistry(.live) { client in
            // Given a registered model and a run
            try await mlflowCreateModel(client, "resnet")
            let run = try await mlflowCreateRun(client).info.runId
            // When the body holds a number outside Int64 where an integer or a name is expected
            let body = json.replacingOccurrences(of: "{run}", with: run)
            let response = try await send(
                client,
                .post,
                "/api/2.0/mlflow/\(endpoint)",
                body: ByteBuffer(string: body),
                headers: [.contentType: "application/json"]
            )
            // Then it is a 4xx in MLflow's shape, not a crash or a 5xx
            #expect((400..<500).contains(response.status.code), "\(endpoint) \(body): \(response.text)")
            #expect(response.text.contains("error_code"), "\(endpoint) \(body): \(response.text)")
            // And the server keeps answering
            #expect(try await mlflowGetModel(client, "resnet").name == "resnet")
            #expect(try await mlflowGetRun(client, run).info.runId == run)
        }
    }

    @Test func numbersOutsideInt64WhereTextIsExpectedAreKeptAsText() async throws {
        try await withTestRegistry(.live) { client in
            // Given a run
            let run = try await mlflowCreateRun(client).info.runId
            // When a tag and params are logged with numbers for values, one outside Int64, one integral, one not
            let bodies = [
                #"{"run_id": "\#(run)", "key": "huge", "value": 1e300}"#,
                #"{"run_id": "\#(run)", "key": "whole", "value": 3.0}"#,
            ]
            for body in bodies {
                let response = try await send(
                    client,
                    .post,
                    "/api/2.0/mlflow/runs/set-tag",
                    body: ByteBuffer(string: body),
                    headers: [.contentType: "application/json"]
                )
                try expectStatus(response, .ok)
            }
            let batch = try await send(
                client,
                .post,
                "/api/2.0/mlflow/runs/log-batch",
                body: ByteBuffer(
                    string:
                        #"{"run_id": "\#(run)", "params": [{"key": "big", "value": -1e300}, {"key": "half", "value": 0.5}]}"#
                ),
                headers: [.contentType: "application/json"]
            )
            try expectStatus(batch, .ok)
            // Then they are stored as text, as Swift writes the number
            let data = try await mlflowGetRun(client, run).data
            #expect(data.tags?.contains(MLflowKeyValue(key: "huge", value: "1e+300")) == true, "\(data.tags ?? [])")
            #expect(data.tags?.contains(MLflowKeyValue(key: "whole", value: "3")) == true, "\(data.tags ?? [])")
            #expect(
                Set(data.params ?? []) == [
                    MLflowKeyValue(key: "big", value: "-1e+300"), MLflowKeyValue(key: "half", value: "0.5"),
                ]
            )
        }
    }

    @Test func v1RoutesKeepTheirOwnErrorShape() async throws {
        try await withTestRegistry { client in
            // Given a model created through the MLflow API
            try await mlflowCreateModel(client, "resnet")
            // When the v1 API is asked for a missing model, a duplicate and a route that does not exist
            let missing = try await send(client, .get, "/api/v1/models/missing")
            let duplicate = try await send(client, .post, "/api/v1/models", json: ["name": "resnet"])
            let noRoute = try await send(client, .get, "/api/v1/nope")
            // Then each is the v1 `{"error": {...}}` body with v1 statuses and codes
            expectError(missing, .notFound, "not_found", mentioning: ["missing"])
            expectError(duplicate, .conflict, "already_exists", mentioning: ["resnet"])
            expectError(noRoute, .notFound, "not_found", mentioning: ["no route for GET /api/v1/nope"])
            // And nothing of the MLflow shape leaks into them
            for response in [missing, duplicate, noRoute] {
                #expect(!response.text.contains("error_code"), "body: \(response.text)")
                #expect(!response.text.contains("ENDPOINT_NOT_FOUND"), "body: \(response.text)")
                #expect(!response.text.contains("mlflow"), "body: \(response.text)")
            }
        }
    }

    @Test func authenticationAndPermissionFailuresUseTheMLflowShape() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given a reader of vision-* and a model vision-a
            let reader = try await tokenWithRole(
                client,
                admin: registry.adminToken,
                principal: "rita",
                role: "reader",
                pattern: "vision-*"
            )
            try await mlflowCreateModel(client, "vision-a", token: registry.adminToken)
            // When an MLflow route is called without a token
            let anonymous = try await mlflow(client, .get, "registered-models/get", ["name": "vision-a"])
            // Then it is 401 UNAUTHENTICATED with a bearer challenge
            expectMLflowError(anonymous, .unauthorized, "UNAUTHENTICATED")
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            // When the reader tries to create a model
            let create = try await mlflow(
                client,
                .post,
                "registered-models/create",
                ["name": "vision-b"],
                token: reader
            )
            // Then it is 403 PERMISSION_DENIED
            expectMLflowError(create, .forbidden, "PERMISSION_DENIED")
            // And an unknown MLflow route is 404 ENDPOINT_NOT_FOUND for an authenticated caller
            let unknown = try await mlflow(client, .get, "nope", token: registry.adminToken)
            expectMLflowError(unknown, .notFound, "ENDPOINT_NOT_FOUND")
        }
    }
}
