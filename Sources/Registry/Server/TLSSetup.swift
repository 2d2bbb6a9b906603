import Foundation
import NIOCore
public import NIOSSL

extension RegistryConfiguration.TLSFiles {
    /// Loads the certificate chain and key into a server TLS configuration (TLS 1.2 or later).
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` naming the file that is missing, unreadable, not PEM, or a key
    ///   that anyone may read.
    public func serverConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChain.path)
        } catch {
            throw RegistryError.invalid(
                "cannot load the TLS certificate chain \(certificateChain.path): \(Self.describe(error)); expected PEM certificates, the server's first"
            )
        }
        guard !chain.isEmpty else {
            throw RegistryError.invalid("the TLS certificate file \(certificateChain.path) holds no PEM certificate")
        }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: privateKey.path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o004 != 0
        {
            throw RegistryError.invalid(
                "the TLS private key \(privateKey.path) can be read by anyone (mode \(String(mode & 0o777, radix: 8))): run 'chmod 600 \(privateKey.path)'"
            )
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey.path, format: .pem)
        } catch {
            throw RegistryError.invalid(
                "cannot load the TLS private key \(privateKey.path): \(Self.describe(error)); expected an unencrypted PEM key"
            )
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError, case .failedToLoadCertificate = error { return "not a PEM certificate" }
        if let error = error as? NIOSSLError, case .failedToLoadPrivateKey = error { return "not a PEM private key" }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}
