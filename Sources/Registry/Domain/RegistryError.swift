public import Foundation

/// The one error type of the registry library.
///
/// Every failure that reaches a caller is a `RegistryError` with a stable ``Code`` and a message that says what
/// happened, which object it concerns and, where there is one, what would be accepted instead. The HTTP layer maps
/// codes to statuses in one place (`RegistryError+HTTPResponseError.swift`); the CLI maps them to exit codes.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// Stable machine-readable category of a ``RegistryError``; its `rawValue` is the `code` of JSON error bodies.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The named model, version, alias, stage holder, blob or upload does not exist.
        case notFound = "not_found"
        /// An object with that name already exists.
        case alreadyExists = "already_exists"
        /// The request is valid but conflicts with the current state (revision mismatch, a stage or alias still
        /// points into a model, a version that is not PENDING, an upload offset that does not match).
        case conflict = "conflict"
        /// A name, label, path, digest, number or body field is malformed or out of range.
        case invalidArgument = "invalid_argument"
        /// Content does not match what was declared (a digest or size mismatch).
        case integrityFailure = "integrity_failure"
        /// A committed version refers to blobs that were never uploaded.
        case blobsMissing = "blobs_missing"
        /// A `Range` request asks for bytes the blob does not have.
        case rangeNotSatisfiable = "range_not_satisfiable"
        /// A JSON body exceeds the configured limit.
        case bodyTooLarge = "body_too_large"
        /// The caller did not authenticate.
        case unauthorized = "unauthorized"
        /// The caller is authenticated but not allowed to do this.
        case forbidden = "forbidden"
        /// A dependency (disk, database) is not available right now; retrying may succeed.
        case unavailable = "unavailable"
        /// A failure inside the registry; the message and logs say what went wrong.
        case `internal` = "internal"
    }

    public var code: Code
    public var message: String
    /// Extra machine-readable detail for some codes (for example the missing digests of ``Code/blobsMissing``).
    public var details: [String: String]

    public init(_ code: Code, _ message: String, details: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { message }
    public var errorDescription: String? { message }

    static func invalid(_ message: String) -> RegistryError { RegistryError(.invalidArgument, message) }
    static func notFound(_ message: String) -> RegistryError { RegistryError(.notFound, message) }
    static func conflict(_ message: String) -> RegistryError { RegistryError(.conflict, message) }
}
