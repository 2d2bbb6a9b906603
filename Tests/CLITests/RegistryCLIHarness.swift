import Foundation
import TestSupport
import Testing

/// The real `modelctl serve` on a loopback port and an environment to run the `modelctl` binary against it.
///
/// Everything lives under one temporary directory: the daemon's data (`data/`), the commands' working directory
/// (`work/`), and HOME, XDG_STATE_HOME and XDG_CONFIG_HOME, so the user's real login and upload state are never
/// read or written. `MODELCTL_*` variables of the test's own environment are dropped.
final class RegistryHarness: @unchecked Sendable {
    // @unchecked Sendable: `daemon` is replaced only by `restartDaemon`, called from the test's own task.

    let root: URL
    let work: URL
    let dataDirectory: URL
    private(set) var daemon: DaemonProcess

    init(root: URL) throws {
        self.root = root
        work = root.appending(path: "work")
        dataDirectory = root.appending(path: "data")
        for name in ["work", "home", "state", "config"] {
            try FileManager.default.createDirectory(at: root.appending(path: name), withIntermediateDirectories: true)
        }
        daemon = try DaemonProcess(dataDirectory: dataDirectory)
    }

    /// The environment of every `modelctl` run: the daemon's URL and private HOME/XDG directories.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MODELCTL_") }
        environment["MODELCTL_REGISTRY"] = daemon.baseURL
        if let token = daemon.adminToken { environment["MODELCTL_TOKEN"] = token }
        environment["HOME"] = root.appending(path: "home").path
        environment["XDG_STATE_HOME"] = root.appending(path: "state").path
        environment["XDG_CONFIG_HOME"] = root.appending(path: "config").path
        return environment
    }

    /// Where `modelctl push` remembers its resumable upload sessions.
    var uploadStateDirectory: URL { root.appending(path: "state/modelctl/uploads") }

    /// The daemon's resumable upload sessions (`DATA/uploads/<id>/{data,offset}`).
    var sessionDirectory: URL { dataDirectory.appending(path: "uploads") }

    /// Runs `modelctl arguments` in `work/`.
    func run(_ arguments: [String], timeout: Double = 60) throws -> CommandResult {
        try runModelctl(arguments, in: work, environment: environment, timeout: timeout)
    }

    /// Runs `modelctl arguments -O json`, requires exit 0, and returns the JSON object it printed.
    func json(
        _ arguments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        let result = try run(arguments + ["-O", "json"])
        try #require(
            result.status == 0,
            "\(arguments.joined(separator: " ")): \(result)",
            sourceLocation: sourceLocation
        )
        return try Self.object(result.stdout, sourceLocation: sourceLocation)
    }

    static func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            "not a JSON object: \(text)",
            sourceLocation: sourceLocation
        )
    }

    /// Starts a new daemon on the same data directory, on the port of the old one when `samePort` (so the
    /// registry URL, part of the push's upload-state key, does not change). The old one must be stopped.
    func restartDaemon(samePort: Bool) throws {
        let arguments = samePort ? ["--listen", "127.0.0.1:\(daemon.port)"] : []
        daemon = try DaemonProcess(dataDirectory: dataDirectory, arguments: arguments)
    }

    /// The file holding blob `digest` (`sha256:<hex>`) in the daemon's data directory (see `FileBlobStore`).
    func blobFile(_ digest: String) -> URL {
        let hex = digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
        return dataDirectory.appending(path: "blobs/sha256/\(hex.prefix(2))/\(hex)")
    }

    func exists(_ relativePath: String) -> Bool {
        FileManager.default.fileExists(atPath: work.appending(path: relativePath).path)
    }

    // MARK: Models

    static let onnxFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "PackagerTests/Fixtures/tiny-classifier.onnx")

    /// `work/NAME/` with the ONNX fixture as `classifier.onnx` and `labels`.
    @discardableResult
    func makeModel(_ name: String, labels: String = "cat\ndog\n") throws -> URL {
        let model = work.appending(path: name)
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.onnxFixture, to: model.appending(path: "classifier.onnx"))
        try Data(labels.utf8).write(to: model.appending(path: "labels.txt"))
        return model
    }

    /// `work/NAME.pem` and `work/NAME.pub.pem`, from `modelctl keys generate`.
    func generateKey(_ name: String) throws {
        let result = try run(["keys", "generate", "--out", "\(name).pem", "-q"])
        try #require(result.status == 0, "\(result)")
    }
}

extension CommandResult {
    /// The JSON object printed on stdout.
    func object(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try RegistryHarness.object(stdout, sourceLocation: sourceLocation)
    }
}

/// Every regular file under `directory`, by path relative to it.
func filesByPath(_ directory: URL) throws -> [String: Data] {
    var files: [String: Data] = [:]
    let base = directory.standardizedFileURL.path
    guard let enumerator = FileManager.default.enumerator(atPath: base) else { return files }
    for case let relative as String in enumerator {
        let url = URL(fileURLWithPath: base).appending(path: relative)
        let values = try url.resourceValues(forKeys: [.isRegularFileKey])
        if values.isRegularFile == true { files[relative] = try Data(contentsOf: url) }
    }
    return files
}

/// Expects `pulled` to hold byte-for-byte every file of `source`, plus the bundle's own files (`extras`) and nothing
/// else.
func expectSameFiles(
    _ pulled: URL,
    as source: URL,
    extras: Set<String> = ["manifest.json"],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let expected = try filesByPath(source)
    let actual = try filesByPath(pulled)
    #expect(Set(actual.keys) == Set(expected.keys).union(extras), sourceLocation: sourceLocation)
    for (path, data) in expected {
        #expect(actual[path] == data, "'\(path)' differs from the source", sourceLocation: sourceLocation)
    }
}

/// `sha256:<hex>` of `data`.
func digest(_ data: Data) -> String { BlobFixture(bytes: [UInt8](data)).digest }
