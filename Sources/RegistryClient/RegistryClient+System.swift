import AsyncHTTPClient
import Foundation
import NIOHTTP1

// `/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.yaml`.

extension RegistryClient {
    /// Liveness (`GET /healthz`): `ok` while the registry process serves requests.
    ///
    /// - Returns: the status and the `Server` header.
    /// - Throws: ``RegistryClientError`` `unreachable`, `server`.
    public func health() async throws -> RemoteHealth {
        try await healthCheck("/healthz")
    }

    /// Readiness (`GET /readyz`): `ready` when the database answers and the blob directory accepts files.
    ///
    /// - Returns: the status and the `Server` header.
    /// - Throws: ``RegistryClientError`` `server` (503 `unavailable`) when not ready, `unreachable`.
    public func readiness() async throws -> RemoteHealth {
        try await healthCheck("/readyz")
    }

    /// Prometheus metrics in the text exposition format (`GET /metrics`).
    ///
    /// - Returns: the exposition text.
    /// - Throws: ``RegistryClientError`` `unreachable`, `server`.
    public func metrics() async throws -> String {
        String(decoding: try await exchange(.GET, "/metrics").body, as: UTF8.self)
    }

    /// The registry's OpenAPI document (`GET /api/v1/openapi.yaml`); its `info.version` is the API version.
    ///
    /// - Returns: the YAML text.
    /// - Throws: ``RegistryClientError`` `unreachable`, `server`.
    public func openAPIDocument() async throws -> String {
        String(decoding: try await exchange(.GET, "/api/v1/openapi.yaml").body, as: UTF8.self)
    }

    private func healthCheck(_ path: String) async throws -> RemoteHealth {
        let answer = try await exchange(.GET, path)
        let body = try decode(HealthBody.self, answer.body, what: "GET \(path)")
        return RemoteHealth(status: body.status, server: answer.headers.first(name: "Server"))
    }
}
