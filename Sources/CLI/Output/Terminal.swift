import Foundation
import Synchronization

/// Writing to stdout and stderr, and recognising terminals.
enum Terminal {
    enum Stream { case standardInput, standardOutput, standardError }

    static func isTerminal(_ stream: Stream) -> Bool {
        switch stream {
        case .standardInput: isatty(STDIN_FILENO) == 1
        case .standardOutput: isatty(STDOUT_FILENO) == 1
        case .standardError: isatty(STDERR_FILENO) == 1
        }
    }

    /// Prints a line to stdout.
    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints `Error: message` to stderr.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    }

    /// Prints a line to stderr (notes and warnings that are not the command's result).
    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Prints `value` as pretty, key-sorted JSON on stdout.
    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}

/// Human-readable sizes, rates and durations.
enum Units {
    /// `1.5 GiB`, `312 KiB`, `17 B`.
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }

    /// `4s`, `2m05s`, `1h02m`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }
}

/// A one-line progress bar on stderr: label, bar, percentage, bytes, rate and ETA, redrawn at most ten times a
/// second. Does nothing when disabled (not a terminal, `--quiet`, `--output json`).
final class ProgressBar: Sendable {
    private struct State {
        var label = ""
        var started = Date()
        var lastDraw = Date.distantPast
        var drawn = false
    }

    private let enabled: Bool
    private let state = Mutex(State())

    init(enabled: Bool) {
        self.enabled = enabled
    }

    /// Shows `completed` of `total` bytes for `label`; a new label starts a new line and resets the rate.
    func update(_ label: String, completed: Int64, total: Int64) {
        guard enabled else { return }
        state.withLock { state in
            let now = Date()
            if state.label != label {
                if state.drawn { FileHandle.standardError.write(Data("\n".utf8)) }
                state = State(label: label, started: now)
            } else if now.timeIntervalSince(state.lastDraw) < 0.1, completed < total {
                return
            }
            state.lastDraw = now
            state.drawn = true
            let fraction = total > 0 ? min(1, Double(completed) / Double(total)) : 1
            let width = 24
            let filled = Int(fraction * Double(width))
            let elapsed = max(now.timeIntervalSince(state.started), 0.001)
            let rate = Double(completed) / elapsed
            let eta = rate > 0 ? Double(total - completed) / rate : .infinity
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            let percent = String(format: "%3d%%", Int(fraction * 100))
            let line =
                "\r\(label) [\(bar)] \(percent) \(Units.bytes(completed))/\(Units.bytes(total)) "
                + "\(Units.bytes(Int64(rate)))/s ETA \(Units.duration(eta))\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Ends the line the bar is on, if one was drawn.
    func finish() {
        guard enabled else { return }
        state.withLock { state in
            if state.drawn { FileHandle.standardError.write(Data("\n".utf8)) }
            state.drawn = false
        }
    }
}
