import AsyncHTTPClient
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure below HTTP: no connection, or a connection that broke or went silent.
struct TransportFailure {
    /// Why, in words (`connection refused`).
    var reason: String
    /// `false` when the connection was never made, so the request cannot have reached the registry.
    var mayHaveBeenSent: Bool
    /// `false` for failures that another attempt cannot fix (an untrusted certificate).
    var retryable = true

    /// Classifies an error thrown by `HTTPClient`; `nil` when it is not a transport failure (cancellation, a
    /// programming error, a local file error).
    init?(_ error: any Error) {
        if error is CancellationError { return nil }
        if let error = error as? HTTPClientError {
            switch error {
            case .cancelled: return nil
            case .connectTimeout: self.init(reason: "connection timed out", mayHaveBeenSent: false)
            case .tlsHandshakeTimeout: self.init(reason: "TLS handshake timed out", mayHaveBeenSent: false)
            case .deadlineExceeded: self.init(reason: "request timed out", mayHaveBeenSent: true)
            case .readTimeout: self.init(reason: "no data received before the read timeout", mayHaveBeenSent: true)
            case .writeTimeout: self.init(reason: "could not send data before the write timeout", mayHaveBeenSent: true)
            case .remoteConnectionClosed: self.init(reason: "the connection was closed", mayHaveBeenSent: true)
            case .getConnectionFromPoolTimeout: self.init(reason: "connection timed out", mayHaveBeenSent: false)
            case .invalidURL, .emptyHost, .emptyScheme, .alreadyShutdown, .requestStreamCancelled:
                return nil
            default: self.init(reason: "\(error)", mayHaveBeenSent: true)
            }
            return
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: self.init(reason: "connection timed out", mayHaveBeenSent: false)
            default: self.init(reason: "the connection failed (\(error))", mayHaveBeenSent: true)
            }
            return
        }
        if let error = error as? IOError {
            self.init(errno: error.errnoCode, sent: true)
            return
        }
        // NIOPosix's NIOConnectionError (this module does not import NIOPosix): the connection was never made.
        if String(describing: type(of: error)) == "NIOConnectionError" {
            let mirror = Mirror(reflecting: error)
            if let dns = mirror.descendant("dnsAError") as? (any Error)
                ?? mirror.descendant("dnsAAAAError") as? (any Error)
            {
                self.init(reason: "cannot resolve the host name (\(dns))", mayHaveBeenSent: false)
                return
            }
            if let io = Self.firstIOError(in: error) {
                self.init(errno: io.errnoCode, sent: false)
                return
            }
            self.init(reason: "\(error)", mayHaveBeenSent: false)
            return
        }
        let typeName = String(reflecting: type(of: error))
        if typeName.contains("NIOSSL") {
            let text = "\(error)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.lowercased().contains("certificate verify failed") {
                self.init(
                    reason: "TLS: the registry's certificate is not trusted (certificate verify failed)",
                    mayHaveBeenSent: false
                )
                retryable = false
            } else if text.lowercased().contains("hostname") {
                self.init(
                    reason: "TLS: the registry's certificate does not name this host (\(text))",
                    mayHaveBeenSent: false
                )
                retryable = false
            } else if text.contains("WRONG_VERSION_NUMBER") || text.lowercased().contains("wrong version number") {
                self.init(
                    reason:
                        "TLS handshake failed: the registry does not speak TLS at this address (an http:// registry?)",
                    mayHaveBeenSent: false
                )
                retryable = false
            } else {
                self.init(reason: "TLS handshake failed: \(text)", mayHaveBeenSent: false)
            }
            return
        }
        if typeName.contains("DNS") || typeName.contains("SocketAddressError") {
            self.init(reason: "\(error)", mayHaveBeenSent: false)
            return
        }
        if typeName.hasPrefix("NIO") || typeName.hasPrefix("AsyncHTTPClient") {
            self.init(reason: "\(error)", mayHaveBeenSent: true)
            return
        }
        return nil
    }

    init(reason: String, mayHaveBeenSent: Bool) {
        self.reason = reason
        self.mayHaveBeenSent = mayHaveBeenSent
    }

    private init(errno code: CInt, sent: Bool) {
        let text = String(cString: strerror(code))
        let reason = text.prefix(1).lowercased() + text.dropFirst()
        // These fail `connect`: whatever the caller thought, nothing was sent.
        let connectFailure = [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(code)
        self.init(reason: reason, mayHaveBeenSent: sent && !connectFailure)
    }

    /// The first `IOError` inside an error's stored properties (NIOConnectionError keeps one per address tried).
    private static func firstIOError(in value: Any, depth: Int = 0) -> IOError? {
        if let error = value as? IOError { return error }
        guard depth < 5 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let found = firstIOError(in: child.value, depth: depth + 1) { return found }
        }
        return nil
    }

    /// The error reported after the last attempt.
    func error(registry: String, attempts: Int) -> RegistryClientError {
        let tries = attempts > 1 ? " (\(attempts) attempts)" : ""
        let message =
            mayHaveBeenSent
            ? "lost the connection to the registry at \(registry): \(reason)\(tries)"
            : "cannot reach the registry at \(registry): \(reason)\(tries)"
        return RegistryClientError(.unreachable, message)
    }
}
