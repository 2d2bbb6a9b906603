public import Foundation
import Synchronization

/// Turns an `Authorization` header into an ``Identity``, or a 401 error.
///
/// Token records are cached for a few seconds so that a request costs one SHA-256 and a dictionary lookup, not a
/// database read. Changes made through this registry (revoke, grant) clear the cache at once; replicas sharing a
/// database see them within ``cacheLifetime``.
///
/// Error messages never contain the presented token or a hash; they name the token id only once the secret has
/// been proven.
public final class Authenticator: Sendable {
    /// How authentication is configured.
    public enum Mode: Sendable, Equatable {
        /// Bearer tokens on every route except `/healthz` and `/readyz`.
        case tokens
        /// Everyone is an administrator: local, throwaway use only.
        case none
    }

    public let mode: Mode
    let store: any AuthStore
    let clock: @Sendable () -> Date
    public static let cacheLifetime: Duration = .seconds(5)
    static let cacheCapacity = 10_000

    private struct Cached: Sendable {
        var credentials: TokenCredentials
        var fetched: ContinuousClock.Instant
    }

    private let cache = Mutex<[String: Cached]>([:])

    public init(mode: Mode, store: any AuthStore, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.mode = mode
        self.store = store
        self.clock = clock
    }

    /// The scheme and realm sent in `WWW-Authenticate` with every 401.
    public static let challenge = #"Bearer realm="modelctl""#

    /// Checks the `Authorization` header of a request.
    ///
    /// - Throws: ``RegistryError`` `unauthorized` when the header is missing, malformed, or names a token that does
    ///   not exist, has another secret, expired or was revoked.
    public func authenticate(authorization: String?) async throws -> Identity {
        if mode == .none { return .local }
        guard let authorization else {
            throw Self.unauthorized(
                "authentication required: send 'Authorization: Bearer <token>' (an administrator creates tokens with 'modelctl token create')",
                error: nil
            )
        }
        guard let space = authorization.firstIndex(of: " "),
            authorization[..<space].lowercased() == "bearer"
        else {
            throw Self.unauthorized("the Authorization header must be 'Bearer <token>'", error: "invalid_request")
        }
        let text = authorization[authorization.index(after: space)...].trimmingCharacters(in: .whitespaces)
        guard let token = AccessToken(parsing: text), let credentials = try await credentials(token.id),
            token.matches(hash: credentials.secretHash)
        else {
            throw Self.unauthorized("invalid token", error: "invalid_token")
        }
        let record = credentials.record
        switch record.status(at: clock()) {
        case .revoked:
            throw Self.unauthorized(
                "token \(record.id) was revoked\(record.revokedAt.map { " at \($0.ISO8601Format())" } ?? "")",
                error: "invalid_token"
            )
        case .expired:
            throw Self.unauthorized(
                "token \(record.id) expired\(record.expiresAt.map { " at \($0.ISO8601Format())" } ?? "")",
                error: "invalid_token"
            )
        case .active:
            return Identity(
                principal: Identity.principalID(name: record.principal, kind: record.kind),
                name: record.principal,
                kind: record.kind,
                tokenID: record.id,
                tokenExpiresAt: record.expiresAt,
                bindings: credentials.bindings,
                deviceModels: credentials.deviceModels
            )
        }
    }

    /// Forgets every cached token (after a revoke, a grant, a new device model).
    public func invalidate() {
        cache.withLock { $0.removeAll() }
    }

    private func credentials(_ id: String) async throws -> TokenCredentials? {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[id] }), now - cached.fetched < Self.cacheLifetime {
            return cached.credentials
        }
        // Unknown ids are not cached: a flood of made-up tokens cannot push real ones out.
        guard let credentials = try await store.credentials(tokenID: id) else { return nil }
        cache.withLock { cache in
            if cache.count >= Self.cacheCapacity { cache.removeAll() }
            cache[id] = Cached(credentials: credentials, fetched: now)
        }
        return credentials
    }

    static func unauthorized(_ message: String, error: String?) -> RegistryError {
        var challenge = Self.challenge
        if let error { challenge += #", error="\#(error)""# }
        return RegistryError(.unauthorized, message, details: ["www_authenticate": challenge])
    }
}
