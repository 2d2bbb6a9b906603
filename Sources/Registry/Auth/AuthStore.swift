public import Foundation

/// A token as the registry lists it: never its secret, nor the secret's hash.
public struct TokenRecord: Sendable, Equatable {
    public var id: String
    public var principal: String
    public var kind: PrincipalKind
    public var description: String
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var revokedBy: String?

    public enum Status: String, Sendable {
        case active, expired, revoked
    }

    public func status(at now: Date) -> Status {
        if revokedAt != nil { return .revoked }
        if let expiresAt, expiresAt <= now { return .expired }
        return .active
    }
}

/// What authentication needs to know about a token: its record, the stored hash of its secret and its principal's
/// permissions.
public struct TokenCredentials: Sendable {
    public var record: TokenRecord
    public var secretHash: Data
    public var bindings: [RoleBinding]
    public var deviceModels: Set<String>
}

/// A principal with its role bindings (or, for a device, its models) and how many active tokens it has.
public struct PrincipalRecord: Sendable, Equatable {
    public var name: String
    public var kind: PrincipalKind
    public var createdBy: String
    public var createdAt: Date
    public var bindings: [RoleBinding]
    public var deviceModels: [String]
    public var activeTokens: Int
}

/// A change of role binding: the role before (nil: none) and after (nil: revoked).
public struct RoleChange: Sendable, Equatable {
    public var principal: String
    public var pattern: ModelPattern
    public var from: Role?
    public var to: Role?
}

/// Durable principals, tokens and role bindings. Every change is one transaction with its `auth_events` row.
public protocol AuthStore: Sendable {
    /// Creates a token for `principal`, creating the principal (of `kind`, `user` by default) on its first token.
    /// A device's `models` are added to the models it may read.
    ///
    /// - Throws: `conflict` when the principal exists with another kind; `invalidArgument` for models on a
    ///   non-device principal.
    func createToken(
        _ token: AccessToken,
        principal: String,
        kind: PrincipalKind?,
        description: String,
        expiresAt: Date?,
        deviceModels: [String],
        actor: Principal
    ) async throws -> TokenRecord
    func tokens(principal: String?) async throws -> [TokenRecord]
    /// Revokes a token; revoking a revoked token returns it unchanged. `notFound` for an unknown id.
    func revokeToken(id: String, actor: Principal) async throws -> TokenRecord
    /// The credentials of a token id, or nil when there is no such token.
    func credentials(tokenID: String) async throws -> TokenCredentials?
    func principals() async throws -> [PrincipalRecord]
    func principal(named name: String) async throws -> PrincipalRecord
    /// Gives `principal` `role` on `pattern`, replacing the role it had on that pattern.
    ///
    /// - Throws: `notFound` for an unknown principal; `invalidArgument` for a device.
    func grantRole(principal: String, pattern: ModelPattern, role: Role, actor: Principal) async throws -> RoleChange
    /// Removes the binding of `principal` on `pattern`.
    ///
    /// - Throws: `notFound` when there is none; `conflict` when it is the last admin binding on `*` of a principal
    ///   with an active token (the registry would have no administrator left).
    func revokeRole(principal: String, pattern: ModelPattern, actor: Principal) async throws -> RoleChange
    /// Names of the models with a READY version that has a file with this content (to decide who may read a blob).
    func models(holding digest: Digest) async throws -> [String]
    /// Records that `principal` uploaded the bytes of `digest` in full.
    func recordBlobHolder(_ digest: Digest, principal: Principal) async throws
    /// Whether `principal` has uploaded the bytes of `digest`.
    func isBlobHolder(_ digest: Digest, principal: Principal) async throws -> Bool
    /// Number of tokens ever created (revoked and expired included).
    func tokenCount() async throws -> Int
    /// Makes sure `token` exists as an active token of the principal `admin`, which holds admin on `*`
    /// (start-up with `--admin-token-file`, and the first start).
    ///
    /// - Returns: whether the token was created now.
    /// - Throws: `conflict` when a token with that id exists with another secret or has been revoked.
    func ensureAdminToken(_ token: AccessToken, description: String) async throws -> Bool
}

extension AuthStore {
    /// Whether `identity` may read the blob `digest`: reader on every model, holder of its bytes, or reader of a
    /// model with a READY version that has it.
    public func mayRead(_ digest: Digest, _ identity: Identity) async throws -> Bool {
        if identity.hasEverywhere(.reader) { return true }
        if !identity.isDevice, try await isBlobHolder(digest, principal: identity.principal) { return true }
        return try await models(holding: digest).contains { identity.can(.reader, on: $0) }
    }
}
