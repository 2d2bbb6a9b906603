public import Foundation
import GRDB

extension SQLiteMetadataStore {
    public func createToken(
        _ token: AccessToken,
        principal name: String,
        kind: PrincipalKind?,
        description: String,
        expiresAt: Date?,
        deviceModels: [String],
        actor: Principal
    ) async throws -> TokenRecord {
        let now = clock()
        return try await write { db in
            let principal = try Self.ensurePrincipal(
                db,
                name: name,
                kind: kind ?? .user,
                kindGiven: kind != nil,
                actor: actor,
                at: now
            )
            if !deviceModels.isEmpty {
                guard principal.kind == .device else {
                    throw RegistryError.invalid(
                        "models can only be given to a device principal; '\(name)' is a \(principal.kind.rawValue) (grant it a role instead)"
                    )
                }
                for model in deviceModels {
                    try db.execute(
                        cached:
                            "INSERT INTO device_models (principal_id, model_name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        arguments: [principal.id, model]
                    )
                }
            }
            try db.execute(
                cached: """
                    INSERT INTO tokens (id, principal_id, secret_hash, description, created_by, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [token.id, principal.id, token.secretHash, description, actor.id, now, expiresAt]
            )
            try Self.appendAuthEvent(
                db,
                kind: "token_created",
                subject: "\(principal.kind.rawValue):\(name)",
                details: "token \(token.id)" + (expiresAt.map { ", expires \(Self.iso8601($0))" } ?? ""),
                actor: actor,
                at: now
            )
            return TokenRecord(
                id: token.id,
                principal: name,
                kind: principal.kind,
                description: description,
                createdBy: actor.id,
                createdAt: now,
                expiresAt: expiresAt,
                revokedAt: nil,
                revokedBy: nil
            )
        }
    }

    public func tokens(principal: String?) async throws -> [TokenRecord] {
        try await read { db in
            if let principal { _ = try Self.principalRow(db, name: principal) }
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT t.*, p.name AS principal_name, p.kind AS principal_kind
                        FROM tokens t JOIN principals p ON p.id = t.principal_id
                        WHERE ?1 IS NULL OR p.name = ?1
                        ORDER BY t.created_at, t.id
                        """
                ),
                arguments: [principal]
            )
            return rows.map(Self.tokenRecord)
        }
    }

    public func revokeToken(id: String, actor: Principal) async throws -> TokenRecord {
        let now = clock()
        return try await write { db in
            guard let row = try Self.tokenRow(db, id: id) else {
                throw RegistryError.notFound("token '\(Validation.printable(id))' does not exist")
            }
            var record = Self.tokenRecord(row)
            guard record.revokedAt == nil else { return record }
            try Self.keepingAnAdministrator(
                db,
                at: now,
                refusal:
                    "token \(id) is the last active token with admin on '*': create another admin token first (or restart the registry with --admin-token-file)"
            ) {
                try db.execute(
                    cached: "UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
                    arguments: [now, actor.id, id]
                )
            }
            try Self.appendAuthEvent(
                db,
                kind: "token_revoked",
                subject: "\(record.kind.rawValue):\(record.principal)",
                details: "token \(id)",
                actor: actor,
                at: now
            )
            record.revokedAt = now
            record.revokedBy = actor.id
            return record
        }
    }

    public func credentials(tokenID: String) async throws -> TokenCredentials? {
        try await read { db in
            guard let row = try Self.tokenRow(db, id: tokenID) else { return nil }
            let principalID: Int64 = row["principal_id"]
            return TokenCredentials(
                record: Self.tokenRecord(row),
                secretHash: row["secret_hash"],
                bindings: try Self.bindings(db, principalID: principalID),
                deviceModels: Set(try Self.deviceModels(db, principalID: principalID))
            )
        }
    }

    public func principals() async throws -> [PrincipalRecord] {
        let now = clock()
        return try await read { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM principals ORDER BY name"))
            return try rows.map { try Self.principalRecord(db, $0, at: now) }
        }
    }

    public func principal(named name: String) async throws -> PrincipalRecord {
        let now = clock()
        return try await read { db in try Self.principalRecord(db, try Self.principalRow(db, name: name), at: now) }
    }

    public func grantRole(
        principal name: String,
        pattern: ModelPattern,
        role: Role,
        actor: Principal
    ) async throws
        -> RoleChange
    {
        let now = clock()
        return try await write { db in
            let row = try Self.principalRow(db, name: name)
            let principalID: Int64 = row["id"]
            let kind = PrincipalKind(rawValue: row["kind"]) ?? .user
            guard kind != .device else {
                throw RegistryError.invalid(
                    "'\(name)' is a device: devices read only the models they are given (or deployed), never through roles"
                )
            }
            let previous = try String.fetchOne(
                db.cachedStatement(sql: "SELECT role FROM role_bindings WHERE principal_id = ? AND pattern = ?"),
                arguments: [principalID, pattern.text]
            ).flatMap(Role.init(rawValue:))
            if previous == role { return RoleChange(principal: name, pattern: pattern, from: role, to: role) }
            try Self.keepingAnAdministrator(
                db,
                at: now,
                refusal:
                    "'\(name)' holds the last admin role on '*' with an active token: grant admin on '*' to another principal before changing it"
            ) {
                try db.execute(
                    cached: """
                        INSERT INTO role_bindings (principal_id, pattern, role, created_by, created_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (principal_id, pattern) DO UPDATE SET role = excluded.role,
                            created_by = excluded.created_by, created_at = excluded.created_at
                        """,
                    arguments: [principalID, pattern.text, role.rawValue, actor.id, now]
                )
            }
            try Self.appendAuthEvent(
                db,
                kind: "role_granted",
                subject: "\(kind.rawValue):\(name)",
                details: "\(role.rawValue) on \(pattern.text)" + (previous.map { " (was \($0.rawValue))" } ?? ""),
                actor: actor,
                at: now
            )
            return RoleChange(principal: name, pattern: pattern, from: previous, to: role)
        }
    }

    public func revokeRole(principal name: String, pattern: ModelPattern, actor: Principal) async throws -> RoleChange {
        let now = clock()
        return try await write { db in
            let row = try Self.principalRow(db, name: name)
            let principalID: Int64 = row["id"]
            let kind = PrincipalKind(rawValue: row["kind"]) ?? .user
            guard
                let previous = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT role FROM role_bindings WHERE principal_id = ? AND pattern = ?"),
                    arguments: [principalID, pattern.text]
                ).flatMap(Role.init(rawValue:))
            else {
                let held = try Self.bindings(db, principalID: principalID)
                    .map { "\($0.role.rawValue) on \($0.pattern.text)" }
                throw RegistryError.notFound(
                    "'\(name)' has no role on '\(pattern.text)' (roles: \(held.isEmpty ? "none" : held.joined(separator: ", ")))"
                )
            }
            try Self.keepingAnAdministrator(
                db,
                at: now,
                refusal:
                    "'\(name)' holds the last admin role on '*' with an active token: grant admin on '*' to another principal first"
            ) {
                try db.execute(
                    cached: "DELETE FROM role_bindings WHERE principal_id = ? AND pattern = ?",
                    arguments: [principalID, pattern.text]
                )
            }
            try Self.appendAuthEvent(
                db,
                kind: "role_revoked",
                subject: "\(kind.rawValue):\(name)",
                details: "\(previous.rawValue) on \(pattern.text)",
                actor: actor,
                at: now
            )
            return RoleChange(principal: name, pattern: pattern, from: previous, to: nil)
        }
    }

    public func models(holding digest: Digest) async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT DISTINCT m.name FROM version_files f
                        JOIN versions v ON v.id = f.version_id JOIN models m ON m.id = v.model_id
                        WHERE f.digest = ? AND v.status = 'READY' ORDER BY m.name
                        """
                ),
                arguments: [digest.description]
            )
        }
    }

    public func recordBlobHolder(_ digest: Digest, principal: Principal) async throws {
        let now = clock()
        try await write { db in
            try db.execute(
                cached: "INSERT INTO blob_holders (digest, principal, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [digest.description, principal.id, now]
            )
        }
    }

    public func isBlobHolder(_ digest: Digest, principal: Principal) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT 1 FROM blob_holders WHERE digest = ? AND principal = ?"),
                arguments: [digest.description, principal.id]
            ) ?? false
        }
    }

    public func tokenCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM tokens")) ?? 0 }
    }

    public func ensureAdminToken(_ token: AccessToken, description: String) async throws -> Bool {
        let now = clock()
        return try await write { db in
            if let row = try Self.tokenRow(db, id: token.id) {
                let record = Self.tokenRecord(row)
                guard token.matches(hash: row["secret_hash"]) else {
                    throw RegistryError.conflict(
                        "a token with id \(token.id) already exists with another secret: the admin token file does not hold that token"
                    )
                }
                guard record.revokedAt == nil else {
                    throw RegistryError.conflict(
                        "the admin token \(token.id) was revoked: write a new token into the admin token file"
                    )
                }
                guard record.principal == "admin" else {
                    throw RegistryError.conflict(
                        "the admin token file holds token \(token.id) of '\(record.principal)', not of 'admin': write a new token into it ('modelctl token generate')"
                    )
                }
                let principalID: Int64 = row["principal_id"]
                try Self.bindAdministrator(db, principalID: principalID, at: now)
                return false
            }
            let principal = try Self.ensurePrincipal(
                db,
                name: "admin",
                kind: .user,
                kindGiven: false,
                actor: .system,
                at: now
            )
            try Self.bindAdministrator(db, principalID: principal.id, at: now)
            try db.execute(
                cached: """
                    INSERT INTO tokens (id, principal_id, secret_hash, description, created_by, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [token.id, principal.id, token.secretHash, description, Principal.system.id, now]
            )
            try Self.appendAuthEvent(
                db,
                kind: "token_created",
                subject: "\(principal.kind.rawValue):admin",
                details: "token \(token.id) (\(description))",
                actor: .system,
                at: now
            )
            return true
        }
    }

    // MARK: Rows

    private static func bindAdministrator(_ db: Database, principalID: Int64, at now: Date) throws {
        try db.execute(
            cached: """
                INSERT INTO role_bindings (principal_id, pattern, role, created_by, created_at) VALUES (?, '*', 'admin', ?, ?)
                ON CONFLICT (principal_id, pattern) DO UPDATE SET role = 'admin'
                """,
            arguments: [principalID, Principal.system.id, now]
        )
    }

    /// Runs `change`, refusing it (conflict, `refusal`) when it leaves the registry without an active administrator
    /// where it had one: the last admin token or admin role on `*` is never removed or demoted.
    private static func keepingAnAdministrator(
        _ db: Database,
        at now: Date,
        refusal: String,
        _ change: () throws -> Void
    ) throws {
        let administrators = try activeAdministrators(db, at: now)
        try change()
        if administrators > 0, try activeAdministrators(db, at: now) == 0 { throw RegistryError.conflict(refusal) }
    }

    /// Principals holding admin on `*` with at least one active token.
    private static func activeAdministrators(_ db: Database, at now: Date) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT count(DISTINCT b.principal_id) FROM role_bindings b
                    JOIN tokens t ON t.principal_id = b.principal_id
                    WHERE b.pattern = '*' AND b.role = 'admin' AND t.revoked_at IS NULL
                      AND (t.expires_at IS NULL OR t.expires_at > ?)
                    """
            ),
            arguments: [now]
        ) ?? 0
    }

    private static func ensurePrincipal(
        _ db: Database,
        name: String,
        kind: PrincipalKind,
        kindGiven: Bool,
        actor: Principal,
        at now: Date
    ) throws -> (id: Int64, kind: PrincipalKind) {
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, kind FROM principals WHERE name = ?"),
            arguments: [name]
        ) {
            let existing = PrincipalKind(rawValue: row["kind"]) ?? .user
            if kindGiven, existing != kind {
                throw RegistryError.conflict(
                    "principal '\(name)' is a \(existing.rawValue), not a \(kind.rawValue): use another name"
                )
            }
            return (row["id"], existing)
        }
        try db.execute(
            cached: "INSERT INTO principals (name, kind, created_by, created_at) VALUES (?, ?, ?, ?)",
            arguments: [name, kind.rawValue, actor.id, now]
        )
        let id = db.lastInsertedRowID
        try appendAuthEvent(
            db,
            kind: "principal_created",
            subject: "\(kind.rawValue):\(name)",
            details: nil,
            actor: actor,
            at: now
        )
        return (id, kind)
    }

    private static func principalRow(_ db: Database, name: String) throws -> Row {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM principals WHERE name = ?"),
                arguments: [name]
            )
        else {
            let known = try String.fetchAll(
                db.cachedStatement(sql: "SELECT name FROM principals ORDER BY name LIMIT 20")
            )
            throw RegistryError.notFound(
                "principal '\(Validation.printable(name))' does not exist (principals: \(known.isEmpty ? "none" : known.joined(separator: ", "))); it is created with its first token"
            )
        }
        return row
    }

    private static func principalRecord(_ db: Database, _ row: Row, at now: Date) throws -> PrincipalRecord {
        let id: Int64 = row["id"]
        return PrincipalRecord(
            name: row["name"],
            kind: PrincipalKind(rawValue: row["kind"]) ?? .user,
            createdBy: row["created_by"],
            createdAt: row["created_at"],
            bindings: try bindings(db, principalID: id),
            deviceModels: try deviceModels(db, principalID: id),
            activeTokens: try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) FROM tokens WHERE principal_id = ? AND revoked_at IS NULL
                          AND (expires_at IS NULL OR expires_at > ?)
                        """
                ),
                arguments: [id, now]
            ) ?? 0
        )
    }

    private static func tokenRow(_ db: Database, id: String) throws -> Row? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT t.*, p.name AS principal_name, p.kind AS principal_kind
                    FROM tokens t JOIN principals p ON p.id = t.principal_id WHERE t.id = ?
                    """
            ),
            arguments: [id]
        )
    }

    private static func tokenRecord(_ row: Row) -> TokenRecord {
        TokenRecord(
            id: row["id"],
            principal: row["principal_name"],
            kind: PrincipalKind(rawValue: row["principal_kind"]) ?? .user,
            description: row["description"],
            createdBy: row["created_by"],
            createdAt: row["created_at"],
            expiresAt: row["expires_at"],
            revokedAt: row["revoked_at"],
            revokedBy: row["revoked_by"]
        )
    }

    private static func bindings(_ db: Database, principalID: Int64) throws -> [RoleBinding] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT pattern, role FROM role_bindings WHERE principal_id = ? ORDER BY pattern"),
            arguments: [principalID]
        ).compactMap { row in
            guard let role = Role(rawValue: row["role"]) else { return nil }
            return RoleBinding(pattern: ModelPattern(validated: row["pattern"]), role: role)
        }
    }

    private static func deviceModels(_ db: Database, principalID: Int64) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT model_name FROM device_models WHERE principal_id = ? ORDER BY model_name"),
            arguments: [principalID]
        )
    }

    static func appendAuthEvent(
        _ db: Database,
        kind: String,
        subject: String,
        details: String?,
        actor: Principal,
        at now: Date
    ) throws {
        try db.execute(
            cached: "INSERT INTO auth_events (kind, subject, details, actor, at) VALUES (?, ?, ?, ?, ?)",
            arguments: [kind, subject, details, actor.id, now]
        )
    }

    private static func iso8601(_ date: Date) -> String { date.ISO8601Format() }
}
