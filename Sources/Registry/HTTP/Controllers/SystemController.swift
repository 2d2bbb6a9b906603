import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/healthz`, `/readyz`, `/metrics` and `/api/v1/openapi.yaml`.
struct SystemController {
    let service: RegistryService
    let metrics: RegistryMetrics

    func add(to router: Router<RegistryRequestContext>) {
        router.get("/healthz") { _, _ in HealthDTO(status: "ok") }
        router.get("/readyz", use: ready)
        router.get("/metrics", use: renderMetrics)
        router.get("/api/v1/openapi.yaml") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml"],
                body: .init(byteBuffer: ByteBuffer(bytes: EmbeddedResources.openAPIDocument))
            )
        }
    }

    /// Ready when the database answers and the blob directory accepts files.
    @Sendable func ready(_ request: Request, context: RegistryRequestContext) async throws -> HealthDTO {
        do {
            _ = try await service.metadata.blobStatistics()
            let probe = service.blobs.tmpDirectory.appending(path: ".ready-\(UUID().uuidString)")
            try Data().write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            throw RegistryError(.unavailable, "not ready: \(error)")
        }
        return HealthDTO(status: "ready")
    }

    @Sendable func renderMetrics(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let statistics = try await service.metadata.blobStatistics()
        let text = metrics.render(blobCount: statistics.count, blobBytes: statistics.bytes)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: text))
        )
    }
}

struct HealthDTO: ResponseEncodable {
    var status: String
}
