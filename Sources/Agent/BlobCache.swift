public import AgentProtocol
public import Foundation
public import RegistryClient

/// The agent's content-addressed cache: `blobs/sha256/<hex>` holds verified blobs, `blobs/partial/<hex>` downloads in
/// progress. A blob is downloaded once, whatever the number of versions and files that use it, so a version that
/// changes one file of five downloads one file.
public struct BlobCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    var complete: URL { root.appending(path: "sha256") }
    var partial: URL { root.appending(path: "partial") }

    /// The cached file of a digest (`sha256:<64 hex>`, checked by ``DeploymentCheck``).
    public func path(_ digest: String) -> URL { complete.appending(path: String(digest.dropFirst(7))) }

    public func has(_ file: DesiredFile) -> Bool { Files.size(path(file.digest)) == file.size }

    /// The distinct blobs of `files` that are not cached yet.
    public func missing(_ files: [DesiredFile]) -> [DesiredFile] {
        var seen: Set<String> = []
        return files.filter { file in
            guard !has(file), !seen.contains(file.digest) else { return false }
            seen.insert(file.digest)
            return true
        }
    }

    /// Bytes of a download in progress for `file` (already on disk, kept when it resumes).
    public func partialBytes(_ file: DesiredFile) -> Int64 {
        Files.size(partial.appending(path: String(file.digest.dropFirst(7)))) ?? 0
    }

    /// Downloads one blob into the cache: into `partial/` first, resuming what an interrupted download left there
    /// (`Range`), verified (SHA-256 by the client, size here), then renamed into place.
    ///
    /// - Returns: bytes that came over the network.
    public func fetch(
        _ file: DesiredFile,
        client: RegistryClient,
        progress: TransferProgress? = nil
    ) async throws -> Int64 {
        try Files.createDirectory(complete)
        try Files.createDirectory(partial)
        let hex = String(file.digest.dropFirst(7))
        let temporary = partial.appending(path: hex)
        if let size = Files.size(temporary), size > file.size { Files.remove(temporary) }
        let result: DownloadResult
        do {
            result = try await client.downloadAgentBlob(
                digest: file.digest,
                to: temporary,
                resume: true,
                progress: progress
            )
        } catch let error as RegistryClientError where error.code == .integrity {
            throw AgentError(
                .verification,
                "blob \(file.digest) for \(file.path) failed verification: \(error.message)"
            )
        }
        guard result.size == file.size else {
            Files.remove(temporary)
            throw AgentError(
                .verification,
                "blob \(file.digest) for \(file.path) has \(result.size) bytes, the desired state says \(file.size)"
            )
        }
        try Files.fsyncFile(temporary)
        try Files.rename(temporary, to: path(file.digest))
        return result.bytesReceived
    }

    /// Bytes held by the cache, partial downloads included.
    public var usedBytes: Int64 { Files.usedBytes(under: root) }

    /// Removes every cached blob not in `keep` and every partial download not in `keep`.
    public func collect(keeping keep: Set<String>) {
        let hexes = Set(keep.map { String($0.dropFirst(7)) })
        for directory in [complete, partial] {
            for name in Files.names(in: directory) where !hexes.contains(name) {
                Files.remove(directory.appending(path: name))
            }
        }
    }
}
