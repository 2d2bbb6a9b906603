import AsyncHTTPClient
public import Foundation
import NIOHTTP1

// `/api/v1/whoami`, `/api/v1/tokens`, `/api/v1/principals`: who am I, API and device tokens, role bindings.
//
// Every route but `whoami` needs admin on `*`. Every method throws ``RegistryClientError`` `unauthorized` (401) for a
// missing, malformed, unknown, expired or revoked token and `forbidden` (403) when the token may not do this.

extension RegistryClient {
    /// Who the client's token acts for (`GET /api/v1/whoami`).
    ///
    /// Any valid token may ask, a device's included. With `--auth none` the registry answers for `anonymous`, with
    /// ``RemoteWhoAmI/authentication`` `none`.
    ///
    /// - Returns: the principal, the token's id and expiry, and its roles (or, for a device, its models).
    /// - Throws: ``RegistryClientError`` `unauthorized`.
    public func whoami() async throws -> RemoteWhoAmI {
        try await json(RemoteWhoAmI.self, .GET, "/api/v1/whoami")
    }

    /// Lists tokens, oldest first, revoked and expired ones included (`GET /api/v1/tokens`).
    ///
    /// - Parameter principal: only this principal's tokens.
    /// - Returns: the tokens, without their secrets.
    /// - Throws: ``RegistryClientError`` `notFound` for an unknown principal, `invalidArgument` for a malformed name,
    ///   `forbidden` without admin on `*`.
    public func listTokens(principal: String? = nil) async throws -> RemoteTokenList {
        try await json(
            RemoteTokenList.self,
            .GET,
            "/api/v1/tokens",
            query: principal.map { [("principal", $0)] } ?? []
        )
    }

    /// Creates a token (`POST /api/v1/tokens`); the principal is created with its first token.
    ///
    /// The answer is the only time the token itself is shown: the registry stores a hash of it. A new principal holds
    /// no role until one is granted with ``grantRole(principal:role:pattern:)``; a device reads the models given here.
    ///
    /// - Parameters:
    ///   - principal: 1–64 of `A–Z a–z 0–9 . _ - @`, starting with a letter or digit.
    ///   - kind: the principal's kind; `nil` means `user` for a new principal and accepts any for an existing one.
    ///   - description: free text shown in lists (up to 1000 characters).
    ///   - expiresAt: when the token stops working, in the future; `nil` for never.
    ///   - models: models a device may read (added to those it has); devices only.
    /// - Returns: the token and its record.
    /// - Throws: ``RegistryClientError`` `invalidArgument` (malformed name or model, expiry in the past, models for
    ///   a non-device), `conflict` when the principal exists with another kind, `forbidden` without admin on `*`.
    public func createToken(
        principal: String,
        kind: RemotePrincipalKind? = nil,
        description: String? = nil,
        expiresAt: Date? = nil,
        models: [String]? = nil
    ) async throws -> RemoteCreatedToken {
        try await json(
            RemoteCreatedToken.self,
            .POST,
            "/api/v1/tokens",
            body: CreateTokenBody(
                principal: principal,
                kind: kind,
                description: description,
                expiresAt: expiresAt,
                models: models
            )
        )
    }

    /// Revokes a token at once (`DELETE /api/v1/tokens/{id}`); revoking a revoked token changes nothing.
    ///
    /// - Parameter id: the 16 hex digits after `mctl_`.
    /// - Returns: the token's record, ``RemoteToken/status`` `revoked`.
    /// - Throws: ``RegistryClientError`` `notFound`, `invalidArgument` for a malformed id, `conflict` when it is the
    ///   last active token with admin on `*`, `forbidden` without admin on `*`.
    public func revokeToken(id: String) async throws -> RemoteToken {
        try await json(RemoteToken.self, .DELETE, "/api/v1/tokens/\(Self.segment(id))")
    }

    /// Every principal with its roles and number of active tokens, by name (`GET /api/v1/principals`).
    ///
    /// - Returns: the principals.
    /// - Throws: ``RegistryClientError`` `forbidden` without admin on `*`.
    public func listPrincipals() async throws -> RemotePrincipalList {
        try await json(RemotePrincipalList.self, .GET, "/api/v1/principals")
    }

    /// One principal (`GET /api/v1/principals/{name}`).
    ///
    /// - Parameter name: the principal.
    /// - Returns: the principal with its roles (or models) and number of active tokens.
    /// - Throws: ``RegistryClientError`` `notFound` (the message lists the principals), `invalidArgument` for a
    ///   malformed name, `forbidden` without admin on `*`.
    public func principal(named name: String) async throws -> RemotePrincipal {
        try await json(RemotePrincipal.self, .GET, Self.principalPath(name))
    }

    /// Gives a principal a role on the models matching a pattern, replacing the role it had on that pattern
    /// (`PUT /api/v1/principals/{name}/roles/{pattern}`).
    ///
    /// - Parameters:
    ///   - principal: a user or service account (devices hold no roles).
    ///   - role: the role.
    ///   - pattern: `*`, a model name, or a name with `*` wildcards such as `vision-*`.
    /// - Returns: the change; ``RemoteRoleChange/from`` equals ``RemoteRoleChange/to`` when nothing changed.
    /// - Throws: ``RegistryClientError`` `notFound` for an unknown principal, `invalidArgument` for a device or a
    ///   malformed pattern, `forbidden` without admin on `*`.
    public func grantRole(principal: String, role: RemoteRole, pattern: String = "*") async throws -> RemoteRoleChange {
        try await json(
            RemoteRoleChange.self,
            .PUT,
            Self.rolePath(principal, pattern),
            body: GrantRoleBody(role: role)
        )
    }

    /// Removes a principal's role on a pattern (`DELETE /api/v1/principals/{name}/roles/{pattern}`).
    ///
    /// - Parameters:
    ///   - principal: the principal.
    ///   - pattern: the pattern of the binding, exactly as granted.
    /// - Returns: the change, ``RemoteRoleChange/to`` `nil`.
    /// - Throws: ``RegistryClientError`` `notFound` when there is no such binding (the message lists the roles held),
    ///   `conflict` when it is the last admin role on `*` with an active token, `forbidden` without admin on `*`.
    public func revokeRole(principal: String, pattern: String = "*") async throws -> RemoteRoleChange {
        try await json(RemoteRoleChange.self, .DELETE, Self.rolePath(principal, pattern))
    }

    /// `/api/v1/principals/{name}`.
    static func principalPath(_ name: String) -> String { "/api/v1/principals/\(segment(name))" }

    /// `/api/v1/principals/{name}/roles/{pattern}`.
    static func rolePath(_ principal: String, _ pattern: String) -> String {
        principalPath(principal) + "/roles/\(segment(pattern))"
    }
}
