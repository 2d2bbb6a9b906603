public import Foundation
public import Hummingbird
import Logging

/// The request context of every registry route.
///
/// ``principal`` is who the request acts for; handlers pass it to the service, which records it in the audit trail.
/// Today it is always ``Principal/anonymous``; an authentication middleware sets it without any handler changing.
public struct RegistryRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = .anonymous
    }

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
