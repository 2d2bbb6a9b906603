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

    /// Bearer tokens (the default), or none for local, throwaway use (refused unless ``host`` is a loopback address).
    public var authentication: Authenticator.Mode
    /// A file holding the admin token (`mctl_…`), kept as an active admin token at every start; when `nil`, the first
    /// start creates one and writes it to `DATA_DIR/admin-token`.
    public var adminTokenFile: URL?

    /// Serve HTTPS with this certificate chain and key; `nil`: plain HTTP.
    public var tls: TLSFiles?

    /// How long a signed desired-state document stays valid (agents refresh it after half of it).
    public var desiredStateValidity: TimeInterval = 24 * 3600

    /// PEM files of the server's certificate chain (leaf first) and its private key.
    public struct TLSFiles: Sendable, Equatable {
        public var certificateChain: URL
        public var privateKey: URL

        public init(certificateChain: URL, privateKey: URL) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dataDirectory: URL,
        ioThreads: Int = 1,
        authentication: Authenticator.Mode = .tokens,
        adminTokenFile: URL? = nil,
        tls: TLSFiles? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.ioThreads = ioThreads
        self.authentication = authentication
        self.adminTokenFile = adminTokenFile
    }

    /// Whether `host` only accepts connections from this machine (`127.0.0.0/8`, `::1`, `localhost`).
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
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
