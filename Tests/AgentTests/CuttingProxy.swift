import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 that forwards to a port and, once, cuts the first connection whose answer passes
/// `cutAfter` bytes: a flaky link in the middle of a download.
final class CuttingProxy: Sendable {
    let port: Int
    private let listener: Int32
    private let upstream: Int
    private let cutAfter: Int
    private let state = Mutex<(downstream: Int, cut: Bool, closed: Bool)>((0, false, false))

    init(upstream: Int, cutAfter: Int) throws {
        self.upstream = upstream
        self.cutAfter = cutAfter
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Bytes sent from the registry to the client so far, over every connection.
    var downstreamBytes: Int { state.withLock { $0.downstream } }
    var didCut: Bool { state.withLock { $0.cut } }

    func close() {
        state.withLock { $0.closed = true }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: UInt16(upstream))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                Glibc.close(client)
                Glibc.close(server)
                continue
            }
            let done = PumpCount()
            let finish: @Sendable () -> Void = {
                if done.finished() {
                    Glibc.close(client)
                    Glibc.close(server)
                }
            }
            Thread { [self] in
                pump(from: client, to: server, counting: false)
                finish()
            }.start()
            Thread { [self] in
                pump(from: server, to: client, counting: true)
                finish()
            }.start()
        }
    }

    private func pump(from source: Int32, to destination: Int32, counting: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var connectionBytes = 0
        while true {
            let count = read(source, &buffer, buffer.count)
            guard count > 0 else { break }
            if counting {
                connectionBytes += count
                let cutNow = state.withLock { state -> Bool in
                    state.downstream += count
                    guard !state.cut, connectionBytes > cutAfter else { return false }
                    state.cut = true
                    return true
                }
                if cutNow { break }
            }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + offset, count - offset) }
                guard written > 0 else { break }
                offset += written
            }
            if offset < count { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }
}

/// Counts the two pumps of a connection; the second to end closes its sockets.
private final class PumpCount: Sendable {
    private let count = Mutex(0)

    func finished() -> Bool {
        count.withLock { value in
            value += 1
            return value == 2
        }
    }
}
