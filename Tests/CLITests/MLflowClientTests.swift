import Foundation
import TestSupport
import Testing

/// The MLflow interop suite: `Tests/mlflow/test_*.py` drive the real MLflow Python client (mlflow-skinny 3.17.2, from
/// the repository's `.venv`) against the real `modelctl serve` on a loopback port.
///
/// `scripts/python-tools.sh` creates the virtualenv. Without it the test fails when `CI` is `true` and is skipped,
/// loudly, otherwise. To run the Python suite by hand against a daemon of your own:
/// `MLFLOW_TRACKING_URI=http://127.0.0.1:PORT MLFLOW_TRACKING_TOKEN=$(cat DATA/admin-token)
/// MODELCTL_BIN=.build/debug/modelctl .venv/bin/python -m unittest discover -s Tests/mlflow -v`.
enum MLflowClientSuite {
    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let python = repositoryRoot.appending(path: ".venv/bin/python")

    static let suiteDirectory = repositoryRoot.appending(path: "Tests/mlflow")

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static let missingMessage =
        "mlflow-skinny 3.17.2 (with numpy and pandas) not found in \(python.path); run scripts/python-tools.sh"

    /// Whether `.venv` has the pinned MLflow client and what `mlflow.pyfunc` imports (read from the installed
    /// packages' metadata, without importing them).
    static let isInstalled: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python.path) else { return false }
        let check = """
            from importlib import metadata
            assert metadata.version("mlflow-skinny") == "3.17.2"
            metadata.version("numpy"), metadata.version("pandas")
            """
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", check]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Whether the suite runs: always on CI (where a missing client fails it), else only when installed.
    static var shouldRun: Bool {
        if isInstalled || isCI { return true }
        FileHandle.standardError.write(Data("\n*** MLFLOW INTEROP TESTS SKIPPED: \(missingMessage) ***\n\n".utf8))
        return false
    }

    /// The environment of the Python suite: the daemon, its admin token, the `modelctl` binary, and private
    /// HOME/XDG/TMPDIR directories under `root`. `MODELCTL_*` and `MLFLOW_*` variables of the test's own
    /// environment are dropped.
    static func environment(daemon: DaemonProcess, root: URL) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("MODELCTL_") && !$0.key.hasPrefix("MLFLOW_")
        }
        environment["MLFLOW_TRACKING_URI"] = daemon.baseURL
        environment["MLFLOW_TRACKING_TOKEN"] = daemon.adminToken
        environment["MODELCTL_BIN"] = DaemonProcess.executable.path
        environment["MODELCTL_REGISTRY"] = daemon.baseURL
        environment["HOME"] = root.appending(path: "home").path
        environment["XDG_STATE_HOME"] = root.appending(path: "state").path
        environment["XDG_CONFIG_HOME"] = root.appending(path: "config").path
        environment["XDG_CACHE_HOME"] = root.appending(path: "cache").path
        environment["TMPDIR"] = root.appending(path: "tmp").path
        // No __pycache__ in the source tree, no telemetry, unbuffered output so a timeout still shows the progress.
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONUNBUFFERED"] = "1"
        environment["MLFLOW_DISABLE_TELEMETRY"] = "true"
        environment["DO_NOT_TRACK"] = "true"
        return environment
    }

    /// How a run of the Python suite ended: its exit status (nil when it was killed at the time limit) and its
    /// combined output.
    struct Outcome {
        var status: Int32?
        var output: String
    }

    /// Runs `python -m unittest discover -s Tests/mlflow -v`, killing it after `timeout` seconds. Waits without
    /// blocking a thread of the test runner's pool.
    static func run(environment: [String: String], in root: URL, timeout: Duration) async throws -> Outcome {
        let outputFile = root.appending(path: "unittest.log")
        FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        let process = Process()
        process.executableURL = python
        process.arguments = ["-m", "unittest", "discover", "-s", suiteDirectory.path, "-v"]
        process.currentDirectoryURL = repositoryRoot
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Killed at the time limit, and also when the test is cancelled while waiting
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? handle.close()
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        var status: Int32? = nil
        if !process.isRunning {
            process.waitUntilExit()
            status = process.terminationStatus
        } else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return Outcome(status: status, output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "")
    }
}

@Suite(
    .serialized,
    .enabled(if: MLflowClientSuite.shouldRun, "MLFLOW INTEROP TESTS SKIPPED: \(MLflowClientSuite.missingMessage)")
)
struct MLflowClientTests {
    @Test(.timeLimit(.minutes(10)))
    func realMLflowClientAgainstTheDaemon() async throws {
        guard MLflowClientSuite.isInstalled else {
            Issue.record("MLFLOW INTEROP TESTS FAILED: \(MLflowClientSuite.missingMessage) (required because CI=true)")
            return
        }
        try await withTemporaryDirectory { root in
            for name in ["home", "state", "config", "cache", "tmp"] {
                try FileManager.default.createDirectory(
                    at: root.appending(path: name),
                    withIntermediateDirectories: true
                )
            }
            // Given the real daemon on a loopback port, with authentication on
            let daemon = try DaemonProcess(dataDirectory: root.appending(path: "data"))
            try #require(daemon.adminToken != nil, "the daemon wrote no admin token: \(daemon.log)")

            // When the Python suite runs against it with the real MLflow client
            let environment = MLflowClientSuite.environment(daemon: daemon, root: root)
            let outcome = try await MLflowClientSuite.run(environment: environment, in: root, timeout: .seconds(9 * 60))
            let output = outcome.output

            // Then every test passes, none skipped (every modelctl-only test runs here)
            let log = daemon.log
            let tail = log.count > 20_000 ? "…" + log.suffix(20_000) : log
            switch outcome.status {
            case nil:
                Issue.record(
                    "the MLflow suite did not finish in 9 minutes; its output:\n\(output)\ndaemon log:\n\(tail)"
                )
            case 0:
                #expect(output.contains("\nOK"), "no OK line in the MLflow suite's output:\n\(output)")
                #expect(!output.contains("skipped="), "tests were skipped:\n\(output)")
            case let status?:
                Issue.record("the MLflow suite failed (exit \(status)); its output:\n\(output)\ndaemon log:\n\(tail)")
            }
            #expect(daemon.terminate() == 0, "daemon log:\n\(tail)")
        }
    }
}
