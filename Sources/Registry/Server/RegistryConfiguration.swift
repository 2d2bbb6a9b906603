public import Foundation

/// Everything `modelctl serve` needs to know, filled by the CLI from its options; the library reads no environment.
public struct RegistryConfiguration: Sendable {
    /// Address to listen on, such as `127.0.0.1`.
    public var host: String
    /// Port to listen on; 0 picks a free one (tests).
    public var port: Int
    /// Directory holding `registry.sqlite` and the blob store; created on first start.
    public var dataDirectory: URL

    /// Event-loop threads for network I/O. Request handling runs on Swift's cooperative thread pool (one thread per
    /// core); one I/O thread keeps context switches down and measured faster on small machines (docs/benchmarks.md).
    public var ioThreads: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, dataDirectory: URL, ioThreads: Int = 1) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.ioThreads = ioThreads
    }

    /// Parses `HOST:PORT` (`[::1]:8080` for IPv6).
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` naming the value and the accepted form.
    public static func parseListenAddress(_ text: String) throws -> (host: String, port: Int) {
        let syntax = "expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, with PORT from 0 to 65535"
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw RegistryError.invalid("invalid listen address '\(Validation.printable(text))': \(syntax)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw RegistryError.invalid("invalid listen address '\(Validation.printable(text))': \(syntax)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            throw RegistryError.invalid("invalid listen address '\(Validation.printable(text))': \(syntax)")
        }
        return (String(host), port)
    }
}
