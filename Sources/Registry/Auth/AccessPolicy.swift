/// What each route requires, in one table, checked before any handler runs.
///
/// The middleware looks up `METHOD /route/{pattern}` here; a route missing from the table is refused (fail closed),
/// and a test checks that every route the router has is listed.
public enum AccessRequirement: Sendable, Equatable {
    /// No token: `/healthz`, `/readyz`.
    case open
    /// Any valid token, devices included.
    case authenticated
    /// Any valid token of a user or service account (metrics, API description).
    case people
    /// At least `role` on the model named by the path parameter `name`.
    case model(Role)
    /// At least `role` on some model (uploads before the version exists; listing filters to readable models).
    case someModel(Role)
    /// A blob: readable through a model that holds it, or (HEAD only, for upload de-duplication) by any writer.
    case blob
    /// Admin on `*`: tokens, principals, role bindings.
    case administrator
    /// The device token of an enrolled agent: its desired state, reports and the blobs of its desired versions.
    case agent
}

public enum AccessPolicy {
    /// Requirements by `METHOD path`, path as the router names it.
    public static let routes: [String: AccessRequirement] = [
        "GET /healthz": .open,
        "GET /readyz": .open,
        "GET /metrics": .people,
        "GET /api/v1/openapi.yaml": .people,

        "GET /api/v1/whoami": .authenticated,
        "GET /api/v1/tokens": .administrator,
        "POST /api/v1/tokens": .administrator,
        "DELETE /api/v1/tokens/{id}": .administrator,
        "GET /api/v1/principals": .administrator,
        "GET /api/v1/principals/{principal}": .administrator,
        "PUT /api/v1/principals/{principal}/roles/{pattern}": .administrator,
        "DELETE /api/v1/principals/{principal}/roles/{pattern}": .administrator,

        // The body names the model: the handler checks writer on that name.
        "POST /api/v1/models": .someModel(.writer),
        "GET /api/v1/models": .someModel(.reader),
        "GET /api/v1/models/{name}": .model(.reader),
        "PATCH /api/v1/models/{name}": .model(.writer),
        "DELETE /api/v1/models/{name}": .model(.admin),
        "GET /api/v1/models/{name}/history": .model(.reader),

        "POST /api/v1/models/{name}/versions": .model(.writer),
        "GET /api/v1/models/{name}/versions": .model(.reader),
        "GET /api/v1/models/{name}/versions/{version}": .model(.reader),
        "PATCH /api/v1/models/{name}/versions/{version}": .model(.writer),
        "POST /api/v1/models/{name}/versions/{version}/commit": .model(.writer),
        "POST /api/v1/models/{name}/versions/{version}/fail": .model(.writer),
        "POST /api/v1/models/{name}/versions/{version}/stage": .model(.promoter),
        "GET /api/v1/models/{name}/versions/{version}/files/**": .model(.reader),
        "HEAD /api/v1/models/{name}/versions/{version}/files/**": .model(.reader),
        "GET /api/v1/models/{name}/labels/{label}": .model(.reader),
        "GET /api/v1/models/{name}/stages/{stage}": .model(.reader),
        "POST /api/v1/models/{name}/stages/{stage}/rollback": .model(.promoter),
        "GET /api/v1/models/{name}/aliases": .model(.reader),
        "GET /api/v1/models/{name}/aliases/{alias}": .model(.reader),
        "PUT /api/v1/models/{name}/aliases/{alias}": .model(.promoter),
        "DELETE /api/v1/models/{name}/aliases/{alias}": .model(.promoter),
        "POST /api/v1/models/{name}/aliases/{alias}/rollback": .model(.promoter),

        "HEAD /api/v1/blobs/{digest}": .blob,
        "GET /api/v1/blobs/{digest}": .blob,
        "PUT /api/v1/blobs/{digest}": .someModel(.writer),
        "POST /api/v1/uploads": .someModel(.writer),
        "GET /api/v1/uploads/{id}": .someModel(.writer),
        "HEAD /api/v1/uploads/{id}": .someModel(.writer),
        "PATCH /api/v1/uploads/{id}": .someModel(.writer),
        "PUT /api/v1/uploads/{id}": .someModel(.writer),
        "DELETE /api/v1/uploads/{id}": .someModel(.writer),

        // Agents: enrollment carries a one-time enrollment token in the body; the rest take the agent's device token.
        "POST /api/v1/agent/enroll": .open,
        "GET /api/v1/agent/desired-state": .agent,
        "POST /api/v1/agent/reports": .agent,
        "GET /api/v1/agent/blobs/{digest}": .agent,
        "HEAD /api/v1/agent/blobs/{digest}": .agent,
        // Fleet administration. Deployment handlers check the role on the deployment's model: reader to see,
        // promoter to create, change, pause, resume or abort, admin to delete.
        "POST /api/v1/enrollment-tokens": .administrator,
        "GET /api/v1/enrollment-tokens": .administrator,
        "DELETE /api/v1/enrollment-tokens/{id}": .administrator,
        "GET /api/v1/agents": .administrator,
        "PUT /api/v1/agents/{agent}/labels": .administrator,
        "DELETE /api/v1/agents/{agent}": .administrator,
        "POST /api/v1/deployments": .someModel(.promoter),
        "GET /api/v1/deployments": .someModel(.reader),
        "GET /api/v1/deployments/{deployment}": .someModel(.reader),
        "PATCH /api/v1/deployments/{deployment}": .someModel(.promoter),
        "DELETE /api/v1/deployments/{deployment}": .someModel(.admin),
        "POST /api/v1/deployments/{deployment}/pause": .someModel(.promoter),
        "POST /api/v1/deployments/{deployment}/resume": .someModel(.promoter),
        "POST /api/v1/deployments/{deployment}/abort": .someModel(.promoter),
        "GET /api/v1/fleet": .someModel(.reader),

        // MLflow-compatible API. Registry routes name the model in the query or body: each handler checks the role
        // on that model (reader to read, writer to edit, promoter for stages and aliases, admin to delete or rename).
        "POST /api/2.0/mlflow/registered-models/create": .someModel(.writer),
        "GET /api/2.0/mlflow/registered-models/get": .someModel(.reader),
        "POST /api/2.0/mlflow/registered-models/rename": .someModel(.admin),
        "PATCH /api/2.0/mlflow/registered-models/update": .someModel(.writer),
        "DELETE /api/2.0/mlflow/registered-models/delete": .someModel(.admin),
        "GET /api/2.0/mlflow/registered-models/search": .someModel(.reader),
        "POST /api/2.0/mlflow/registered-models/set-tag": .someModel(.writer),
        "DELETE /api/2.0/mlflow/registered-models/delete-tag": .someModel(.writer),
        "POST /api/2.0/mlflow/registered-models/alias": .someModel(.promoter),
        "DELETE /api/2.0/mlflow/registered-models/alias": .someModel(.promoter),
        "GET /api/2.0/mlflow/registered-models/alias": .someModel(.reader),
        "POST /api/2.0/mlflow/registered-models/get-latest-versions": .someModel(.reader),
        "GET /api/2.0/mlflow/registered-models/get-latest-versions": .someModel(.reader),
        "POST /api/2.0/mlflow/model-versions/create": .someModel(.writer),
        "GET /api/2.0/mlflow/model-versions/get": .someModel(.reader),
        "PATCH /api/2.0/mlflow/model-versions/update": .someModel(.writer),
        "DELETE /api/2.0/mlflow/model-versions/delete": .someModel(.admin),
        "GET /api/2.0/mlflow/model-versions/search": .someModel(.reader),
        "POST /api/2.0/mlflow/model-versions/set-tag": .someModel(.writer),
        "DELETE /api/2.0/mlflow/model-versions/delete-tag": .someModel(.writer),
        "POST /api/2.0/mlflow/model-versions/transition-stage": .someModel(.promoter),
        "GET /api/2.0/mlflow/model-versions/get-download-uri": .someModel(.reader),
        // Tracking (experiments, runs, logged models) belongs to training jobs: writer on some model.
        "GET /api/2.0/mlflow/experiments/get-by-name": .someModel(.writer),
        "POST /api/2.0/mlflow/experiments/create": .someModel(.writer),
        "GET /api/2.0/mlflow/experiments/get": .someModel(.writer),
        "POST /api/2.0/mlflow/experiments/set-experiment-tag": .someModel(.writer),
        "POST /api/2.0/mlflow/experiments/search": .someModel(.writer),
        "GET /api/2.0/mlflow/experiments/search": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/create": .someModel(.writer),
        "GET /api/2.0/mlflow/runs/get": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/update": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/log-parameter": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/log-metric": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/log-batch": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/set-tag": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/delete-tag": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/search": .someModel(.writer),
        "POST /api/2.0/mlflow/runs/outputs": .someModel(.writer),
        "GET /api/2.0/mlflow/metrics/get-history": .someModel(.writer),
        "POST /api/2.0/mlflow/logged-models": .someModel(.writer),
        "POST /api/2.0/mlflow/logged-models/search": .someModel(.writer),
        "GET /api/2.0/mlflow/logged-models/{model_id}": .someModel(.writer),
        "PATCH /api/2.0/mlflow/logged-models/{model_id}": .someModel(.writer),
        "PATCH /api/2.0/mlflow/logged-models/{model_id}/tags": .someModel(.writer),
        "DELETE /api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}": .someModel(.writer),
        "POST /api/2.0/mlflow/logged-models/{model_id}/params": .someModel(.writer),
        "GET /api/3.0/mlflow/server-info": .authenticated,
        // Artifacts: experiment artifacts need writer on some model, `registry/<model>/…` reader on that model
        // (checked by the handler, which knows which tree the path is in).
        "GET /api/2.0/mlflow-artifacts/artifacts": .someModel(.reader),
        "GET /api/2.0/mlflow-artifacts/artifacts/**": .someModel(.reader),
        "PUT /api/2.0/mlflow-artifacts/artifacts/**": .someModel(.writer),
        "DELETE /api/2.0/mlflow-artifacts/artifacts/**": .someModel(.writer),
    ]

    /// The requirement of a matched route; `nil` when the route is not in the table (refused).
    public static func requirement(method: String, route: String) -> AccessRequirement? {
        routes["\(method) \(route)"]
    }
}
