import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// `/healthz`, `/readyz`, `/metrics` and `/api/v1/openapi.yaml`.
@Suite struct SystemControllerTests {
    /// Lines of the exposition text for one metric family (samples only, no `# HELP`/`# TYPE`).
    func samples(_ text: String, _ name: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
    }

    // MARK: Tests

    @Test func healthzAndReadyzAnswerJSON() async throws {
        try await withTestRegistry { client in
            // Given a fresh registry
            // When liveness and readiness are probed
            let health = try await send(client, .get, "/healthz")
            let ready = try await send(client, .get, "/readyz")
            // Then both are 200 with their status
            try expectStatus(health, .ok)
            try expectStatus(ready, .ok)
            let readyBody = try JSONSerialization.jsonObject(with: Data(ready.body.readableBytesView)) as? [String: Any]
            #expect(readyBody?["status"] as? String == "ready")
            let healthBody =
                try JSONSerialization.jsonObject(with: Data(health.body.readableBytesView)) as? [String: Any]
            #expect(healthBody?["status"] as? String == "ok")
        }
    }

    @Test func readyzLeavesNoProbeFileBehind() async throws {
        try await withTemporaryDirectory { directory in
            try await withTestRegistry(dataDirectory: directory) { client in
                // Given a registry on a known directory
                // When readiness is probed several times
                for _ in 0..<3 { try expectStatus(try await send(client, .get, "/readyz"), .ok) }
                // Then its temporary directory is empty
                let leftovers = try FileManager.default.contentsOfDirectory(
                    atPath: directory.appending(path: "tmp").path
                )
                #expect(leftovers.isEmpty)
            }
        }
    }

    @Test func metricsCountRequestsByMethodRouteAndStatus() async throws {
        try await withTestRegistry { client in
            // Given two successful requests, a 404 on a known route and one on no route
            try expectStatus(try await send(client, .get, "/healthz"), .ok)
            try expectStatus(try await send(client, .get, "/healthz"), .ok)
            expectError(try await send(client, .get, "/api/v1/models/ghost"), .notFound, "not_found")
            expectError(try await send(client, .get, "/no/such/route"), .notFound, "not_found")
            // When the metrics are scraped
            let response = try await send(client, .get, "/metrics")
            // Then they are Prometheus text with a counter per method, route pattern and status
            try expectStatus(response, .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = response.text
            #expect(text.contains("# TYPE modelctl_http_requests_total counter"))
            let requests = samples(text, "modelctl_http_requests_total")
            #expect(
                requests.contains("modelctl_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2")
            )
            #expect(
                requests.contains(
                    "modelctl_http_requests_total{method=\"GET\",route=\"/api/v1/models/{name}\",status=\"404\"} 1"
                )
            )
            // And a request no route matches is counted under one fixed route label, not under its path
            #expect(requests.filter { $0.contains("status=\"404\"") }.count == 2)
            #expect(!text.contains("/no/such/route"))
            // And the model name is not a label value (routes are patterns)
            #expect(!text.contains("ghost"))
            #expect(text.contains("modelctl_http_request_duration_seconds"))
        }
    }

    @Test
    func requestsMatchingNoRouteAreCountedAsUnmatched() async throws {
        try await withTestRegistry { client in
            // Given a request no route matches
            expectError(try await send(client, .get, "/no/such/route"), .notFound, "not_found")
            // When the metrics are scraped
            let text = try await send(client, .get, "/metrics").text
            // Then it is counted under the documented route label
            #expect(
                samples(text, "modelctl_http_requests_total").contains(
                    "modelctl_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
                )
            )
        }
    }

    @Test func metricsReportStoredBlobsAndBytes() async throws {
        try await withTestRegistry { client in
            // Given an empty store
            let before = try await send(client, .get, "/metrics")
            #expect(metricValue(before.text, "modelctl_blobs") == 0)
            #expect(metricValue(before.text, "modelctl_blob_bytes") == 0)
            // When two blobs are uploaded (one twice) and one through a resumable upload
            let first = BlobFixture(count: 100, seed: 1)
            let second = BlobFixture(count: 250, seed: 2)
            try await uploadBlob(client, first)
            try await uploadBlob(client, first)
            let upload = try await send(client, .post, "/api/v1/uploads").decode(APIUpload.self)
            try expectStatus(
                try await send(
                    client,
                    .patch,
                    "/api/v1/uploads/\(upload.id)",
                    body: ByteBuffer(bytes: second.bytes),
                    headers: [.contentRange: "bytes 0-249/250"]
                ),
                .ok
            )
            try expectStatus(
                try await send(client, .put, "/api/v1/uploads/\(upload.id)?digest=\(second.digest)"),
                .created
            )
            // Then the gauges count each blob once
            let after = try await send(client, .get, "/metrics")
            #expect(metricValue(after.text, "modelctl_blobs") == 2)
            #expect(metricValue(after.text, "modelctl_blob_bytes") == 350)
        }
    }

    @Test func metricsCountBodyBytes() async throws {
        try await withTestRegistry { client in
            // Given a 4000-byte upload and its download
            let blob = BlobFixture(count: 4000, seed: 3)
            try await uploadBlob(client, blob)
            #expect(try await send(client, .get, "/api/v1/blobs/\(blob.digest)").body.readableBytes == 4000)
            // When the metrics are scraped
            let text = try await send(client, .get, "/metrics").text
            // Then the byte counters include both bodies
            let received = try #require(metricValue(text, "modelctl_http_request_bytes_total"))
            let sent = try #require(metricValue(text, "modelctl_http_response_bytes_total"))
            #expect(received >= 4000)
            #expect(sent >= 4000)
        }
    }

    @Test func openAPIDocumentIsServedAsYAML() async throws {
        try await withTestRegistry { client in
            // Given / When the API description is fetched
            let response = try await send(client, .get, "/api/v1/openapi.yaml")
            // Then it is a non-empty YAML document
            try expectStatus(response, .ok)
            #expect(response.headers[.contentType] == "application/yaml")
            #expect(response.body.readableBytes > 0)
            #expect(response.text.hasPrefix("openapi: 3."))
        }
    }
}
