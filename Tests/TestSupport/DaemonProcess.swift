public import Foundation
import Synchronization

/// The real `modelctl serve` binary running in a child process on a loopback port, for crash and shutdown tests.
public final class DaemonProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `port` are set once in `start()` before the object is shared; Process
    // itself is thread-safe for the calls used here (terminate, waitUntilExit, processIdentifier).

    public let dataDirectory: URL
    public private(set) var port: Int = 0
    public private(set) var startupSeconds: Double = 0
    private let process = Process()
    private let output = Pipe()
    /// Standard error of the daemon (its log), kept in a file so it never blocks the daemon.
    public let logFile: URL

    /// The `modelctl` executable built next to the test bundle.
    public static var executable: URL {
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appending(path: "modelctl"),
            Bundle.main.bundleURL.appending(path: "modelctl"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "modelctl"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
                .appending(path: ".build/debug/modelctl"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Starts the daemon and waits (up to 20 s) for the line that names its port.
    public init(dataDirectory: URL, arguments: [String] = []) throws {
        self.dataDirectory = dataDirectory
        process.executableURL = Self.executable
        let logLevel = arguments.contains("--log-level") ? [] : ["--log-level", "warning"]
        process.arguments =
            ["serve", "--data-dir", dataDirectory.path, "--listen", "127.0.0.1:0"] + logLevel + arguments
        process.standardOutput = output
        logFile = FileManager.default.temporaryDirectory.appending(path: "modelctl-daemon-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logFile)
        let started = Date()
        try process.run()
        let handle = output.fileHandleForReading
        var text = ""
        while !text.contains("\n") {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if Date().timeIntervalSince(started) > 20 { break }
        }
        startupSeconds = Date().timeIntervalSince(started)
        guard let range = text.range(of: "://127.0.0.1:"),
            let port = Int(text[range.upperBound...].prefix { $0.isNumber })
        else {
            process.terminate()
            throw DaemonError(message: "modelctl serve did not report its port: stdout=\(text) log=\(log)")
        }
        self.port = port
        scheme = text.contains("https://") ? "https" : "http"
        adminToken = (try? String(contentsOf: dataDirectory.appending(path: "admin-token"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if let adminToken { Self.tokens.withLock { $0[baseURL] = adminToken } }
    }

    /// The admin token the daemon wrote to `DATA_DIR/admin-token` on its first start (nil with `--auth none`).
    public private(set) var adminToken: String?

    private static let tokens = Mutex<[String: String]>([:])

    /// The admin token of the daemon serving `url` (started by this process), for requests made without the object.
    public static func adminToken(for url: String) -> String? {
        tokens.withLock { tokens in tokens.first { url.hasPrefix($0.key + "/") || url == $0.key }?.value }
    }

    /// What the daemon logged so far.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// `https` when started with `--tls-cert`.
    public private(set) var scheme = "http"

    public var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Sends SIGKILL and waits for the process to be gone.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and returns the exit status once the process has stopped.
    public func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: logFile)
    }
}

public struct DaemonError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
