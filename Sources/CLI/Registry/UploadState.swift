import Crypto
import Foundation

/// Resumable-upload sessions remembered between runs of `modelctl push`, so a push interrupted by a dropped
/// connection, a killed client or a restarted registry continues where the registry's acknowledged offset is.
///
/// One small file per (registry, digest) under `$XDG_STATE_HOME/modelctl/uploads` (or
/// `~/.local/state/modelctl/uploads`), holding the session id. Removed when the blob is stored.
struct UploadState {
    var directory: URL

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            directory = URL(fileURLWithPath: state).appending(path: "modelctl/uploads")
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSTemporaryDirectory()
            directory = URL(fileURLWithPath: home).appending(path: ".local/state/modelctl/uploads")
        }
    }

    private func file(registry: URL, digest: String) -> URL {
        let key = SHA256Hex.of(Data("\(registry.absoluteString) \(digest)".utf8))
        return directory.appending(path: key + ".session")
    }

    /// The session id saved for this blob, if any.
    func session(registry: URL, digest: String) -> String? {
        guard let text = try? String(contentsOf: file(registry: registry, digest: digest), encoding: .utf8) else {
            return nil
        }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// Remembers the session id (best effort: a push without it still works, it only cannot resume).
    func save(_ id: String, registry: URL, digest: String) {
        try? FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        try? Data(id.utf8).write(to: file(registry: registry, digest: digest), options: .atomic)
    }

    func forget(registry: URL, digest: String) {
        try? FileManager.default.removeItem(at: file(registry: registry, digest: digest))
    }
}

/// Lowercase hex SHA-256 of small data (the bundle's own files, state file names).
enum SHA256Hex {
    static func of(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
