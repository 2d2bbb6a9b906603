public import Foundation
public import NIOCore

/// What a completed blob write produced.
public struct StoredBlob: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64
    /// `false` when the same bytes were already stored (nothing new was written).
    public var created: Bool

    public init(digest: Digest, size: Int64, created: Bool) {
        self.digest = digest
        self.size = size
        self.created = created
    }
}

/// Content-addressed storage of file contents.
///
/// A blob becomes visible under its digest only once it is complete and verified: writers stream into a private
/// temporary file while hashing, make it durable, then rename it into place. Stored blobs never change.
public protocol BlobStore: Sendable {
    /// Size of the stored blob, or `nil` when there is none.
    func size(of digest: Digest) async throws -> Int64?

    /// Streams `body` into the store.
    ///
    /// - Parameter expected: the digest the content must have; on mismatch nothing is kept and the call throws
    ///   ``RegistryError`` `integrityFailure` naming both digests.
    func write<Body: AsyncSequence & Sendable>(_ body: Body, expected: Digest?) async throws -> StoredBlob
    where Body.Element == ByteBuffer

    /// Local file holding the blob's bytes, for streaming it out (`nil` when absent).
    func fileURL(of digest: Digest) async throws -> URL?
}

/// Resumable uploads for large blobs: create a session, append chunks at the acknowledged offset (surviving broken
/// connections and restarts), then finish with the expected digest.
public protocol ResumableBlobUploads: Sendable {
    /// Starts a session and returns its id (32 lowercase hex digits).
    ///
    /// - Parameter owner: the principal the session belongs to (only it, or an administrator, may use it), or
    ///   `nil` for a session without an owner.
    func createUpload(owner: String?) async throws -> String

    /// The principal a session belongs to, `nil` when it has none.
    ///
    /// - Throws: ``RegistryError`` `notFound` for an unknown (finished, cancelled) session.
    func uploadOwner(_ id: String) async throws -> String?

    /// Bytes acknowledged so far; they survive a crash of the registry.
    ///
    /// - Throws: ``RegistryError`` `notFound` for an unknown (finished, cancelled) session.
    func uploadOffset(_ id: String) async throws -> Int64

    /// Appends `body` at `offset`, which must equal the acknowledged length (otherwise `conflict`, with the current
    /// offset in the error's details). Whatever part of the body arrived is kept and acknowledged even when the
    /// connection breaks, so the client resumes from ``uploadOffset(_:)``. At most `maxLength` bytes are appended;
    /// a longer body is refused with `invalidArgument` once the first `maxLength` bytes were kept.
    ///
    /// - Returns: the new acknowledged length.
    func appendUpload<Body: AsyncSequence & Sendable>(
        _ id: String,
        at offset: Int64,
        maxLength: Int64,
        _ body: Body
    ) async throws -> Int64
    where Body.Element == ByteBuffer

    /// Verifies the uploaded bytes against `expected` and moves them into the store. On a mismatch the session is
    /// discarded and the call throws `integrityFailure`.
    func finishUpload(_ id: String, expected: Digest) async throws -> StoredBlob

    /// Discards a session and its bytes.
    func cancelUpload(_ id: String) async throws
}

extension ResumableBlobUploads {
    /// Starts a session without an owner.
    public func createUpload() async throws -> String { try await createUpload(owner: nil) }
}
