public import AgentProtocol
import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

// `/api/v1/agent/…`: the routes an agent calls with its device token (enrollment needs none: the one-time
// enrollment token is in the body). See docs/agent.md.

/// The answer to a desired-state poll.
public enum DesiredStateAnswer: Sendable, Equatable {
    /// Nothing changed within the wait (`304 Not Modified`): the document with this tag is still current.
    case unchanged
    /// The current document with its `ETag` (the payload's content tag).
    case document(SignedDesiredState, etag: String)
}

extension RegistryClient {
    /// Exchanges a one-time enrollment token for a device token (`POST /api/v1/agent/enroll`).
    ///
    /// - Returns: the agent's name and labels, its device token (shown only here) and the registry's public key for
    ///   desired-state documents.
    /// - Throws: ``RegistryClientError`` `unauthorized` for an unknown, used, revoked or expired enrollment token,
    ///   `conflict` when an agent of that name exists, `invalidArgument` for a malformed name or label.
    public func enroll(_ request: EnrollmentRequest) async throws -> EnrollmentResponse {
        try await json(EnrollmentResponse.self, .POST, "/api/v1/agent/enroll", body: request)
    }

    /// Asks for this agent's desired state (`GET /api/v1/agent/desired-state`).
    ///
    /// With `ifNoneMatch` (the tag of the document the agent runs), the registry holds the request up to `wait`
    /// seconds (at most 30) and answers as soon as the agent's desired state changes, or `304` when the wait ends.
    /// The request is not bounded by the JSON request timeout; the idle-read timeout must exceed `wait`.
    ///
    /// - Throws: ``RegistryClientError`` `unauthorized` (not a device token of an enrolled agent), `unreachable`.
    public func desiredState(ifNoneMatch: String?, wait: Int = 30) async throws -> DesiredStateAnswer {
        let path = "/api/v1/agent/desired-state"
        let what = "GET \(path)"
        let url = url(path, query: ifNoneMatch == nil ? [] : [("wait", String(wait))])
        return try await perform(what, method: .GET, streaming: true) {
            var request = request(.GET, url)
            if let ifNoneMatch { request.headers.add(name: "If-None-Match", value: "\"\(ifNoneMatch)\"") }
            return request
        } handle: { response in
            let body = Data(try await response.body.collect(upTo: Self.maxJSONLength).readableBytesView)
            let status = Int(response.status.code)
            switch status {
            case 304:
                return .unchanged
            case 200:
                let etag = response.headers.first(name: "ETag").map { $0.trimmingCharacters(in: ["\""]) } ?? ""
                do {
                    return .document(try SignedDesiredState.decode(body), etag: etag)
                } catch {
                    throw RegistryClientError(
                        .protocolError,
                        "unexpected answer from the registry at \(registryName) to \(what): \(error)"
                    )
                }
            default:
                throw RegistryClientError.fromResponse(status: status, body: body, sentIfMatch: false, what: what)
            }
        }
    }

    /// Reports a step of a deployment (`POST /api/v1/agent/reports`).
    ///
    /// - Throws: ``RegistryClientError`` `notFound` for a deployment that does not target this agent,
    ///   `invalidArgument` for a malformed report.
    public func report(_ report: AgentReport) async throws {
        _ = try await exchange(.POST, "/api/v1/agent/reports", body: report)
    }

    /// Downloads a blob of this agent's desired state to a local file (`GET /api/v1/agent/blobs/{digest}`), resuming
    /// a partial file with `Range` and verifying its SHA-256, as ``downloadBlob(digest:to:resume:progress:)``.
    ///
    /// The registry serves only blobs of versions that the agent's deployments name.
    ///
    /// - Throws: ``RegistryClientError`` `notFound` (also for blobs outside the agent's desired state), `integrity`
    ///   (the file is removed), `fileSystem`, `unreachable`.
    public func downloadAgentBlob(
        digest: String,
        to destination: URL,
        resume: Bool = true,
        progress: TransferProgress? = nil
    ) async throws -> DownloadResult {
        try await download(
            "/api/v1/agent/blobs/\(Self.segment(digest))",
            expectedDigest: digest,
            to: destination,
            resume: resume,
            progress: progress
        )
    }
}
