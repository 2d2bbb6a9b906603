import Foundation

// Wire types of blobs, uploads and system routes.

/// A stored blob, as `PUT /api/v1/blobs/{digest}` and finished uploads answer.
public struct RemoteBlob: Codable, Sendable, Equatable {
    /// `sha256:<hex>`.
    public var digest: String
    /// Size in bytes.
    public var size: Int64
    /// `true` when this request stored it, `false` when the bytes were already there.
    public var created: Bool

    /// Creates a blob description.
    ///
    /// - Parameters:
    ///   - digest: `sha256:<hex>`.
    ///   - size: size in bytes.
    ///   - created: whether this request stored it.
    public init(digest: String, size: Int64, created: Bool) {
        self.digest = digest
        self.size = size
        self.created = created
    }
}

/// What `HEAD` says about stored content (a blob or a version's file).
public struct RemoteContentInfo: Sendable, Equatable {
    /// `sha256:<hex>`, from `Docker-Content-Digest`.
    public var digest: String
    /// Size in bytes, from `Content-Length`.
    public var size: Int64

    /// Creates a content description.
    ///
    /// - Parameters:
    ///   - digest: `sha256:<hex>`.
    ///   - size: size in bytes.
    public init(digest: String, size: Int64) {
        self.digest = digest
        self.size = size
    }
}

/// A resumable upload session.
public struct UploadSession: Codable, Sendable, Equatable {
    /// Session id (32 hex digits).
    public var id: String
    /// Bytes acknowledged so far: the next chunk starts here.
    public var offset: Int64
    /// `/api/v1/uploads/{id}`.
    public var location: String
}

/// The outcome of a download.
public struct DownloadResult: Sendable, Equatable {
    /// The verified digest of the whole file, `sha256:<hex>`.
    public var digest: String
    /// Size of the whole file.
    public var size: Int64
    /// Bytes that were already in the destination and kept (a resumed download), 0 otherwise.
    public var resumedFrom: Int64
    /// Bytes received over the network by this call (over all attempts).
    public var bytesReceived: Int64
}

/// The answer of `/healthz` or `/readyz`.
public struct RemoteHealth: Sendable, Equatable {
    /// `ok` (alive) or `ready`.
    public var status: String
    /// The `Server` header (`modelctl`), if sent.
    public var server: String?
}

struct HealthBody: Decodable {
    var status: String
}
