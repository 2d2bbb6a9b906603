import Foundation
import Prometheus

/// The registry's Prometheus metrics, served at `/metrics`.
///
/// Each application owns its own collector registry (no global bootstrap), so several registries can run in one
/// process, as tests do.
///
/// - `modelctl_http_requests_total{method,route,status}`: requests answered.
/// - `modelctl_http_request_duration_seconds{method,route}`: latency histogram.
/// - `modelctl_http_request_bytes_total` / `modelctl_http_response_bytes_total`: body bytes received and sent.
/// - `modelctl_blobs` / `modelctl_blob_bytes`: blobs stored and their total size (read at scrape time).
public final class RegistryMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let bytesIn: Counter
    let bytesOut: Counter
    let blobCount: Gauge
    let blobBytes: Gauge
    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        .seconds(30),
    ]

    public init() {
        bytesIn = registry.makeCounter(
            name: "modelctl_http_request_bytes_total",
            help: "Request body bytes received."
        )
        bytesOut = registry.makeCounter(
            name: "modelctl_http_response_bytes_total",
            help: "Response body bytes sent."
        )
        blobCount = registry.makeGauge(name: "modelctl_blobs", help: "Blobs stored.")
        blobBytes = registry.makeGauge(name: "modelctl_blob_bytes", help: "Total size of the stored blobs in bytes.")
    }

    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            name: "modelctl_http_requests_total",
            labels: [("method", method), ("route", route), ("status", String(status))],
            help: "HTTP requests answered."
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "modelctl_http_request_duration_seconds",
                helpText: "HTTP request latency."
            ),
            labels: [("method", method), ("route", route)],
            buckets: Self.buckets
        ).record(duration)
    }

    /// The exposition text, after refreshing the blob gauges.
    func render(blobCount: Int, blobBytes: Int64) -> [UInt8] {
        self.blobCount.set(Double(blobCount))
        self.blobBytes.set(Double(blobBytes))
        return registry.emitToBuffer()
    }
}
