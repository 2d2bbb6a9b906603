import CHDF5
import Synchronization

/// Access to libhdf5, one caller at a time.
///
/// The serial build of libhdf5 (Debian's `libhdf5-dev`) keeps global state without locks and is not thread-safe, so
/// every call into it goes through ``serialised(_:)``, which holds a process-wide lock. Nothing else in the process
/// uses libhdf5. Before each use the library's automatic printing of its error stack to stderr is turned off;
/// failures are read from the stack with ``lastError()`` instead.
enum HDF5Library {
    private static let lock = Mutex(())

    /// Runs `body` holding the process-wide libhdf5 lock, with automatic error printing off.
    static func serialised<T: Sendable>(_ body: () throws -> T) throws -> T {
        try lock.withLock { _ in
            _ = chdf5_silence_errors()
            return try body()
        }
    }

    /// The messages on libhdf5's error stack for the call that just failed, the most specific first, joined with
    /// `"; "`; at most three, each at most 200 characters. Call it before any other libhdf5 call, which clears the
    /// stack.
    static func lastError() -> String {
        var messages: [String] = []
        withUnsafeMutablePointer(to: &messages) { pointer in
            _ = H5Ewalk2(
                chdf5_e_default(),
                H5E_WALK_UPWARD,
                { _, error, data in
                    guard let error, let data, let description = error.pointee.desc else { return 0 }
                    let messages = data.assumingMemoryBound(to: [String].self)
                    let message = String(String(cString: description).prefix(200))
                    if messages.pointee.count < 3, !message.isEmpty, !messages.pointee.contains(message) {
                        messages.pointee.append(message)
                    }
                    return 0
                },
                pointer
            )
        }
        return messages.isEmpty ? "no detail from libhdf5" : messages.joined(separator: "; ")
    }
}
