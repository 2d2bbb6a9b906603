public import Foundation

/// The one error type of the packager library.
///
/// Every failure that reaches a caller is a `PackagerError` with a stable ``Code`` and a message that names the
/// object concerned (a file path, a bundle entry, a key file, a JSON field) and, where there is one, what would be
/// accepted instead. The CLI maps codes to exit codes; an underlying system error, if any, is kept in ``cause``.
public struct PackagerError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// Stable machine-readable category of a ``PackagerError``.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// An argument, path, key, field or document is malformed or out of range.
        case invalidArgument = "invalid_argument"
        /// A file, directory, key or entry that is required does not exist.
        case notFound = "not_found"
        /// The object to create exists already and is not overwritten.
        case alreadyExists = "already_exists"
        /// Content does not match what was declared (a digest, size or signed statement mismatch).
        case integrityFailure = "integrity_failure"
        /// Content that should carry a signature carries none.
        case unsigned = "unsigned"
        /// A signature does not verify with any trusted key.
        case untrustedKey = "untrusted_key"
        /// Signed content was changed, added or removed after signing.
        case tampered = "tampered"
        /// The input uses a feature, format, key type or file type this packager does not handle.
        case unsupported = "unsupported"
        /// Reading or writing the file system failed.
        case io = "io"
    }

    /// The category of the failure.
    public var code: Code
    /// What happened, naming the object concerned.
    public var message: String
    /// The underlying error, if one caused this failure.
    public var cause: (any Error & Sendable)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The stable category.
    ///   - message: What happened, naming the object concerned.
    ///   - cause: The underlying error, if any.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        guard let cause else { return message }
        return "\(message) (\(cause))"
    }

    public var errorDescription: String? { description }

    static func invalid(_ message: String) -> PackagerError { PackagerError(.invalidArgument, message) }
    static func notFound(_ message: String) -> PackagerError { PackagerError(.notFound, message) }
    static func unsupported(_ message: String) -> PackagerError { PackagerError(.unsupported, message) }
    static func io(_ message: String, cause: (any Error & Sendable)? = nil) -> PackagerError {
        PackagerError(.io, message, cause: cause)
    }
}
