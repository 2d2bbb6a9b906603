import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// The one place that maps ``RegistryError`` codes to HTTP statuses and writes the JSON error body
/// `{"error": {"code": "…", "message": "…", "details": {…}}}`.
extension RegistryError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch code {
        case .notFound: .notFound
        case .alreadyExists, .conflict: .conflict
        case .invalidArgument: .badRequest
        case .integrityFailure, .blobsMissing: .unprocessableContent
        case .rangeNotSatisfiable: .rangeNotSatisfiable
        case .bodyTooLarge: .contentTooLarge
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        if MLflowError.isMLflowPath(request.uri.path) {
            return try MLflowError.response(for: self)
        }
        var details = details
        let challenge = details.removeValue(forKey: "www_authenticate")
        let body = ErrorBodyDTO(
            error: .init(code: code.rawValue, message: message, details: details.isEmpty ? nil : details)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if code == .unauthorized { headers[.wwwAuthenticate] = challenge ?? Authenticator.challenge }
        if code == .conflict, let revision = details["revision"] { headers[.eTag] = "\"\(revision)\"" }
        if code == .conflict, let offset = details["offset"] { headers[.uploadOffset] = offset }
        if code == .rangeNotSatisfiable, let size = details["size"] { headers[.contentRange] = "bytes */\(size)" }
        return Response(
            status: status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(body)))
        )
    }
}

extension HTTPField.Name {
    /// Acknowledged length of a resumable upload.
    static let uploadOffset = Self("Upload-Offset")!
}

/// `{"error": {"code", "message", "details"}}`.
struct ErrorBodyDTO: Encodable {
    struct Content: Encodable {
        var code: String
        var message: String
        var details: [String: String]?
    }
    var error: Content
}
