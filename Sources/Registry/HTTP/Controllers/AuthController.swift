import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/api/v1/whoami`, `/api/v1/tokens`, `/api/v1/principals`: who am I, API and device tokens, role bindings.
///
/// Everything but `whoami` needs admin on `*` (``AccessPolicy``). A token's secret appears once, in the answer to
/// its creation; lists show ids only.
struct AuthController {
    let store: any AuthStore
    let authenticator: Authenticator

    func add(to router: Router<RegistryRequestContext>) {
        router.get("/api/v1/whoami", use: whoami)
        router.get("/api/v1/tokens", use: listTokens)
        router.post("/api/v1/tokens", use: createToken)
        router.delete("/api/v1/tokens/:id", use: revokeToken)
        router.get("/api/v1/principals", use: listPrincipals)
        router.get("/api/v1/principals/:principal", use: getPrincipal)
        router.put("/api/v1/principals/:principal/roles/:pattern", use: grantRole)
        router.delete("/api/v1/principals/:principal/roles/:pattern", use: revokeRole)
    }

    @Sendable func whoami(_ request: Request, context: RegistryRequestContext) async throws -> WhoAmIDTO {
        let identity = context.identity
        return WhoAmIDTO(
            principal: identity.name,
            id: identity.principal.id,
            kind: identity.kind?.rawValue,
            authentication: authenticator.mode == .none ? "none" : "token",
            token: identity.tokenID.map { WhoAmIDTO.Token(id: $0, expiresAt: identity.tokenExpiresAt) },
            roles: identity.isDevice ? [] : identity.bindings.map(RoleBindingDTO.init),
            models: identity.isDevice ? identity.deviceModels.sorted() : nil
        )
    }

    @Sendable func listTokens(_ request: Request, context: RegistryRequestContext) async throws -> TokenListDTO {
        let principal = request.uri.queryParameters.get("principal")
        if let principal { try Validation.principalName(principal) }
        let now = Date()
        return TokenListDTO(tokens: try await store.tokens(principal: principal).map { TokenDTO($0, now: now) })
    }

    @Sendable func createToken(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<CreatedTokenDTO> {
        let body = try await request.decode(as: CreateTokenRequest.self, context: context)
        try Validation.principalName(body.principal)
        let kind = try body.kind.map { try PrincipalKind(parsing: $0) }
        try Validation.text(body.description ?? "", field: "description", maxLength: 1000)
        let now = Date()
        if let expiresAt = body.expiresAt, expiresAt <= now {
            throw RegistryError.invalid(
                "expires_at \(expiresAt.ISO8601Format()) is in the past: give a time after \(now.ISO8601Format())"
            )
        }
        let models = body.models ?? []
        for model in models { try Validation.modelName(model) }
        if !models.isEmpty, let kind, kind != .device {
            throw RegistryError.invalid("models are given to devices only; a \(kind.rawValue) gets roles instead")
        }
        let token = AccessToken.generate()
        let record = try await store.createToken(
            token,
            principal: body.principal,
            kind: kind,
            description: body.description ?? "",
            expiresAt: body.expiresAt,
            deviceModels: models,
            actor: context.principal
        )
        authenticator.invalidate()
        context.logger.notice(
            "token created",
            metadata: ["token_id": "\(record.id)", "principal": "\(record.kind.rawValue):\(record.principal)"]
        )
        return EditedResponse(
            status: .created,
            headers: [.location: "/api/v1/tokens/\(record.id)", .cacheControl: "no-store"],
            response: CreatedTokenDTO(token: token.text, record: TokenDTO(record, now: now))
        )
    }

    @Sendable func revokeToken(_ request: Request, context: RegistryRequestContext) async throws -> TokenDTO {
        let id = try context.string("id")
        guard AccessToken.isValidID(id) else {
            throw RegistryError.invalid(
                "invalid token id '\(Validation.printable(id))': expected the 16 hex digits after 'mctl_' (see 'modelctl token list')"
            )
        }
        let record = try await store.revokeToken(id: id, actor: context.principal)
        authenticator.invalidate()
        context.logger.notice("token revoked", metadata: ["token_id": "\(id)"])
        return TokenDTO(record, now: Date())
    }

    @Sendable func listPrincipals(_ request: Request, context: RegistryRequestContext) async throws -> PrincipalListDTO
    {
        PrincipalListDTO(principals: try await store.principals().map(PrincipalDTO.init))
    }

    @Sendable func getPrincipal(_ request: Request, context: RegistryRequestContext) async throws -> PrincipalDTO {
        let name = try context.string("principal")
        try Validation.principalName(name)
        return PrincipalDTO(try await store.principal(named: name))
    }

    @Sendable func grantRole(_ request: Request, context: RegistryRequestContext) async throws -> RoleChangeDTO {
        let name = try context.string("principal")
        try Validation.principalName(name)
        let pattern = try ModelPattern(parsing: try context.string("pattern"))
        let body = try await request.decode(as: GrantRoleRequest.self, context: context)
        let role = try Role(parsing: body.role)
        let change = try await store.grantRole(principal: name, pattern: pattern, role: role, actor: context.principal)
        authenticator.invalidate()
        return RoleChangeDTO(change)
    }

    @Sendable func revokeRole(_ request: Request, context: RegistryRequestContext) async throws -> RoleChangeDTO {
        let name = try context.string("principal")
        try Validation.principalName(name)
        let pattern = try ModelPattern(parsing: try context.string("pattern"))
        let change = try await store.revokeRole(principal: name, pattern: pattern, actor: context.principal)
        authenticator.invalidate()
        return RoleChangeDTO(change)
    }
}

// MARK: Wire types

struct CreateTokenRequest: Decodable {
    var principal: String
    var kind: String?
    var description: String?
    var expiresAt: Date?
    var models: [String]?

    enum CodingKeys: String, CodingKey {
        case principal, kind, description, models
        case expiresAt = "expires_at"
    }
}

struct GrantRoleRequest: Decodable {
    var role: String
}

struct RoleBindingDTO: Codable, Equatable {
    var pattern: String
    var role: String

    init(_ binding: RoleBinding) {
        pattern = binding.pattern.text
        role = binding.role.rawValue
    }
}

struct WhoAmIDTO: ResponseEncodable {
    struct Token: Encodable {
        var id: String
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case id
            case expiresAt = "expires_at"
        }
    }

    var principal: String
    var id: String
    var kind: String?
    var authentication: String
    var token: Token?
    var roles: [RoleBindingDTO]
    var models: [String]?
}

struct TokenDTO: ResponseEncodable {
    var id: String
    var principal: String
    var kind: String
    var description: String
    var status: String
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
    var revokedBy: String?

    init(_ record: TokenRecord, now: Date) {
        id = record.id
        principal = record.principal
        kind = record.kind.rawValue
        description = record.description
        status = record.status(at: now).rawValue
        createdBy = record.createdBy
        createdAt = record.createdAt
        expiresAt = record.expiresAt
        revokedAt = record.revokedAt
        revokedBy = record.revokedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, principal, kind, description, status
        case createdBy = "created_by"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case revokedBy = "revoked_by"
    }
}

/// The answer to a token's creation: the only time its secret is shown.
struct CreatedTokenDTO: ResponseEncodable {
    var token: String
    var record: TokenDTO

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(token, forKey: .token)
    }

    enum CodingKeys: String, CodingKey { case token }
}

struct TokenListDTO: ResponseEncodable {
    var tokens: [TokenDTO]
}

struct PrincipalDTO: ResponseEncodable {
    var name: String
    var kind: String
    var createdBy: String
    var createdAt: Date
    var roles: [RoleBindingDTO]
    var models: [String]?
    var activeTokens: Int

    init(_ record: PrincipalRecord) {
        name = record.name
        kind = record.kind.rawValue
        createdBy = record.createdBy
        createdAt = record.createdAt
        roles = record.bindings.map(RoleBindingDTO.init)
        models = record.kind == .device ? record.deviceModels : nil
        activeTokens = record.activeTokens
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, roles, models
        case createdBy = "created_by"
        case createdAt = "created_at"
        case activeTokens = "active_tokens"
    }
}

struct PrincipalListDTO: ResponseEncodable {
    var principals: [PrincipalDTO]
}

struct RoleChangeDTO: ResponseEncodable {
    var principal: String
    var pattern: String
    var from: String?
    var to: String?

    init(_ change: RoleChange) {
        principal = change.principal
        pattern = change.pattern.text
        from = change.from?.rawValue
        to = change.to?.rawValue
    }

    func encode(to encoder: any Encoder) throws {
        // from/to are always present (null when there is no role), so scripts can rely on the keys.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(principal, forKey: .principal)
        try container.encode(pattern, forKey: .pattern)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
    }

    enum CodingKeys: String, CodingKey { case principal, pattern, from, to }
}
