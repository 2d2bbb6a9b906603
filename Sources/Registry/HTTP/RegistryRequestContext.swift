public import Foundation
public import Hummingbird
import Logging

/// The request context of every registry route.
///
/// ``identity`` is who the request acts for, set by `AuthMiddleware` from the request's token before any handler
/// runs (``Identity/local`` when authentication is off). Handlers pass ``principal`` to the service, which records it
/// in the audit trail.
public struct RegistryRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        // Nothing until the middleware has checked a token: a route that escaped the access policy can do nothing.
        identity = Identity(
            principal: .anonymous,
            name: "anonymous",
            kind: nil,
            tokenID: nil,
            tokenExpiresAt: nil,
            bindings: [],
            deviceModels: []
        )
    }

    /// Who the request acts for, as recorded in the audit trail.
    public var principal: Principal { identity.principal }

    /// JSON bodies are collected up to 1 MiB; blob bodies are streamed and never collected.
    public var maxUploadSize: Int { 1 << 20 }

    public var requestDecoder: JSONDecoder { Self.decoder }

    public var responseEncoder: JSONEncoder { Self.encoder }

    // Configured once: building an encoder per response showed up in profiles of the resolve path.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
