import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Errors of the MLflow-compatible routes in MLflow's own shape, `{"error_code": "RESOURCE_DOES_NOT_EXIST",
/// "message": "…"}`, with the HTTP statuses MLflow uses (its client maps them to `MlflowException`s).
///
/// Client errors stay 4xx: the MLflow client retries 429 and 5xx answers.
enum MLflowError {
    /// A ``RegistryError`` detail naming the MLflow error code to use instead of the one derived from the code.
    static let codeOverride = "mlflow_error_code"

    /// Whether a request path belongs to the MLflow-compatible API (`/api/2.0/mlflow/…`, `/api/2.0/mlflow-artifacts/…`,
    /// `/api/3.0/mlflow/…`).
    static func isMLflowPath(_ path: String) -> Bool {
        path.hasPrefix("/api/2.0/mlflow/") || path.hasPrefix("/api/2.0/mlflow-artifacts/")
            || path.hasPrefix("/api/3.0/mlflow/") || path == "/api/2.0/mlflow" || path == "/api/3.0/mlflow"
    }

    /// MLflow's error code and HTTP status for a ``RegistryError``.
    static func code(for error: RegistryError) -> (code: String, status: HTTPResponse.Status) {
        if let override = error.details[codeOverride] {
            return (override, error.status)
        }
        switch error.code {
        case .notFound: return ("RESOURCE_DOES_NOT_EXIST", .notFound)
        case .alreadyExists: return ("RESOURCE_ALREADY_EXISTS", .badRequest)
        case .conflict: return ("RESOURCE_CONFLICT", .conflict)
        case .invalidArgument, .integrityFailure, .blobsMissing: return ("INVALID_PARAMETER_VALUE", .badRequest)
        case .rangeNotSatisfiable: return ("INVALID_PARAMETER_VALUE", .rangeNotSatisfiable)
        case .bodyTooLarge: return ("INVALID_PARAMETER_VALUE", .contentTooLarge)
        case .unauthorized: return ("UNAUTHENTICATED", .unauthorized)
        case .forbidden: return ("PERMISSION_DENIED", .forbidden)
        case .unavailable: return ("TEMPORARILY_UNAVAILABLE", .serviceUnavailable)
        case .internal: return ("INTERNAL_ERROR", .internalServerError)
        }
    }

    static func response(for error: RegistryError) throws -> Response {
        let (code, status) = code(for: error)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers: HTTPFields = [.contentType: "application/json"]
        if error.code == .unauthorized {
            headers[.wwwAuthenticate] = error.details["www_authenticate"] ?? Authenticator.challenge
        }
        return Response(
            status: status,
            headers: headers,
            body: .init(
                byteBuffer: ByteBuffer(bytes: try encoder.encode(Body(error_code: code, message: error.message)))
            )
        )
    }

    private struct Body: Encodable {
        var error_code: String
        var message: String
    }
}
