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
    ]

    /// The requirement of a matched route; `nil` when the route is not in the table (refused).
    public static func requirement(method: String, route: String) -> AccessRequirement? {
        routes["\(method) \(route)"]
    }
}
