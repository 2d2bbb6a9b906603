import AgentProtocol
import Foundation
import RegistryClient
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `modelctl agent run` child process, its log in a file.
final class AgentProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is set up in init and only terminated or waited for afterwards.
    let stateDirectory: URL
    let logFile: URL
    private let process = Process()

    init(stateDirectory: URL, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.stateDirectory = stateDirectory
        process.executableURL = DaemonProcess.executable
        process.arguments =
            ["agent", "run", "--state-dir", stateDirectory.path, "--poll-wait", "5", "--log-level", "info"] + arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        logFile = FileManager.default.temporaryDirectory.appending(path: "modelctl-agent-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logFile)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL: no chance to clean up.
    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// A real daemon with tokens on, an admin client, and helpers to push versions and enroll agents through the CLI.
struct Fleet: Sendable {
    let daemon: DaemonProcess
    let directory: URL

    var adminToken: String { daemon.adminToken ?? "" }

    static func run(_ body: @escaping @Sendable (Fleet) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory.appending(path: "data"))
            defer { _ = daemon.terminate() }
            try await body(Fleet(daemon: daemon, directory: directory))
        }
    }

    func admin<T>(_ body: (RegistryClient) async throws -> T) async throws -> T {
        let client = RegistryClient(
            configuration: RegistryClientConfiguration(
                baseURL: URL(string: daemon.baseURL)!,
                token: adminToken,
                userAgent: "agent-tests"
            )
        )
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    /// Pushes a READY version of `model` with `files` (path → bytes); returns its number.
    @discardableResult
    func push(_ model: String, _ files: [String: [UInt8]]) async throws -> Int {
        try await admin { client in
            var remote: [RemoteFile] = []
            for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
                let blob = BlobFixture(bytes: bytes)
                let url = directory.appending(path: "upload-\(UUID().uuidString)")
                try Data(bytes).write(to: url)
                _ = try await client.uploadBlob(digest: blob.digest, from: url)
                try? FileManager.default.removeItem(at: url)
                remote.append(RemoteFile(path: path, size: Int64(bytes.count), digest: blob.digest))
            }
            if (try? await client.model(named: model)) == nil { _ = try await client.createModel(name: model) }
            let created = try await client.createVersion(
                model: model,
                NewRemoteVersion(files: remote, format: "custom")
            )
            return try await client.commitVersion(model: model, version: created.version).version
        }
    }

    /// Enrolls an agent with `modelctl agent enroll` and returns its state directory.
    func enroll(_ name: String, labels: [String: String] = [:]) async throws -> URL {
        let token = try await admin { client in
            try await client.createEnrollmentToken(CreateEnrollmentTokenRequest(labels: labels))
        }
        let state = directory.appending(path: "agent-\(name)")
        let result = try runModelctl(
            [
                "agent", "enroll", "--registry", daemon.baseURL, "--enrollment-token", token.token ?? "",
                "--state-dir", state.path, "--name", name,
            ],
            in: directory
        )
        try #require(result.status == 0, "\(result)")
        return state
    }

    func fleet(_ deployment: String? = nil) async throws -> FleetStatus {
        try await admin { try await $0.fleet(deployment: deployment) }
    }

    /// Waits until `condition` holds (checked every 100 ms), failing after `timeout`.
    func waitUntil(
        _ what: String,
        timeout: Duration = .seconds(60),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
        throw CancellationError()
    }
}

/// What an agent's `dir` layout has active for `model`: the version number `current` names, and its files.
func currentFiles(_ state: URL, model: String) -> (version: Int, files: [String: [UInt8]])? {
    let current = state.appending(path: "models/\(model)/current")
    guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current.path),
        let version = Int(target.split(separator: "/").last ?? "")
    else { return nil }
    var files: [String: [UInt8]] = [:]
    let root = current.resolvingSymlinksInPath()
    guard let enumerator = FileManager.default.enumerator(atPath: root.path) else { return nil }
    while let name = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let path = root.appending(path: name)
        if FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            files[name] = Array((try? Data(contentsOf: path)) ?? Data())
        }
    }
    return (version, files)
}

/// Bytes of the given sizes, different for each seed.
func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7) ^ seed }
}
