public import Foundation

/// What a run of the real `modelctl` binary printed and how it exited.
public struct CommandResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// Runs the built `modelctl` binary with `arguments` in `directory` and waits for it (up to `timeout` seconds).
///
/// Output goes to files, not pipes, so a chatty command can never block on a full pipe.
public func runModelctl(
    _ arguments: [String],
    in directory: URL,
    environment: [String: String]? = nil,
    timeout: Double = 60
) throws -> CommandResult {
    let process = Process()
    process.executableURL = DaemonProcess.executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    if let environment { process.environment = environment }
    let id = UUID().uuidString
    let outURL = FileManager.default.temporaryDirectory.appending(path: "modelctl-\(id).out")
    let errURL = FileManager.default.temporaryDirectory.appending(path: "modelctl-\(id).err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline { usleep(10_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        throw DaemonError(message: "modelctl \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
    }
    process.waitUntilExit()
    try out.close()
    try err.close()
    return CommandResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    )
}
