import Hummingbird
import Logging
import NIOCore

/// Turns every error escaping a handler into a ``RegistryError`` so that clients always get the same JSON shape.
///
/// Hummingbird's own errors (unknown route, body over the limit, malformed JSON) keep their status and message;
/// anything else is unexpected: it is logged at error level with the request id and answered with a 500 whose
/// message names that id, never the internal detail.
struct ErrorMappingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as RegistryError {
            if error.code == .internal || error.code == .unavailable {
                context.logger.error("request failed", metadata: ["error": "\(error.message)"])
            }
            // An internal failure's detail (SQL text, file paths) stays in the log.
            if error.code == .internal {
                throw RegistryError(
                    .internal,
                    "internal error; the registry log has the details under request id \(context.id)"
                )
            }
            throw error
        } catch let error as HTTPError {
            throw Self.translate(error, request: request)
        } catch is NIOTooManyBytesError {
            throw RegistryError(.bodyTooLarge, "the JSON body is larger than the 1 MiB accepted")
        } catch is CancellationError {
            throw RegistryError(.unavailable, "the request was cancelled (the registry is shutting down)")
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            throw RegistryError(
                .internal,
                "internal error; the registry log has the details under request id \(context.id)"
            )
        }
    }

    static func translate(_ error: HTTPError, request: Request) -> RegistryError {
        let message = error.body ?? "\(error.status.code) \(error.status.reasonPhrase)"
        switch error.status {
        case .notFound:
            let message = "no route for \(request.method) \(request.uri.path)"
            guard MLflowError.isMLflowPath(request.uri.path) else { return RegistryError.notFound(message) }
            return RegistryError(.notFound, message, details: [MLflowError.codeOverride: "ENDPOINT_NOT_FOUND"])
        case .contentTooLarge:
            return RegistryError(.bodyTooLarge, "the JSON body is larger than the 1 MiB accepted")
        case .unprocessableContent, .badRequest:
            return RegistryError.invalid(message)
        case .rangeNotSatisfiable:
            return RegistryError(.rangeNotSatisfiable, message)
        default:
            return error.status.code >= 500 ? RegistryError(.internal, message) : RegistryError.invalid(message)
        }
    }
}
