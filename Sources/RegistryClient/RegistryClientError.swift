public import Foundation

/// The one error type of ``RegistryClient``.
///
/// HTTP error answers are mapped from the registry's JSON body `{"error": {"code", "message", "details"}}`:
/// ``message`` is the server's message verbatim, ``serverCode`` its `code`, ``details`` its `details`. Failures that
/// never reached an answer are ``Code/unreachable`` and name the registry's URL.
public struct RegistryClientError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// What kind of failure this is; stable, for callers to branch on (the CLI maps it to exit codes).
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// 404: the model, version, label, alias, stage holder, file, blob or upload does not exist.
        case notFound
        /// 409: the name is taken (``RegistryClientError/serverCode`` `already_exists`) or the request conflicts
        /// with the current state (`conflict`: model in use, version not PENDING/READY, nothing to roll back,
        /// upload offset mismatch).
        case conflict
        /// 400, 413, 416: a malformed name, value, header or body, a body too large, a range beyond the end.
        case invalidArgument
        /// `If-Match` did not match the model's revision (the registry answers 409 `conflict` with the current
        /// revision, or 412); ``RegistryClientError/currentRevision`` gives the revision to re-read.
        case preconditionFailed
        /// 401: the registry wants a (valid) token.
        case unauthorized
        /// 403: the token may not do this.
        case forbidden
        /// Content does not hash to the digest named: 422 `integrity_failure` from the registry, or a download
        /// whose bytes do not match.
        case integrity
        /// 422 `blobs_missing`: a version was committed before all its blobs were uploaded; `details["missing"]`
        /// lists them.
        case blobsMissing
        /// No answer: connection refused, DNS failure, TLS failure, connection reset or timeout, after the retries.
        case unreachable
        /// 5xx from the registry (after the retries for 502/503/504).
        case server
        /// The answer could not be understood (not the expected JSON, an unexpected status or header).
        case protocolError
        /// A local file could not be read or written (upload source, download destination).
        case fileSystem
    }

    /// What kind of failure this is.
    public var code: Code
    /// The HTTP status, when the registry answered.
    public var status: Int?
    /// The registry's `error.code` (`not_found`, `already_exists`, `conflict`…), when it sent one.
    public var serverCode: String?
    /// What went wrong: the registry's message verbatim, or the client's own for failures without an answer.
    public var message: String
    /// The registry's `error.details` (`revision`, `offset`, `missing`, `actual`, `expected`, `size`), or empty.
    public var details: [String: String]

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: what went wrong.
    ///   - status: the HTTP status, if any.
    ///   - serverCode: the registry's error code, if any.
    ///   - details: the registry's error details.
    public init(
        _ code: Code,
        _ message: String,
        status: Int? = nil,
        serverCode: String? = nil,
        details: [String: String] = [:]
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.serverCode = serverCode
        self.details = details
    }

    /// The model's current revision, given with a revision conflict (`details.revision`).
    public var currentRevision: Int64? { details["revision"].flatMap { Int64($0) } }

    /// The acknowledged offset of an upload, given with an offset conflict (`details.offset`).
    public var uploadOffset: Int64? { details["offset"].flatMap { Int64($0) } }

    /// The message.
    public var description: String { message }
    /// The message.
    public var errorDescription: String? { message }
}

// MARK: Mapping answers

/// `{"error": {"code", "message", "details"}}`.
struct ErrorBody: Decodable {
    struct Content: Decodable {
        var code: String
        var message: String
        var details: [String: String]?
    }
    var error: Content
}

extension RegistryClientError {
    /// Maps an error answer of the registry.
    ///
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - body: the collected body (may be empty, as for `HEAD`).
    ///   - sentIfMatch: whether the request carried `If-Match`: a 409 `conflict` with `details.revision` then
    ///     becomes ``Code/preconditionFailed``.
    ///   - what: the request, for messages without a body (`GET /api/v1/blobs/…`).
    static func fromResponse(status: Int, body: Data, sentIfMatch: Bool, what: String) -> RegistryClientError {
        let parsed = try? JSONDecoder().decode(ErrorBody.self, from: body)
        let serverCode = parsed?.error.code
        let details = parsed?.error.details ?? [:]
        let message = parsed?.error.message ?? "\(what): HTTP \(status)\(Self.excerpt(body))"
        let code: Code
        switch (status, serverCode) {
        case (_, "integrity_failure"): code = .integrity
        case (_, "blobs_missing"): code = .blobsMissing
        case (409, "conflict") where sentIfMatch && details["revision"] != nil: code = .preconditionFailed
        case (412, _): code = .preconditionFailed
        case (404, _), (410, _): code = .notFound
        case (409, _): code = .conflict
        case (401, _): code = .unauthorized
        case (403, _): code = .forbidden
        case (422, _): code = .integrity
        case (500...599, _): code = .server
        case (400...499, _): code = .invalidArgument
        default: code = .protocolError
        }
        return RegistryClientError(code, message, status: status, serverCode: serverCode, details: details)
    }

    private static func excerpt(_ body: Data) -> String {
        guard !body.isEmpty else { return "" }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ")
            .trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? "" : " (\(text))"
    }
}
