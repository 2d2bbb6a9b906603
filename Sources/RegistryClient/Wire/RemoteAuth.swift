public import Foundation

// Wire types of `/api/v1/whoami`, `/api/v1/tokens` and `/api/v1/principals`: who a token acts for, API and device
// tokens, principals and their role bindings.

/// What a principal may do with the models a binding covers; each role includes the ones before it.
///
/// - ``reader``: get, list, download.
/// - ``writer``: + upload, create models and versions, update metadata.
/// - ``promoter``: + stages, aliases, rollback.
/// - ``admin``: + delete models; on `*`, also tokens and role bindings.
public enum RemoteRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Get, list, download.
    case reader
    /// And upload, create models and versions, update metadata.
    case writer
    /// And stages, aliases, rollback.
    case promoter
    /// And delete models; on `*`, tokens and role bindings.
    case admin

    /// Orders roles from the weakest (``reader``) to the strongest (``admin``).
    public static func < (lhs: RemoteRole, rhs: RemoteRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The kinds of principal: people and service accounts hold roles, devices read the models they are given.
public enum RemotePrincipalKind: String, Codable, Sendable, CaseIterable {
    /// A person.
    case user
    /// A service account (CI, a training pipeline).
    case service
    /// A deployment agent on a device.
    case device
}

/// A role on the models matching a pattern.
public struct RemoteRoleBinding: Codable, Sendable, Equatable, Hashable {
    /// `*`, a model name, or a name with `*` wildcards such as `vision-*`.
    public var pattern: String
    /// The role held on the models the pattern matches.
    public var role: RemoteRole

    /// Creates a binding.
    ///
    /// - Parameters:
    ///   - pattern: `*`, a model name, or a name with `*` wildcards.
    ///   - role: the role.
    public init(pattern: String, role: RemoteRole) {
        self.pattern = pattern
        self.role = role
    }
}

/// Who the presented token acts for (`GET /api/v1/whoami`).
public struct RemoteWhoAmI: Codable, Sendable, Equatable {
    /// The presented token: its public id and expiry.
    public struct Token: Codable, Sendable, Equatable {
        /// The token's id: the 16 hex digits after `mctl_`.
        public var id: String
        /// When it stops working; `nil` for never.
        public var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case id
            case expiresAt = "expires_at"
        }
    }

    /// The principal's name (`alice`, `ci`), `anonymous` when authentication is off.
    public var principal: String
    /// The principal as the audit trail names it: `user:alice`, `service:ci`, `device:cam-17`, `anonymous`.
    public var id: String
    /// The principal's kind; `nil` when authentication is off.
    public var kind: RemotePrincipalKind?
    /// `token`, or `none` when the registry runs with `--auth none` (everyone is an administrator).
    public var authentication: String
    /// The token the request presented; `nil` when authentication is off.
    public var token: Token?
    /// The role bindings of a user or service account (empty for a device).
    public var roles: [RemoteRoleBinding]
    /// For a device: the models it may read; `nil` for other principals.
    public var models: [String]?

    /// Whether the registry runs without authentication (`--auth none`).
    public var authenticationIsOff: Bool { authentication == "none" }
}

/// Whether a token can still be used.
public enum RemoteTokenStatus: String, Codable, Sendable, CaseIterable {
    /// Usable.
    case active
    /// Past its expiry time.
    case expired
    /// Revoked by an administrator.
    case revoked
}

/// A token as the registry lists it: its public id and metadata, never its secret.
public struct RemoteToken: Codable, Sendable, Equatable {
    /// The 16 hex digits after `mctl_`; names the token in `revoke` and in the audit trail.
    public var id: String
    /// The principal the token acts for.
    public var principal: String
    /// The principal's kind.
    public var kind: RemotePrincipalKind
    /// Free text given at creation, possibly empty.
    public var description: String
    /// Whether it can still be used.
    public var status: RemoteTokenStatus
    /// Who created it (`user:admin`, `system`).
    public var createdBy: String
    /// Creation time.
    public var createdAt: Date
    /// When it stops working; `nil` for never.
    public var expiresAt: Date?
    /// When it was revoked, if it was.
    public var revokedAt: Date?
    /// Who revoked it, if it was.
    public var revokedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, principal, kind, description, status
        case createdBy = "created_by"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case revokedBy = "revoked_by"
    }
}

/// A new token: its record and, this one time, the token itself (`POST /api/v1/tokens`).
///
/// On the wire (and when encoded) the record's fields and `token` share one object.
public struct RemoteCreatedToken: Codable, Sendable, Equatable {
    /// `mctl_<16 hex>_<43 base64url>`: what the client sends as `Authorization: Bearer …`. The registry keeps
    /// only a hash of it and never shows it again.
    public var token: String
    /// The token's record, as lists show it.
    public var record: RemoteToken

    enum CodingKeys: String, CodingKey { case token }

    /// Decodes the record's fields and `token` from one object.
    public init(from decoder: any Decoder) throws {
        record = try RemoteToken(from: decoder)
        token = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .token)
    }

    /// Encodes the record's fields and `token` into one object.
    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(token, forKey: .token)
    }
}

/// Tokens, oldest first (`GET /api/v1/tokens`).
public struct RemoteTokenList: Codable, Sendable, Equatable {
    /// Every token, revoked and expired ones included.
    public var tokens: [RemoteToken]
}

/// A principal with its role bindings (or, for a device, its models) (`GET /api/v1/principals/{name}`).
public struct RemotePrincipal: Codable, Sendable, Equatable {
    /// Unique name.
    public var name: String
    /// Its kind, fixed when its first token was created.
    public var kind: RemotePrincipalKind
    /// Who created it.
    public var createdBy: String
    /// Creation time.
    public var createdAt: Date
    /// Its role bindings, by pattern (empty for a device).
    public var roles: [RemoteRoleBinding]
    /// For a device: the models it may read; `nil` for other principals.
    public var models: [String]?
    /// How many of its tokens are neither expired nor revoked.
    public var activeTokens: Int

    enum CodingKeys: String, CodingKey {
        case name, kind, roles, models
        case createdBy = "created_by"
        case createdAt = "created_at"
        case activeTokens = "active_tokens"
    }
}

/// Every principal, by name (`GET /api/v1/principals`).
public struct RemotePrincipalList: Codable, Sendable, Equatable {
    /// The principals.
    public var principals: [RemotePrincipal]
}

/// A change of role binding (`PUT` and `DELETE /api/v1/principals/{name}/roles/{pattern}`).
///
/// ``from`` and ``to`` are always encoded, as `null` when there is no role, like the registry sends them.
public struct RemoteRoleChange: Codable, Sendable, Equatable {
    /// The principal.
    public var principal: String
    /// The pattern of the binding.
    public var pattern: String
    /// The role before the change; `nil` when there was none.
    public var from: RemoteRole?
    /// The role after the change; `nil` when the binding was revoked.
    public var to: RemoteRole?

    enum CodingKeys: String, CodingKey { case principal, pattern, from, to }

    /// Encodes every field, `from` and `to` as `null` when absent.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(principal, forKey: .principal)
        try container.encode(pattern, forKey: .pattern)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
    }
}

// MARK: Requests

struct CreateTokenBody: Encodable {
    var principal: String
    var kind: RemotePrincipalKind?
    var description: String?
    var expiresAt: Date?
    var models: [String]?

    enum CodingKeys: String, CodingKey {
        case principal, kind, description, models
        case expiresAt = "expires_at"
    }
}

struct GrantRoleBody: Encodable {
    var role: RemoteRole
}
