import HTTPTypes
import Hummingbird
import Logging

/// Authenticates every request (except the open routes) and checks the route's ``AccessRequirement`` before the
/// handler runs. Runs after routing, so it knows the matched route and its parameters.
///
/// - No or bad token: 401 with `WWW-Authenticate`. Valid token, not allowed: 403 naming the principal, the model and
///   the role needed. A request for an unknown route needs a valid token too (401 before 404, so routes are not
///   revealed), and a route missing from ``AccessPolicy`` is refused.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = RegistryRequestContext
    let authenticator: Authenticator
    let store: any MetadataStore

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let route = context.endpointPath ?? "NotFound"
        let requirement = AccessPolicy.requirement(method: request.method.rawValue, route: route)
        if requirement == .open { return try await next(request, context) }
        let values = request.headers[values: .authorization]
        guard values.count <= 1 else {
            throw Authenticator.unauthorized(
                "send one Authorization header, not \(values.count)",
                error: "invalid_request"
            )
        }
        var context = context
        context.identity = try await authenticator.authenticate(authorization: values.first)
        if route == "NotFound" { return try await next(request, context) }
        guard let requirement else {
            context.logger.error(
                "no access policy for this route: refused",
                metadata: ["route": "\(request.method) \(route)"]
            )
            throw RegistryError(.forbidden, "\(request.method) \(route) has no access policy; it is refused")
        }
        if let answer = try await authorize(requirement, request, context) { return answer }
        return try await next(request, context)
    }

    /// Throws 403 when the requirement is not met; returns the answer to send instead of running the handler, if any.
    private func authorize(
        _ requirement: AccessRequirement,
        _ request: Request,
        _ context: Context
    ) async throws -> Response? {
        let identity = context.identity
        switch requirement {
        case .open, .authenticated:
            return nil
        case .people:
            if identity.isDevice {
                throw RegistryError(
                    .forbidden,
                    "\(identity.described) is a device: it may only read its models, not \(request.uri.path)"
                )
            }
        case .model(let role):
            // Decoded exactly as the handler will read it: `vision%2Da` is `vision-a`.
            try identity.require(role, on: try context.string("name"))
        case .someModel(let role):
            guard identity.hasAnywhere(role) else {
                throw RegistryError(
                    .forbidden,
                    "\(identity.described) may not \(role.verb) any model: needs \(role.rawValue) on at least one model (\(identity.heldRoles))"
                )
            }
        case .administrator:
            guard identity.isAdministrator else {
                throw RegistryError(
                    .forbidden,
                    "\(identity.described) may not manage tokens and roles: needs admin on '*' (\(identity.heldRoles))"
                )
            }
        case .agent:
            guard identity.isDevice else {
                throw RegistryError(
                    .forbidden,
                    "\(identity.described) is not an agent: \(request.uri.path) takes the device token of an enrolled agent"
                )
            }
        case .blob:
            let digest = try context.digest()
            if try await store.mayRead(digest, identity) { return nil }
            // A writer asks with HEAD whether to upload: a blob it may not read is "not here" for it, so it sends
            // the bytes (proving it has them) instead of learning that someone else stored them.
            if request.method == .head, identity.hasAnywhere(.writer) { return Response(status: .notFound) }
            throw RegistryError(
                .forbidden,
                "\(identity.described) may not read blob \(digest): needs reader on a model with a version that holds it, or to have uploaded it",
                details: ["needed": Role.reader.rawValue]
            )
        }
        return nil
    }
}

extension Identity {
    /// Throws 403 unless the identity holds at least `role` on `model`.
    func require(_ role: Role, on model: String) throws {
        guard !can(role, on: model) else { return }
        let held = self.role(on: model)
        throw RegistryError(
            .forbidden,
            "\(described) may not \(role.verb) model '\(Validation.printable(model))': needs \(role.rawValue), has \(held?.rawValue ?? "no role") on it",
            details: ["needed": role.rawValue, "held": held?.rawValue ?? "none"]
        )
    }

    /// `reader on *, writer on vision-*`, or `no roles`.
    var heldRoles: String {
        if isDevice {
            return deviceModels.isEmpty
                ? "it has no models" : "its models: \(deviceModels.sorted().joined(separator: ", "))"
        }
        let roles = bindings.map { "\($0.role.rawValue) on \($0.pattern.text)" }
        return roles.isEmpty ? "it has no roles" : "it has " + roles.joined(separator: ", ")
    }
}

extension Role {
    /// What the role allows, for messages: "may not push to …".
    var verb: String {
        switch self {
        case .reader: "read"
        case .writer: "write to"
        case .promoter: "promote in"
        case .admin: "administer"
        }
    }
}
