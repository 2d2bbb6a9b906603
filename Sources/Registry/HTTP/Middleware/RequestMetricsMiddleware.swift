import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// Records every request in ``RegistryMetrics``: count and latency by method, route pattern and status, and body
/// bytes in and out.
///
/// Body sizes are counted as the bodies stream through, so large uploads and downloads are measured exactly without
/// being buffered.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: RegistryMetrics

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let start = ContinuousClock.now
        var request = request
        if let length = request.headers[.contentLength].flatMap(Int64.init) {
            // Declared length: count it without touching the body (a shorter body fails the request anyway).
            metrics.bytesIn.increment(by: length)
        } else if request.headers[.transferEncoding] != nil {
            let bytesIn = metrics.bytesIn
            request.body = RequestBody(
                asyncSequence: request.body.map { buffer in
                    bytesIn.increment(by: Int64(buffer.readableBytes))
                    return buffer
                }
            )
        }
        do {
            var response = try await next(request, context)
            record(request, context, status: response.status.code, start: start)
            if let length = response.body.contentLength {
                // Known length (JSON, files): count it without touching the body, which keeps Content-Length.
                metrics.bytesOut.increment(by: Int64(length))
            } else {
                let bytesOut = metrics.bytesOut
                response.body = response.body.map { buffer in
                    bytesOut.increment(by: Int64(buffer.readableBytes))
                    return buffer
                }
            }
            return response
        } catch let error as any HTTPResponseError {
            record(request, context, status: error.status.code, start: start)
            throw error
        } catch {
            record(request, context, status: 500, start: start)
            throw error
        }
    }

    /// The matched route pattern; requests that matched no route (Hummingbird labels them `NotFound`) are `unmatched`.
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return "unmatched" }
        return endpointPath
    }

    private func record(_ request: Request, _ context: Context, status: Int, start: ContinuousClock.Instant) {
        metrics.recordRequest(
            method: request.method.rawValue,
            route: Self.routeLabel(context.endpointPath),
            status: status,
            duration: ContinuousClock.now - start
        )
    }
}
