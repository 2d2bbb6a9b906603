import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a shell command (`/bin/sh -c`) in its own process group, with a deadline: at the deadline the whole group
/// is killed, so a health check that starts children cannot outlive it.
enum CommandRunner {
    struct Outcome: Sendable, Equatable {
        /// Exit status, or nil when it was killed by a signal or the deadline.
        var status: Int32?
        var timedOut: Bool
        var signal: Int32?
        /// The last lines of its standard error and output.
        var output: String

        var succeeded: Bool { status == 0 && !timedOut }

        /// `exited with status 3`, `was killed by signal 9`, `did not finish within 30 s`, with the output's end.
        func failure(_ what: String, timeout: Int) -> String {
            var text: String
            if timedOut {
                text = "\(what) did not finish within \(timeout) s and was killed"
            } else if let signal {
                text = "\(what) was killed by signal \(signal)"
            } else {
                text = "\(what) exited with status \(status ?? -1)"
            }
            if !output.isEmpty { text += ": " + output }
            return text
        }
    }

    /// Runs `command` in `directory` with `environment` added to the agent's own.
    static func run(
        _ command: String,
        in directory: URL,
        environment: [String: String],
        timeout: Duration
    ) async throws -> Outcome {
        let log = FileManager.default.temporaryDirectory
            .appending(path: "modelctl-agent-\(UInt64.random(in: .min ... .max)).log")
        defer { unlink(log.path) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        // The shell changes to the directory first (glibc's posix_spawn has no portable chdir action).
        let arguments = ["/bin/sh", "-c", "cd -- \"$1\" || exit 126\n" + command, "sh", directory.path]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw AgentError(.healthCheck, "cannot start /bin/sh: \(String(cString: strerror(spawned)))")
        }

        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        var timedOut = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0, errno != EINTR { break }
            if ContinuousClock.now >= deadline || Task.isCancelled {
                timedOut = !Task.isCancelled
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Children left behind in the group go with it.
        kill(-pid, SIGKILL)
        let output = Self.tail(of: log)
        let exited = (status & 0x7F) == 0
        return Outcome(
            status: timedOut || !exited ? nil : (status >> 8) & 0xFF,
            timedOut: timedOut,
            signal: !timedOut && !exited ? status & 0x7F : nil,
            output: output
        )
    }

    /// The last 5 non-empty lines (at most 1,000 characters) of a file.
    static func tail(of url: URL) -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { return "" }
        let lines = String(decoding: data.suffix(16_384), as: UTF8.self)
            .split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return String(lines.suffix(5).joined(separator: " | ").suffix(1000))
    }
}
