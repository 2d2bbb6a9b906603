public import Foundation

/// Who a request acts for, once its token has been checked: the principal recorded in the audit trail and what it
/// may do.
public struct Identity: Sendable, Equatable {
    /// Recorded in the audit trail: `user:alice`, `service:ci`, `device:cam-17`, or `anonymous` with auth off.
    public var principal: Principal
    /// The principal's name (`alice`).
    public var name: String
    /// `nil` when authentication is off (`--auth none`).
    public var kind: PrincipalKind?
    /// The token the request presented.
    public var tokenID: String?
    public var tokenExpiresAt: Date?
    public var bindings: [RoleBinding]
    /// For a device: the models it may read.
    public var deviceModels: Set<String>

    public init(
        principal: Principal,
        name: String,
        kind: PrincipalKind?,
        tokenID: String?,
        tokenExpiresAt: Date?,
        bindings: [RoleBinding],
        deviceModels: Set<String>
    ) {
        self.principal = principal
        self.name = name
        self.kind = kind
        self.tokenID = tokenID
        self.tokenExpiresAt = tokenExpiresAt
        self.bindings = bindings
        self.deviceModels = deviceModels
    }

    /// Everyone, when the operator turned authentication off for local use.
    public static let local = Identity(
        principal: .anonymous,
        name: "anonymous",
        kind: nil,
        tokenID: nil,
        tokenExpiresAt: nil,
        bindings: [RoleBinding(pattern: .all, role: .admin)],
        deviceModels: []
    )

    /// The audit-trail id of a principal.
    public static func principalID(name: String, kind: PrincipalKind) -> Principal {
        Principal(id: "\(kind.rawValue):\(name)")
    }

    public var isDevice: Bool { kind == .device }

    /// The highest role on `model`: the strongest binding whose pattern matches, or `reader` for a device's models.
    public func role(on model: String) -> Role? {
        if isDevice { return deviceModels.contains(model) ? .reader : nil }
        return bindings.filter { $0.pattern.matches(model) }.map(\.role).max()
    }

    public func can(_ role: Role, on model: String) -> Bool {
        guard let held = self.role(on: model) else { return false }
        return held >= role
    }

    /// Whether some binding gives at least `role` (on any model).
    public func hasAnywhere(_ role: Role) -> Bool {
        if isDevice { return role == .reader && !deviceModels.isEmpty }
        return bindings.contains { $0.role >= role }
    }

    /// `role` or more on every model (`*`).
    public func hasEverywhere(_ role: Role) -> Bool {
        !isDevice && bindings.contains { $0.pattern.isAll && $0.role >= role }
    }

    /// Admin on `*`: may manage tokens and role bindings.
    public var isAdministrator: Bool { hasEverywhere(.admin) }

    /// How the principal is named in messages: `token 3f2a… (service:ci)`.
    public var described: String {
        guard let tokenID else { return principal.id }
        return "\(principal.id) (token \(tokenID))"
    }
}
