import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// Every route of ``AccessPolicy`` × every kind of caller: 401 without a valid token, 403 when the token may not do
/// it, anything else when it may. Each route runs against its own registry with real fixtures (a model `vision-a`
/// with READY and PENDING versions, a stage, an alias, blobs, upload sessions, and an MLflow experiment with a run,
/// a logged model and their artifacts), so the allowed requests succeed.
///
/// The MLflow routes name their model in the query or body, not in the path: the table asks for a role on some model,
/// and the handler for the role on the model named. Their requests list those handler checks, so the expectation is
/// the table's and then the handler's; their 401 and 403 answers are in MLflow's shape
/// (`{"error_code": "UNAUTHENTICATED" | "PERMISSION_DENIED", "message": …}`).
@Suite struct AuthorizationMatrixTests {
    /// Who calls: no token, broken tokens, then principals from the least to the most privileged.
    enum Caller: String, CaseIterable, CustomStringConvertible {
        case noToken
        case malformedHeader
        case notAToken
        case wrongSecret
        case unknownID
        case expired
        case revoked
        case deviceOfOtherModel
        case readerOfOtherPattern
        case writerOfOtherPattern
        /// Passes every "some model" check of the table, and no check on `vision-a`: the MLflow handlers' own.
        case adminOfOtherPattern
        case deviceOfModel
        case reader
        case writer
        case promoter
        case admin

        var description: String { rawValue }

        var isAuthenticated: Bool {
            switch self {
            case .noToken, .malformedHeader, .notAToken, .wrongSecret, .unknownID, .expired, .revoked: false
            default: true
            }
        }

        var isDevice: Bool { self == .deviceOfModel || self == .deviceOfOtherModel }

        /// The role the caller holds on `model`: the principals of the matrix hold their roles on `vision-*` or
        /// `other-*` (admin on `*`); the devices were given `vision-a` or `other-b`.
        func role(on model: String) -> Role? {
            let vision = model.hasPrefix("vision-")
            let other = model.hasPrefix("other-")
            switch self {
            case .reader: return vision ? .reader : nil
            case .writer: return vision ? .writer : nil
            case .promoter: return vision ? .promoter : nil
            case .admin: return .admin
            case .deviceOfModel: return model == "vision-a" ? .reader : nil
            case .deviceOfOtherModel: return model == "other-b" ? .reader : nil
            case .readerOfOtherPattern: return other ? .reader : nil
            case .writerOfOtherPattern: return other ? .writer : nil
            case .adminOfOtherPattern: return other ? .admin : nil
            default: return nil
            }
        }

        /// The strongest role the caller holds on any model.
        var strongestRole: Role? { [role(on: "vision-a"), role(on: "other-b")].compactMap { $0 }.max() }
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case unauthorized
        /// 403 whose message contains this fragment (the role needed, or why no role helps).
        case forbidden(String)
        /// Neither 401 nor 403.
        case allowed
        /// 404: a blob the caller may not read is "not here" for a writer's HEAD, so it uploads the bytes itself.
        case hidden

        var description: String {
            switch self {
            case .unauthorized: "401"
            case .forbidden(let fragment): "403 (\(fragment))"
            case .allowed: "allowed"
            case .hidden: "404"
            }
        }
    }

    /// What a handler checks once the route table let the request through, in order.
    enum HandlerCheck {
        /// At least `role` on the model the body or query names.
        case role(Role, on: String)
        /// A deployment of `vision-a`: 404 to a caller who may not read the model, then `role` on it.
        case deployment(Role)
        /// Reader on the registered model a new version's `source` names (`models:/vision-a/1`).
        case source(String)
        /// Writer on some model: the experiment tree of the artifact routes, whose reads the table opens to readers
        /// (for the registry tree).
        case tracking
        /// The creator of the run or logged model the request changes, or an administrator (admin on `*`): the
        /// fixture's run and logged model were created by the administrator, so every other caller is refused.
        case owner
    }

    /// The table's outcome for the caller, then the first handler check it fails.
    static func expected(_ caller: Caller, route: String, checks: [HandlerCheck] = []) -> Outcome {
        let byTable = expectedByTable(caller, route: route)
        guard byTable == .allowed else { return byTable }
        for check in checks {
            let outcome: Outcome =
                switch check {
                case .role(let role, let model): atLeast(caller.role(on: model), role)
                case .deployment(let role):
                    caller.role(on: "vision-a") == nil ? .hidden : atLeast(caller.role(on: "vision-a"), role)
                case .source(let model):
                    caller.role(on: model) == nil ? .forbidden("may not read model '\(model)'") : .allowed
                case .tracking: atLeast(caller.strongestRole, .writer)
                case .owner: caller == .admin ? .allowed : .forbidden("may not change")
                }
            if outcome != .allowed { return outcome }
        }
        return .allowed
    }

    static func atLeast(_ held: Role?, _ needed: Role) -> Outcome {
        guard let held, held >= needed else { return .forbidden("needs \(needed.rawValue)") }
        return .allowed
    }

    /// What the issue asks of each requirement, for each caller, on the model `vision-a`.
    static func expectedByTable(_ caller: Caller, route: String) -> Outcome {
        guard let requirement = AccessPolicy.routes[route] else { return .forbidden("no access policy") }
        if requirement == .open { return .allowed }
        guard caller.isAuthenticated else { return .unauthorized }
        switch requirement {
        case .open, .authenticated:
            return .allowed
        case .people:
            return caller.isDevice ? .forbidden("is a device") : .allowed
        case .administrator:
            return caller == .admin ? .allowed : .forbidden("needs admin on '*'")
        case .model(let role):
            return atLeast(caller.role(on: "vision-a"), role)
        case .someModel(let role):
            // The fixture's upload sessions were started by the admin: to any other writer they do not exist.
            if route.contains("/api/v1/uploads/{id}"), atLeast(caller.strongestRole, role) == .allowed {
                return caller == .admin ? .allowed : .hidden
            }
            return atLeast(caller.strongestRole, role)
        case .agent:
            // The matrix's devices hold device tokens made with `token create`, not enrolled agents.
            return caller.isDevice ? .forbidden("is not an enrolled agent") : .forbidden("is not an agent")
        case .blob:
            // Readable through a model that holds it; HEAD (does it exist?) for any writer.
            if caller.role(on: "vision-a") != nil { return .allowed }
            if route.hasPrefix("HEAD "), let strongest = caller.strongestRole, strongest >= .writer { return .hidden }
            return .forbidden("needs reader")
        }
    }

    static let modelBlob = BlobFixture.onnx(count: 256, seed: 101)
    static let otherBlob = BlobFixture.onnx(count: 256, seed: 102)
    static let newBlob = BlobFixture(count: 64, seed: 103)
    static let uploadBytes = BlobFixture(count: 10, seed: 104)

    /// The state every route is tried against.
    struct Fixture {
        /// The `Authorization` header of each caller (none for `noToken`).
        var authorization: [Caller: String]
        /// A token of `user:victim`, who also holds reader on `victim-*` (for the revoke routes).
        var victimTokenID: String
        /// An upload session with nothing uploaded yet.
        var freshUpload: String
        /// An upload session holding ``uploadBytes``.
        var filledUpload: String
        /// The MLflow experiment `training`, its run (metric `loss`, tag `note`, the file `model/model.onnx` in its
        /// artifacts) and a finalized logged model of that run (tag `stage`, the file `model.onnx`), all created by the
        /// administrator.
        var experimentID: String
        var runID: String
        var loggedModelID: String
        /// An unused enrollment token (for the revoke route).
        var enrollmentTokenID: String

        /// `<experiment>/<run>/artifacts`: the run's tree in the MLflow artifact store.
        var runArtifacts: String { "\(experimentID)/\(runID)/artifacts" }
    }

    struct RouteRequest: CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var json: Any?
        var body: ByteBuffer?
        var headers: HTTPFields = [:]
        /// What the handler checks after the table, on what the request names.
        var checks: [HandlerCheck]
        /// The answer of every caller allowed through when it is not a success (a write into the read-only view of
        /// registered versions is 400); `nil` when the first caller allowed succeeds.
        var allowedStatus: HTTPResponse.Status?
        /// For a listing the handler filters: the model the answer names exactly when the caller may read it.
        var listsOnlyIfReadable: String?

        init(
            _ method: HTTPRequest.Method,
            _ uri: String,
            json: Any? = nil,
            body: ByteBuffer? = nil,
            headers: HTTPFields = [:],
            checks: [HandlerCheck] = [],
            allowedStatus: HTTPResponse.Status? = nil,
            listsOnlyIfReadable: String? = nil
        ) {
            self.method = method
            self.uri = uri
            self.json = json
            self.body = body
            self.headers = headers
            self.checks = checks
            self.allowedStatus = allowedStatus
            self.listsOnlyIfReadable = listsOnlyIfReadable
        }

        var description: String { "\(method) \(uri)" }

        /// Whether the answers come in MLflow's error shape.
        var isMLflow: Bool { uri.hasPrefix("/api/2.0/mlflow") || uri.hasPrefix("/api/3.0/mlflow") }
    }

    /// A request that succeeds for a caller allowed to make it, for each route of the policy; `nil` for a route this
    /// table does not know yet (the test then fails, so new routes get a row).
    static func request(for route: String, _ fixture: Fixture) -> RouteRequest? {
        let model = "/api/v1/models/vision-a"
        switch route {
        case "GET /healthz": return RouteRequest(.get, "/healthz")
        case "GET /readyz": return RouteRequest(.get, "/readyz")
        case "GET /metrics": return RouteRequest(.get, "/metrics")
        case "GET /api/v1/openapi.yaml": return RouteRequest(.get, "/api/v1/openapi.yaml")
        case "GET /api/v1/whoami": return RouteRequest(.get, "/api/v1/whoami")
        case "GET /api/v1/tokens": return RouteRequest(.get, "/api/v1/tokens")
        case "POST /api/v1/tokens":
            return RouteRequest(.post, "/api/v1/tokens", json: ["principal": "newcomer", "kind": "user"])
        case "DELETE /api/v1/tokens/{id}": return RouteRequest(.delete, "/api/v1/tokens/\(fixture.victimTokenID)")
        case "GET /api/v1/principals": return RouteRequest(.get, "/api/v1/principals")
        case "GET /api/v1/principals/{principal}": return RouteRequest(.get, "/api/v1/principals/victim")
        case "PUT /api/v1/principals/{principal}/roles/{pattern}":
            return RouteRequest(.put, "/api/v1/principals/victim/roles/victim-%2A", json: ["role": "writer"])
        case "DELETE /api/v1/principals/{principal}/roles/{pattern}":
            return RouteRequest(.delete, "/api/v1/principals/victim/roles/victim-%2A")
        case "POST /api/v1/models":
            // The body names the model: the handler checks writer on it.
            return RouteRequest(
                .post,
                "/api/v1/models",
                json: ["name": "vision-new"],
                checks: [.role(.writer, on: "vision-new")]
            )
        case "GET /api/v1/models": return RouteRequest(.get, "/api/v1/models", listsOnlyIfReadable: "vision-a")
        case "GET /api/v1/models/{name}": return RouteRequest(.get, model)
        case "PATCH /api/v1/models/{name}": return RouteRequest(.patch, model, json: ["description": "changed"])
        case "DELETE /api/v1/models/{name}": return RouteRequest(.delete, "\(model)?force=true")
        case "GET /api/v1/models/{name}/history": return RouteRequest(.get, "\(model)/history")
        case "POST /api/v1/models/{name}/versions":
            let file: [String: Any] = ["path": "model.onnx", "size": modelBlob.size, "digest": modelBlob.digest]
            return RouteRequest(.post, "\(model)/versions", json: ["files": [file]])
        case "GET /api/v1/models/{name}/versions": return RouteRequest(.get, "\(model)/versions")
        case "GET /api/v1/models/{name}/versions/{version}": return RouteRequest(.get, "\(model)/versions/1")
        case "PATCH /api/v1/models/{name}/versions/{version}":
            return RouteRequest(.patch, "\(model)/versions/1", json: ["description": "changed"])
        case "POST /api/v1/models/{name}/versions/{version}/commit":
            return RouteRequest(.post, "\(model)/versions/2/commit")
        case "POST /api/v1/models/{name}/versions/{version}/fail":
            return RouteRequest(.post, "\(model)/versions/3/fail", json: ["reason": "broken"])
        case "POST /api/v1/models/{name}/versions/{version}/stage":
            return RouteRequest(.post, "\(model)/versions/1/stage", json: ["stage": "Staging"])
        case "GET /api/v1/models/{name}/versions/{version}/files/**":
            return RouteRequest(.get, "\(model)/versions/1/files/model.onnx")
        case "HEAD /api/v1/models/{name}/versions/{version}/files/**":
            return RouteRequest(.head, "\(model)/versions/1/files/model.onnx")
        case "GET /api/v1/models/{name}/labels/{label}": return RouteRequest(.get, "\(model)/labels/first")
        case "GET /api/v1/models/{name}/stages/{stage}": return RouteRequest(.get, "\(model)/stages/Production")
        case "POST /api/v1/models/{name}/stages/{stage}/rollback":
            return RouteRequest(.post, "\(model)/stages/Production/rollback")
        case "GET /api/v1/models/{name}/aliases": return RouteRequest(.get, "\(model)/aliases")
        case "GET /api/v1/models/{name}/aliases/{alias}": return RouteRequest(.get, "\(model)/aliases/champion")
        case "PUT /api/v1/models/{name}/aliases/{alias}":
            return RouteRequest(.put, "\(model)/aliases/challenger", json: ["version": 1])
        case "DELETE /api/v1/models/{name}/aliases/{alias}":
            return RouteRequest(.delete, "\(model)/aliases/champion")
        case "POST /api/v1/models/{name}/aliases/{alias}/rollback":
            return RouteRequest(.post, "\(model)/aliases/champion/rollback")
        case "HEAD /api/v1/blobs/{digest}": return RouteRequest(.head, "/api/v1/blobs/\(modelBlob.digest)")
        case "GET /api/v1/blobs/{digest}": return RouteRequest(.get, "/api/v1/blobs/\(modelBlob.digest)")
        case "PUT /api/v1/blobs/{digest}":
            return RouteRequest(.put, "/api/v1/blobs/\(newBlob.digest)", body: ByteBuffer(bytes: newBlob.bytes))
        case "POST /api/v1/uploads": return RouteRequest(.post, "/api/v1/uploads")
        case "GET /api/v1/uploads/{id}": return RouteRequest(.get, "/api/v1/uploads/\(fixture.freshUpload)")
        case "HEAD /api/v1/uploads/{id}": return RouteRequest(.head, "/api/v1/uploads/\(fixture.freshUpload)")
        case "PATCH /api/v1/uploads/{id}":
            return RouteRequest(
                .patch,
                "/api/v1/uploads/\(fixture.freshUpload)",
                body: ByteBuffer(bytes: uploadBytes.bytes),
                headers: [.contentRange: "bytes 0-9/10"]
            )
        case "PUT /api/v1/uploads/{id}":
            return RouteRequest(.put, "/api/v1/uploads/\(fixture.filledUpload)?digest=\(uploadBytes.digest)")
        case "DELETE /api/v1/uploads/{id}": return RouteRequest(.delete, "/api/v1/uploads/\(fixture.freshUpload)")
        default: return fleetRequest(for: route, fixture) ?? mlflowRequest(for: route, fixture)
        }
    }

    /// The fleet's routes: the deployment `vision-dep` of `vision-a` (canary 50 % of version 1), the enrolled agent
    /// `agent-a`, an unused enrollment token. The matrix's devices are not enrolled agents, so every caller is refused
    /// on the agent routes.
    static func fleetRequest(for route: String, _ fixture: Fixture) -> RouteRequest? {
        let deployment = "/api/v1/deployments/vision-dep"
        switch route {
        case "POST /api/v1/agent/enroll":
            // Open to all; a well-formed token with a bad name is refused by validation for everyone.
            return RouteRequest(
                .post,
                "/api/v1/agent/enroll",
                json: ["enrollment_token": AccessToken.generate().text, "name": "bad name!", "labels": [:]],
                allowedStatus: .badRequest
            )
        case "GET /api/v1/agent/desired-state": return RouteRequest(.get, "/api/v1/agent/desired-state?wait=0")
        case "POST /api/v1/agent/reports":
            return RouteRequest(
                .post,
                "/api/v1/agent/reports",
                json: [
                    "deployment": "vision-dep", "rollout": 1, "model": "vision-a", "version": 1, "step": "active",
                    "active_version": 1,
                ]
            )
        case "GET /api/v1/agent/blobs/{digest}": return RouteRequest(.get, "/api/v1/agent/blobs/\(modelBlob.digest)")
        case "HEAD /api/v1/agent/blobs/{digest}":
            return RouteRequest(.head, "/api/v1/agent/blobs/\(modelBlob.digest)")
        case "POST /api/v1/enrollment-tokens":
            return RouteRequest(.post, "/api/v1/enrollment-tokens", json: ["labels": ["site": "plant-1"]])
        case "GET /api/v1/enrollment-tokens": return RouteRequest(.get, "/api/v1/enrollment-tokens")
        case "DELETE /api/v1/enrollment-tokens/{id}":
            return RouteRequest(.delete, "/api/v1/enrollment-tokens/\(fixture.enrollmentTokenID)")
        case "GET /api/v1/agents": return RouteRequest(.get, "/api/v1/agents")
        case "PUT /api/v1/agents/{agent}/labels":
            return RouteRequest(.put, "/api/v1/agents/agent-a/labels", json: ["labels": ["site": "plant-2"]])
        case "DELETE /api/v1/agents/{agent}": return RouteRequest(.delete, "/api/v1/agents/agent-a")
        case "POST /api/v1/deployments":
            return RouteRequest(
                .post,
                "/api/v1/deployments",
                json: ["name": "vision-new", "model": "vision-a", "selector_kind": "version", "selector": "1"],
                checks: [.role(.promoter, on: "vision-a")]
            )
        case "GET /api/v1/deployments":
            return RouteRequest(.get, "/api/v1/deployments", listsOnlyIfReadable: "vision-a")
        case "GET /api/v1/deployments/{deployment}":
            return RouteRequest(.get, deployment, checks: [.deployment(.reader)])
        case "PATCH /api/v1/deployments/{deployment}":
            return RouteRequest(.patch, deployment, json: ["percent": 60], checks: [.deployment(.promoter)])
        case "DELETE /api/v1/deployments/{deployment}":
            return RouteRequest(.delete, deployment, checks: [.deployment(.admin)])
        case "POST /api/v1/deployments/{deployment}/pause":
            return RouteRequest(.post, "\(deployment)/pause", checks: [.deployment(.promoter)])
        case "POST /api/v1/deployments/{deployment}/resume":
            // The deployment is active: everyone allowed through is told it cannot resume.
            return RouteRequest(
                .post,
                "\(deployment)/resume",
                checks: [.deployment(.promoter)],
                allowedStatus: .conflict
            )
        case "POST /api/v1/deployments/{deployment}/abort":
            return RouteRequest(.post, "\(deployment)/abort", checks: [.deployment(.promoter)])
        case "GET /api/v1/fleet": return RouteRequest(.get, "/api/v1/fleet", listsOnlyIfReadable: "vision-a")
        default: return nil
        }
    }

    /// The requests of the MLflow-compatible routes, on `vision-a`, its READY version 1 and the fixture's tracking
    /// data.
    static func mlflowRequest(for route: String, _ fixture: Fixture) -> RouteRequest? {
        let models = "/api/2.0/mlflow/registered-models"
        let versions = "/api/2.0/mlflow/model-versions"
        let mlflow = "/api/2.0/mlflow"
        let artifacts = "/api/2.0/mlflow-artifacts/artifacts"
        let loggedModel = "\(mlflow)/logged-models/\(fixture.loggedModelID)"
        let experiment = fixture.experimentID
        let run = fixture.runID
        // Each registry handler checks the role on the model its query or body names.
        func on(_ role: Role, _ model: String = "vision-a") -> [HandlerCheck] { [.role(role, on: model)] }
        switch route {
        // Registered models
        case "POST /api/2.0/mlflow/registered-models/create":
            return RouteRequest(
                .post,
                "\(models)/create",
                json: ["name": "vision-new"],
                checks: on(.writer, "vision-new")
            )
        case "GET /api/2.0/mlflow/registered-models/get":
            return RouteRequest(.get, "\(models)/get?name=vision-a", checks: on(.reader))
        case "POST /api/2.0/mlflow/registered-models/rename":
            // Admin on the old name and on the new one: the model arrives with its stages and aliases.
            return RouteRequest(
                .post,
                "\(models)/rename",
                json: ["name": "vision-a", "new_name": "vision-renamed"],
                checks: on(.admin) + on(.admin, "vision-renamed")
            )
        case "PATCH /api/2.0/mlflow/registered-models/update":
            return RouteRequest(
                .patch,
                "\(models)/update",
                json: ["name": "vision-a", "description": "changed"],
                checks: on(.writer)
            )
        case "DELETE /api/2.0/mlflow/registered-models/delete":
            return RouteRequest(.delete, "\(models)/delete", json: ["name": "vision-a"], checks: on(.admin))
        case "GET /api/2.0/mlflow/registered-models/search":
            // Lists the models the caller may read.
            return RouteRequest(
                .get,
                "\(models)/search?filter=name+LIKE+%27vision-%25%27",
                listsOnlyIfReadable: "vision-a"
            )
        case "POST /api/2.0/mlflow/registered-models/set-tag":
            return RouteRequest(
                .post,
                "\(models)/set-tag",
                json: ["name": "vision-a", "key": "team", "value": "changed"],
                checks: on(.writer)
            )
        case "DELETE /api/2.0/mlflow/registered-models/delete-tag":
            return RouteRequest(
                .delete,
                "\(models)/delete-tag",
                json: ["name": "vision-a", "key": "team"],
                checks: on(.writer)
            )
        case "POST /api/2.0/mlflow/registered-models/alias":
            return RouteRequest(
                .post,
                "\(models)/alias",
                json: ["name": "vision-a", "alias": "challenger", "version": "1"],
                checks: on(.promoter)
            )
        case "DELETE /api/2.0/mlflow/registered-models/alias":
            return RouteRequest(
                .delete,
                "\(models)/alias",
                json: ["name": "vision-a", "alias": "champion"],
                checks: on(.promoter)
            )
        case "GET /api/2.0/mlflow/registered-models/alias":
            return RouteRequest(.get, "\(models)/alias?name=vision-a&alias=champion", checks: on(.reader))
        case "POST /api/2.0/mlflow/registered-models/get-latest-versions":
            return RouteRequest(
                .post,
                "\(models)/get-latest-versions",
                json: ["name": "vision-a", "stages": ["Production"]],
                checks: on(.reader)
            )
        case "GET /api/2.0/mlflow/registered-models/get-latest-versions":
            return RouteRequest(
                .get,
                "\(models)/get-latest-versions?name=vision-a&stages=Production",
                checks: on(.reader)
            )

        // Model versions
        case "POST /api/2.0/mlflow/model-versions/create":
            // From the finalized logged model's artifacts, which any writer may use (tracking is not tied to a model).
            return RouteRequest(
                .post,
                "\(versions)/create",
                json: [
                    "name": "vision-a", "source": "models:/\(fixture.loggedModelID)", "model_id": fixture.loggedModelID,
                ],
                checks: on(.writer)
            )
        case "GET /api/2.0/mlflow/model-versions/get":
            return RouteRequest(.get, "\(versions)/get?name=vision-a&version=1", checks: on(.reader))
        case "PATCH /api/2.0/mlflow/model-versions/update":
            return RouteRequest(
                .patch,
                "\(versions)/update",
                json: ["name": "vision-a", "version": "1", "description": "changed"],
                checks: on(.writer)
            )
        case "DELETE /api/2.0/mlflow/model-versions/delete":
            return RouteRequest(
                .delete,
                "\(versions)/delete",
                json: ["name": "vision-a", "version": "1"],
                checks: on(.admin)
            )
        case "GET /api/2.0/mlflow/model-versions/search":
            // Lists the versions of models the caller may read.
            return RouteRequest(
                .get,
                "\(versions)/search?filter=name%3D%27vision-a%27",
                listsOnlyIfReadable: "vision-a"
            )
        case "POST /api/2.0/mlflow/model-versions/set-tag":
            return RouteRequest(
                .post,
                "\(versions)/set-tag",
                json: ["name": "vision-a", "version": "1", "key": "reviewed", "value": "changed"],
                checks: on(.writer)
            )
        case "DELETE /api/2.0/mlflow/model-versions/delete-tag":
            return RouteRequest(
                .delete,
                "\(versions)/delete-tag",
                json: ["name": "vision-a", "version": "1", "key": "reviewed"],
                checks: on(.writer)
            )
        case "POST /api/2.0/mlflow/model-versions/transition-stage":
            return RouteRequest(
                .post,
                "\(versions)/transition-stage",
                json: ["name": "vision-a", "version": "1", "stage": "Staging", "archive_existing_versions": false],
                checks: on(.promoter)
            )
        case "GET /api/2.0/mlflow/model-versions/get-download-uri":
            return RouteRequest(.get, "\(versions)/get-download-uri?name=vision-a&version=1", checks: on(.reader))

        // Tracking: the table's writer on some model is the whole check.
        case "GET /api/2.0/mlflow/experiments/get-by-name":
            return RouteRequest(.get, "\(mlflow)/experiments/get-by-name?experiment_name=training")
        case "POST /api/2.0/mlflow/experiments/create":
            return RouteRequest(.post, "\(mlflow)/experiments/create", json: ["name": "tuning"])
        case "GET /api/2.0/mlflow/experiments/get":
            return RouteRequest(.get, "\(mlflow)/experiments/get?experiment_id=\(experiment)")
        case "POST /api/2.0/mlflow/experiments/set-experiment-tag":
            return RouteRequest(
                .post,
                "\(mlflow)/experiments/set-experiment-tag",
                json: ["experiment_id": experiment, "key": "team", "value": "vision"]
            )
        case "POST /api/2.0/mlflow/experiments/search":
            return RouteRequest(.post, "\(mlflow)/experiments/search", json: ["filter": "name = 'training'"])
        case "GET /api/2.0/mlflow/experiments/search":
            return RouteRequest(.get, "\(mlflow)/experiments/search?filter=name+%3D+%27training%27")
        case "POST /api/2.0/mlflow/runs/create":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/create",
                json: ["experiment_id": experiment, "run_name": "refit"]
            )
        case "GET /api/2.0/mlflow/runs/get":
            return RouteRequest(.get, "\(mlflow)/runs/get?run_id=\(run)")
        case "POST /api/2.0/mlflow/runs/update":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/update",
                json: ["run_id": run, "status": "FINISHED"],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/runs/log-parameter":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/log-parameter",
                json: ["run_id": run, "key": "lr", "value": "0.1"],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/runs/log-metric":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/log-metric",
                json: ["run_id": run, "key": "loss", "value": 0.25, "timestamp": 1_700_000_001_000, "step": 1],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/runs/log-batch":
            let metric: [String: Any] = ["key": "accuracy", "value": 0.9, "timestamp": 1_700_000_001_000, "step": 1]
            return RouteRequest(
                .post,
                "\(mlflow)/runs/log-batch",
                json: [
                    "run_id": run, "metrics": [metric], "params": [["key": "epochs", "value": "3"]],
                    "tags": [["key": "phase", "value": "eval"]],
                ],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/runs/set-tag":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/set-tag",
                json: ["run_id": run, "key": "note", "value": "changed"],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/runs/delete-tag":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/delete-tag",
                json: ["run_id": run, "key": "note"],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/runs/search":
            return RouteRequest(.post, "\(mlflow)/runs/search", json: ["experiment_ids": [experiment]])
        case "POST /api/2.0/mlflow/runs/outputs":
            return RouteRequest(
                .post,
                "\(mlflow)/runs/outputs",
                json: ["run_id": run, "models": [["model_id": fixture.loggedModelID, "step": 1]]],
                checks: [.owner]
            )
        case "GET /api/2.0/mlflow/metrics/get-history":
            return RouteRequest(.get, "\(mlflow)/metrics/get-history?run_id=\(run)&metric_key=loss")
        case "POST /api/2.0/mlflow/logged-models":
            // A logged model of the run resolves `runs:/<run>/net-2`: only the run's owner may add one.
            return RouteRequest(
                .post,
                "\(mlflow)/logged-models",
                json: ["experiment_id": experiment, "name": "net-2", "source_run_id": run],
                checks: [.owner]
            )
        case "POST /api/2.0/mlflow/logged-models/search":
            return RouteRequest(.post, "\(mlflow)/logged-models/search", json: ["experiment_ids": [experiment]])
        case "GET /api/2.0/mlflow/logged-models/{model_id}":
            return RouteRequest(.get, loggedModel)
        case "PATCH /api/2.0/mlflow/logged-models/{model_id}":
            return RouteRequest(.patch, loggedModel, json: ["status": "LOGGED_MODEL_READY"], checks: [.owner])
        case "PATCH /api/2.0/mlflow/logged-models/{model_id}/tags":
            return RouteRequest(
                .patch,
                "\(loggedModel)/tags",
                json: ["tags": [["key": "owner", "value": "changed"]]],
                checks: [.owner]
            )
        case "DELETE /api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}":
            return RouteRequest(.delete, "\(loggedModel)/tags/stage", checks: [.owner])
        case "POST /api/2.0/mlflow/logged-models/{model_id}/params":
            return RouteRequest(
                .post,
                "\(loggedModel)/params",
                json: ["params": [["key": "layers", "value": "4"]]],
                checks: [.owner]
            )
        case "GET /api/3.0/mlflow/server-info":
            return RouteRequest(.get, "/api/3.0/mlflow/server-info")

        // Artifacts: the registered version's read-only view needs reader on its model (the other tree is in
        // `otherRequests`).
        case "GET /api/2.0/mlflow-artifacts/artifacts":
            return RouteRequest(.get, "\(artifacts)?path=registry/vision-a/1", checks: on(.reader))
        case "GET /api/2.0/mlflow-artifacts/artifacts/**":
            return RouteRequest(.get, "\(artifacts)/registry/vision-a/1/model.onnx", checks: on(.reader))
        case "PUT /api/2.0/mlflow-artifacts/artifacts/**":
            // Writes go into the artifacts of a run or logged model, by its creator (or an administrator).
            return RouteRequest(
                .put,
                "\(artifacts)/\(fixture.runArtifacts)/notes.txt",
                body: ByteBuffer(bytes: uploadBytes.bytes),
                checks: [.tracking, .owner]
            )
        case "DELETE /api/2.0/mlflow-artifacts/artifacts/**":
            return RouteRequest(
                .delete,
                "\(artifacts)/\(fixture.runArtifacts)/model/model.onnx",
                checks: [.tracking, .owner]
            )
        default: return nil
        }
    }

    /// More requests for routes whose handler checks depend on what the request names: the artifact routes serve the
    /// experiment tree (writer on some model; writes only into a run's or logged model's artifacts, by its creator)
    /// and the read-only view of registered versions (reader on the model), a version made from another registered
    /// model needs reader on that one too, and a logged model of no run needs no run's owner.
    static func otherRequests(for route: String, _ fixture: Fixture) -> [RouteRequest] {
        let artifacts = "/api/2.0/mlflow-artifacts/artifacts"
        let loggedModelArtifacts = "\(fixture.experimentID)/models/\(fixture.loggedModelID)/artifacts"
        switch route {
        case "POST /api/2.0/mlflow/logged-models":
            return [
                RouteRequest(
                    .post,
                    "/api/2.0/mlflow/logged-models",
                    json: ["experiment_id": fixture.experimentID, "name": "net-3"]
                )
            ]
        case "POST /api/2.0/mlflow/model-versions/create":
            return [
                RouteRequest(
                    .post,
                    "/api/2.0/mlflow/model-versions/create",
                    json: ["name": "other-b", "source": "models:/vision-a/1"],
                    checks: [.role(.writer, on: "other-b"), .source("vision-a")]
                ),
                // Reader on the source's model is checked before it is looked up: a model or version that does not
                // exist is 404 only to callers who may read it, so 403 and 404 do not tell models apart.
                RouteRequest(
                    .post,
                    "/api/2.0/mlflow/model-versions/create",
                    json: ["name": "other-b", "source": "models:/vision-gone/1"],
                    checks: [.role(.writer, on: "other-b"), .source("vision-gone")],
                    allowedStatus: .notFound
                ),
                RouteRequest(
                    .post,
                    "/api/2.0/mlflow/model-versions/create",
                    json: ["name": "other-b", "source": "models:/vision-a/9"],
                    checks: [.role(.writer, on: "other-b"), .source("vision-a")],
                    allowedStatus: .notFound
                ),
            ]
        case "GET /api/2.0/mlflow-artifacts/artifacts":
            return [
                RouteRequest(.get, "\(artifacts)?path=\(fixture.runArtifacts)/model", checks: [.tracking]),
                // The top of the view lists the models the caller may read.
                RouteRequest(.get, "\(artifacts)?path=registry", listsOnlyIfReadable: "vision-a"),
            ]
        case "GET /api/2.0/mlflow-artifacts/artifacts/**":
            return [RouteRequest(.get, "\(artifacts)/\(fixture.runArtifacts)/model/model.onnx", checks: [.tracking])]
        case "PUT /api/2.0/mlflow-artifacts/artifacts/**":
            return [
                RouteRequest(
                    .put,
                    "\(artifacts)/registry/vision-a/1/notes.txt",
                    body: ByteBuffer(bytes: uploadBytes.bytes),
                    allowedStatus: .badRequest
                ),
                RouteRequest(
                    .put,
                    "\(artifacts)/\(loggedModelArtifacts)/notes.txt",
                    body: ByteBuffer(bytes: uploadBytes.bytes),
                    checks: [.tracking, .owner]
                ),
                // Beside the run's artifacts: 400 for every writer, whoever created the run.
                RouteRequest(
                    .put,
                    "\(artifacts)/\(fixture.experimentID)/\(fixture.runID)/notes.txt",
                    body: ByteBuffer(bytes: uploadBytes.bytes),
                    checks: [.tracking],
                    allowedStatus: .badRequest
                ),
            ]
        case "DELETE /api/2.0/mlflow-artifacts/artifacts/**":
            return [
                RouteRequest(.delete, "\(artifacts)/registry/vision-a/1/model.onnx", allowedStatus: .badRequest),
                RouteRequest(.delete, "\(artifacts)/\(loggedModelArtifacts)/model.onnx", checks: [.tracking, .owner]),
                RouteRequest(
                    .delete,
                    "\(artifacts)/\(fixture.experimentID)/\(fixture.runID)",
                    checks: [.tracking],
                    allowedStatus: .badRequest
                ),
            ]
        default:
            return []
        }
    }

    /// Builds the fixture as the administrator.
    static func makeFixture(_ registry: AuthRegistry) async throws -> Fixture {
        let client = registry.client
        let admin = registry.adminToken
        // vision-a: v1 READY (label first, in Production, alias champion), v2 and v3 PENDING; other-b: v1 READY.
        try await createModel(client, token: admin, "vision-a")
        try await readyVersion(client, token: admin, model: "vision-a", blob: modelBlob, label: "first")
        try expectStatus(
            try await send(
                client,
                .post,
                "/api/v1/models/vision-a/versions/1/stage",
                token: admin,
                json: ["stage": "Production"]
            ),
            .ok
        )
        try expectStatus(
            try await send(
                client,
                .put,
                "/api/v1/models/vision-a/aliases/champion",
                token: admin,
                json: ["version": 1]
            ),
            .ok
        )
        try await pendingVersion(client, token: admin, model: "vision-a", blob: modelBlob)
        try await pendingVersion(client, token: admin, model: "vision-a", blob: modelBlob)
        try await createModel(client, token: admin, "other-b")
        try await readyVersion(client, token: admin, model: "other-b", blob: otherBlob)

        // The callers. Principal names hold no role name, so a 403 message naming the role needed is not confused
        // with one naming the caller.
        var tokens: [Caller: String] = [.admin: admin]
        let principals: [(Caller, String, String, String)] = [
            (.reader, "rita", "reader", "vision-*"),
            (.writer, "walt", "writer", "vision-*"),
            (.promoter, "pam", "promoter", "vision-*"),
            (.readerOfOtherPattern, "oscar", "reader", "other-*"),
            (.writerOfOtherPattern, "olga", "writer", "other-*"),
            (.adminOfOtherPattern, "otto", "admin", "other-*"),
        ]
        for (caller, principal, role, pattern) in principals {
            tokens[caller] = try await tokenWithRole(
                client,
                admin: admin,
                principal: principal,
                role: role,
                pattern: pattern
            )
        }
        tokens[.deviceOfModel] = try await deviceToken(client, admin: admin, device: "cam-a", models: ["vision-a"])
            .token
        tokens[.deviceOfOtherModel] = try await deviceToken(client, admin: admin, device: "cam-b", models: ["other-b"])
            .token
        // An administrator whose token was revoked, one whose token expired.
        let gone = try await createToken(client, admin: admin, principal: "gone")
        try await grantRole(client, admin: admin, principal: "gone", pattern: "*", role: "admin")
        try expectStatus(try await send(client, .delete, "/api/v1/tokens/\(gone.id)", token: admin), .ok)
        tokens[.revoked] = gone.token
        tokens[.expired] = try await registry.expiredToken(principal: "late").text
        tokens[.unknownID] = AccessToken.generate().text
        // The administrator's id with another secret.
        let adminID = try #require(AccessToken(parsing: admin)).id
        tokens[.wrongSecret] = "mctl_\(adminID)_\(AccessToken.generate().text.suffix(43))"

        var authorization = tokens.mapValues { "Bearer \($0)" }
        authorization[.malformedHeader] = "Basic YWRtaW46c2VjcmV0"
        authorization[.notAToken] = "Bearer mctl_not-a-token"

        // Targets of the revoke routes.
        let victim = try await createToken(client, admin: admin, principal: "victim")
        try await grantRole(client, admin: admin, principal: "victim", pattern: "victim-*", role: "reader")

        // Upload sessions: one empty, one holding uploadBytes.
        func newUpload() async throws -> String {
            let response = try await send(client, .post, "/api/v1/uploads", token: admin)
            try expectStatus(response, .created)
            return try response.decode(APIUpload.self).id
        }
        let freshUpload = try await newUpload()
        let filledUpload = try await newUpload()
        try expectStatus(
            try await send(
                client,
                .patch,
                "/api/v1/uploads/\(filledUpload)",
                token: admin,
                body: ByteBuffer(bytes: uploadBytes.bytes),
                headers: [.contentRange: "bytes 0-9/10"]
            ),
            .ok
        )

        // Fleet: a deployment of vision-a, an enrolled agent, an unused enrollment token.
        try expectStatus(
            try await send(
                client,
                .post,
                "/api/v1/deployments",
                token: admin,
                json: [
                    "name": "vision-dep", "model": "vision-a", "selector_kind": "version", "selector": "1",
                    "strategy": "canary", "percent": 50,
                ]
            ),
            .created
        )
        func enrollmentToken() async throws -> (id: String, token: String) {
            let response = try await send(client, .post, "/api/v1/enrollment-tokens", token: admin, json: [:])
            try expectStatus(response, .created)
            let created = try response.decode(APIEnrollmentToken.self)
            return (created.id, created.token ?? "")
        }
        let enrollment = try await enrollmentToken()
        try expectStatus(
            try await send(
                client,
                .post,
                "/api/v1/agent/enroll",
                authorization: nil,
                json: ["enrollment_token": enrollment.token, "name": "agent-a", "labels": [:]]
            ),
            .created
        )
        let unusedEnrollment = try await enrollmentToken()

        // MLflow: tags on vision-a and its version 1, an experiment with a run and a logged model, and their files.
        let mlflow = try await makeMLflowFixture(client, admin: admin)
        return Fixture(
            authorization: authorization,
            victimTokenID: victim.id,
            freshUpload: freshUpload,
            filledUpload: filledUpload,
            experimentID: mlflow.experimentID,
            runID: mlflow.runID,
            loggedModelID: mlflow.loggedModelID,
            enrollmentTokenID: unusedEnrollment.id
        )
    }

    struct APIEnrollmentToken: Decodable {
        var id: String
        var token: String?
    }

    struct MLflowExperimentCreated: Decodable {
        var experimentId: String
    }

    struct MLflowRunCreated: Decodable {
        struct Run: Decodable {
            struct Info: Decodable { var runId: String }
            var info: Info
        }
        var run: Run
    }

    struct MLflowLoggedModelCreated: Decodable {
        struct Model: Decodable {
            struct Info: Decodable { var modelId: String }
            var info: Info
        }
        var model: Model
    }

    /// The MLflow part of the fixture, made as the administrator through the MLflow API: the tag `team` on `vision-a`,
    /// the tag `reviewed` on its version 1, the experiment `training` with a run (metric `loss`, tag `note`, the file
    /// `model/model.onnx`) and a logged model of the run (tag `stage`, the file `model.onnx`), finalized so that it is a
    /// version source.
    static func makeMLflowFixture(
        _ client: APIClient,
        admin: String
    ) async throws -> (experimentID: String, runID: String, loggedModelID: String) {
        let mlflow = "/api/2.0/mlflow"
        func post(_ path: String, _ json: [String: Any]) async throws -> TestResponse {
            let response = try await send(client, .post, "\(mlflow)/\(path)", token: admin, json: json)
            try expectStatus(response, .ok)
            return response
        }
        func putArtifact(_ path: String, _ blob: BlobFixture) async throws {
            try expectStatus(
                try await send(
                    client,
                    .put,
                    "/api/2.0/mlflow-artifacts/artifacts/\(path)",
                    token: admin,
                    body: ByteBuffer(bytes: blob.bytes)
                ),
                .ok
            )
        }
        _ = try await post("registered-models/set-tag", ["name": "vision-a", "key": "team", "value": "vision"])
        _ = try await post(
            "model-versions/set-tag",
            ["name": "vision-a", "version": "1", "key": "reviewed", "value": "yes"]
        )
        let experiment = try await post("experiments/create", ["name": "training"])
            .decode(MLflowExperimentCreated.self).experimentId
        let run = try await post("runs/create", ["experiment_id": experiment, "run_name": "fit"])
            .decode(MLflowRunCreated.self).run.info.runId
        _ = try await post(
            "runs/log-metric",
            ["run_id": run, "key": "loss", "value": 0.5, "timestamp": 1_700_000_000_000, "step": 0]
        )
        _ = try await post("runs/set-tag", ["run_id": run, "key": "note", "value": "first"])
        try await putArtifact("\(experiment)/\(run)/artifacts/model/model.onnx", modelBlob)
        let model = try await post(
            "logged-models",
            [
                "experiment_id": experiment, "name": "net", "source_run_id": run,
                "tags": [["key": "stage", "value": "dev"]],
            ]
        ).decode(MLflowLoggedModelCreated.self).model.info.modelId
        try await putArtifact("\(experiment)/models/\(model)/artifacts/model.onnx", modelBlob)
        let finalized = try await send(
            client,
            .patch,
            "\(mlflow)/logged-models/\(model)",
            token: admin,
            json: ["status": "LOGGED_MODEL_READY"]
        )
        try expectStatus(finalized, .ok)
        return (experiment, run, model)
    }

    // MARK: Tests

    @Test(arguments: AccessPolicy.routes.keys.sorted())
    func everyCallerGetsTheStatusItsTokenAllows(route: String) async throws {
        try await withAuthRegistry { registry in
            // Given the fixture and a request for the route that succeeds when allowed
            let fixture = try await Self.makeFixture(registry)
            let primary = try #require(Self.request(for: route, fixture), "no request for \(route) in the matrix")
            for request in [primary] + Self.otherRequests(for: route, fixture) {
                var someoneSucceeded = false
                for caller in Caller.allCases {
                    // When the caller sends it
                    let response = try await send(
                        registry.client,
                        request.method,
                        request.uri,
                        authorization: fixture.authorization[caller],
                        json: request.json,
                        body: request.body,
                        headers: request.headers
                    )
                    // Then the status is the one its token allows, in the API's error shape
                    let what = "\(request) as \(caller):"
                    switch Self.expected(caller, route: route, checks: request.checks) {
                    case .unauthorized where request.isMLflow:
                        Self.expectMLflowError(response, .unauthorized, "UNAUTHENTICATED", what)
                    case .unauthorized:
                        expectUnauthorized(response, what)
                    case .forbidden(let fragment) where request.isMLflow:
                        Self.expectMLflowError(response, .forbidden, "PERMISSION_DENIED", mentioning: fragment, what)
                    case .forbidden(let fragment):
                        expectForbidden(response, mentioning: [fragment], what)
                    case .hidden:
                        #expect(response.status == .notFound, "\(what) expected 404, got \(response.status.code)")
                    case .allowed:
                        #expect(
                            response.status != .unauthorized && response.status != .forbidden,
                            "\(what) expected to be allowed, got \(response.status.code) \(response.text)"
                        )
                        if let model = request.listsOnlyIfReadable {
                            // And a listing shows the model exactly to those who may read it
                            let readable = caller.role(on: model) != nil
                            #expect(
                                response.text.contains("\"\(model)\"") == readable,
                                "\(what) the answer should \(readable ? "" : "not ")list \(model): \(response.text)"
                            )
                        }
                        if let status = request.allowedStatus {
                            // And it gets the answer the request has for everyone allowed through
                            #expect(response.status == status, "\(what) \(response.status.code) \(response.text)")
                        } else if !someoneSucceeded {
                            // And the first caller allowed gets through to a real success (the fixture is real)
                            someoneSucceeded = true
                            #expect(response.status.code < 400, "\(what) \(response.status.code) \(response.text)")
                        }
                    }
                }
            }
        }
    }

    /// Checks an error of an MLflow route: the status, exactly MLflow's `{"error_code", "message"}` body (its client
    /// reads `error_code` into `MlflowException`), the challenge on a 401, and the fragment in the message.
    static func expectMLflowError(
        _ response: TestResponse,
        _ status: HTTPResponse.Status,
        _ code: String,
        mentioning fragment: String? = nil,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "\(what) body: \(response.text)", sourceLocation: sourceLocation)
        #expect(
            response.headers[.contentType]?.hasPrefix("application/json") == true,
            "\(what) Content-Type: \(response.headers[.contentType] ?? "none")",
            sourceLocation: sourceLocation
        )
        if status == .unauthorized {
            #expect(
                response.headers[.wwwAuthenticate]?.hasPrefix(#"Bearer realm="modelctl""#) == true,
                "\(what) WWW-Authenticate: \(response.headers[.wwwAuthenticate] ?? "none")",
                sourceLocation: sourceLocation
            )
        }
        let body = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        guard let body, let message = body["message"] as? String else {
            Issue.record(
                "\(what) expected an MLflow error body, got '\(response.text)'",
                sourceLocation: sourceLocation
            )
            return
        }
        #expect(
            Set(body.keys) == ["error_code", "message"],
            "\(what) body: \(response.text)",
            sourceLocation: sourceLocation
        )
        #expect(body["error_code"] as? String == code, "\(what) body: \(response.text)", sourceLocation: sourceLocation)
        if let fragment {
            #expect(
                message.contains(fragment),
                "\(what) message '\(message)' should mention '\(fragment)'",
                sourceLocation: sourceLocation
            )
        }
    }

    @Test func anMLflowRenameNeedsAdminOnBothNames() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given vision-a, and an administrator of vision-* only (the matrix has no caller that holds admin on the
            // model but not writer on the new name)
            try await createModel(client, token: admin, "vision-a")
            let nina = try await tokenWithRole(
                client,
                admin: admin,
                principal: "nina",
                role: "admin",
                pattern: "vision-*"
            )
            let rename = "/api/2.0/mlflow/registered-models/rename"
            // When she renames it to a name outside her pattern
            let away = try await send(
                client,
                .post,
                rename,
                token: nina,
                json: ["name": "vision-a", "new_name": "secret-a"]
            )
            // Then it is refused for the new name, and the model keeps its name
            Self.expectMLflowError(
                away,
                .forbidden,
                "PERMISSION_DENIED",
                mentioning: "model 'secret-a': needs admin",
                "rename to secret-a:"
            )
            try expectStatus(try await send(client, .get, "/api/v1/models/vision-a", token: admin), .ok)
            #expect(try await send(client, .get, "/api/v1/models/secret-a", token: admin).status == .notFound)
            // When she renames it within her pattern, it is renamed
            let within = try await send(
                client,
                .post,
                rename,
                token: nina,
                json: ["name": "vision-a", "new_name": "vision-b"]
            )
            #expect(within.status == .ok, "\(within.status.code) \(within.text)")
            try expectStatus(try await send(client, .get, "/api/v1/models/vision-b", token: admin), .ok)
        }
    }

    @Test func everyRouteTheRouterServesHasAnAccessPolicyEntry() async throws {
        try await withTemporaryDirectory { directory in
            // Given the router the daemon serves
            let service = try openRegistry(dataDirectory: directory)
            let router = buildRouter(
                service: service,
                metrics: RegistryMetrics(),
                authenticator: Authenticator(mode: .tokens, store: service.metadata)
            )
            let served = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
            // When compared with the access policy
            let policy = Set(AccessPolicy.routes.keys)
            // Then every served route has a requirement, and the policy names no route that does not exist
            #expect(served.subtracting(policy).sorted() == [], "served without an access policy entry")
            #expect(policy.subtracting(served).sorted() == [], "in the access policy but not served")
            // And only the probes and enrollment (whose one-time token is in the body) are open
            #expect(
                AccessPolicy.routes.filter { $0.value == .open }.keys.sorted()
                    == ["GET /healthz", "GET /readyz", "POST /api/v1/agent/enroll"]
            )
        }
    }

    @Test func anUnknownRouteIs401WithoutATokenAnd404WithOne() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given an unknown path and a known path with a method it does not serve
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/nothing-here"), (.delete, "/api/v1/whoami")] {
                // When asked without a token, with a bad one and with the admin token
                let anonymous = try await send(client, method, uri, authorization: nil)
                let badToken = try await send(client, method, uri, token: AccessToken.generate().text)
                let admin = try await send(client, method, uri, token: registry.adminToken)
                // Then the route is not revealed before the token is checked
                expectUnauthorized(anonymous, "\(method) \(uri) without a token:")
                expectUnauthorized(badToken, "\(method) \(uri) with an unknown token:")
                expectError(admin, .notFound, "not_found")
            }
        }
    }

    @Test func anUnknownMLflowRouteIs401WithoutATokenAnd404WithOneInMLflowsShape() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // Given an MLflow path this registry does not serve, and a served one with another method
            for (method, uri) in [
                (HTTPRequest.Method.get, "/api/2.0/mlflow/traces/search"), (.put, "/api/2.0/mlflow/runs/get"),
            ] {
                // When asked without a token and with the admin token
                let anonymous = try await send(client, method, uri, authorization: nil)
                let admin = try await send(client, method, uri, token: registry.adminToken)
                // Then the route is not revealed before the token is checked, and both answers are MLflow's
                Self.expectMLflowError(anonymous, .unauthorized, "UNAUTHENTICATED", "\(method) \(uri) without a token:")
                Self.expectMLflowError(admin, .notFound, "ENDPOINT_NOT_FOUND", "\(method) \(uri) as admin:")
            }
        }
    }

    @Test func twoAuthorizationHeadersAreRefused() async throws {
        try await withAuthRegistry { registry in
            // Given a request carrying the admin token twice
            var headers: HTTPFields = [:]
            headers.append(HTTPField(name: .authorization, value: "Bearer \(registry.adminToken)"))
            headers.append(HTTPField(name: .authorization, value: "Bearer \(registry.adminToken)"))
            // When it is sent
            let response = try await send(registry.client, .get, "/api/v1/whoami", headers: headers)
            // Then it is 401 (which one counts would be ambiguous)
            expectUnauthorized(response)
        }
    }

    @Test func theSchemeIsCaseInsensitiveButTheTokenIsNot() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            // When the scheme is written in lower case, and the token in upper case
            let lower = try await send(client, .get, "/api/v1/whoami", authorization: "bearer \(registry.adminToken)")
            let upper = try await send(client, .get, "/api/v1/whoami", token: registry.adminToken.uppercased())
            // Then the first is accepted (RFC 9110: schemes are case-insensitive), the second refused
            try expectStatus(lower, .ok)
            expectUnauthorized(upper)
        }
    }

    @Test func aPercentEncodedModelNameIsAuthorizedAsTheHandlerReadsIt() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given the models vision-a and secretA, a reader of exactly vision-a, and a writer on '*41' (model names
            // ending in 41, which secretA does not)
            try await createModel(client, token: admin, "vision-a")
            try await createModel(client, token: admin, "secretA")
            let reader = try await tokenWithRole(
                client,
                admin: admin,
                principal: "erin",
                role: "reader",
                pattern: "vision-a"
            )
            let writer = try await tokenWithRole(
                client,
                admin: admin,
                principal: "mallory",
                role: "writer",
                pattern: "*41"
            )
            // When the reader reads its model with '-' percent-encoded, and the writer edits secret%41 (= secretA)
            let read = try await send(client, .get, "/api/v1/models/vision%2Da", token: reader)
            let write = try await send(
                client,
                .patch,
                "/api/v1/models/secret%41",
                token: writer,
                json: ["description": "not yours"]
            )
            // Then the reader may read vision-a however it is spelled
            #expect(read.status == .ok, "body: \(read.text)")
            // And the writer may not touch secretA, which its pattern does not cover
            expectForbidden(write, mentioning: ["writer"])
            let secret = try await send(client, .get, "/api/v1/models/secretA", token: admin)
            #expect(try secret.decode(APIModel.self).description == "")
        }
    }

    @Test func aWriterCannotReadABlobOfAnotherModelByReferencingItsDigest() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given vision-a holding a file, and a writer of other-* who knows its digest but may not read vision-a
            try await createModel(client, token: admin, "vision-a")
            try await readyVersion(client, token: admin, model: "vision-a", blob: Self.modelBlob)
            try await createModel(client, token: admin, "other-b")
            let writer = try await tokenWithRole(
                client,
                admin: admin,
                principal: "olga",
                role: "writer",
                pattern: "other-*"
            )
            let before = try await send(client, .get, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            #expect(before.status == .forbidden, "body: \(before.text)")
            // When the writer pushes a version of its own model naming that digest, without uploading the bytes
            let file: [String: Any] = [
                "path": "model.onnx", "size": Self.modelBlob.size, "digest": Self.modelBlob.digest,
            ]
            _ = try await send(client, .post, "/api/v1/models/other-b/versions", token: writer, json: ["files": [file]])
            let commit = try await send(client, .post, "/api/v1/models/other-b/versions/1/commit", token: writer)
            let download = try await send(
                client,
                .get,
                "/api/v1/models/other-b/versions/1/files/model.onnx",
                token: writer
            )
            let blob = try await send(client, .get, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            // Then the commit does not adopt bytes the writer never sent and may not read
            #expect(commit.status != .ok, "committed with another model's blob: \(commit.text)")
            // And neither the file nor the blob gives it vision-a's content
            let leakedThroughFile = download.bytes == Self.modelBlob.bytes
            let leakedThroughBlob = blob.bytes == Self.modelBlob.bytes
            #expect(!leakedThroughFile, "vision-a's file was served through other-b (\(download.status.code))")
            #expect(!leakedThroughBlob, "vision-a's blob was served to a writer of other-* (\(blob.status.code))")
        }
    }

    @Test func aWriterWhoUploadsTheSameBytesMayUseThemAndWrongBytesAreRefused() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            // Given vision-a holding a file, and a writer of other-* that has the same bytes
            try await createModel(client, token: admin, "vision-a")
            try await readyVersion(client, token: admin, model: "vision-a", blob: Self.modelBlob)
            try await createModel(client, token: admin, "other-b")
            let writer = try await tokenWithRole(
                client,
                admin: admin,
                principal: "olga",
                role: "writer",
                pattern: "other-*"
            )
            // Then HEAD says "not here" to it (so a client uploads), and the admin sees the blob
            let head = try await send(client, .head, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            #expect(head.status == .notFound)
            let adminHead = try await send(client, .head, "/api/v1/blobs/\(Self.modelBlob.digest)", token: admin)
            #expect(adminHead.status == .ok)
            // When it sends other bytes under that digest, they are refused (the body is read, not skipped)
            let wrong = try await send(
                client,
                .put,
                "/api/v1/blobs/\(Self.modelBlob.digest)",
                token: writer,
                body: ByteBuffer(bytes: Self.otherBlob.bytes)
            )
            #expect(wrong.status == .unprocessableContent, "\(wrong.status.code) \(wrong.text)")
            // When it sends the right bytes, the stored copy is kept (200, not created) and it may use and read them
            let upload = try await send(
                client,
                .put,
                "/api/v1/blobs/\(Self.modelBlob.digest)",
                token: writer,
                body: ByteBuffer(bytes: Self.modelBlob.bytes)
            )
            #expect(upload.status == .ok, "\(upload.status.code) \(upload.text)")
            let file: [String: Any] = [
                "path": "model.onnx", "size": Self.modelBlob.size, "digest": Self.modelBlob.digest,
            ]
            let created = try await send(
                client,
                .post,
                "/api/v1/models/other-b/versions",
                token: writer,
                json: ["files": [file]]
            )
            #expect(created.status == .created, "\(created.text)")
            let commit = try await send(client, .post, "/api/v1/models/other-b/versions/1/commit", token: writer)
            #expect(commit.status == .ok, "\(commit.text)")
            let blob = try await send(client, .get, "/api/v1/blobs/\(Self.modelBlob.digest)", token: writer)
            #expect(blob.bytes == Self.modelBlob.bytes)
        }
    }
}
