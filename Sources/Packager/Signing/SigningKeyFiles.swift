public import Crypto
public import Foundation

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The pair of key files that sign models: `KEY.pem` and `KEY.pub.pem`.
///
/// Keys are ECDSA P-256. The private key file holds PKCS#8 (`PRIVATE KEY`) PEM and is created with mode 0600; the
/// public key file holds SubjectPublicKeyInfo (`PUBLIC KEY`) PEM with mode 0644. Both are readable by the OpenSSF
/// `model_signing` tool (`--private_key`, `--public_key`). Generation never overwrites an existing file.
public struct SigningKeyFiles: Sendable {
    /// Where the private key is, for example `KEY.pem`.
    public var privateKeyURL: URL
    /// Where the public key is, for example `KEY.pub.pem`.
    public var publicKeyURL: URL

    /// Names both files explicitly.
    public init(privateKeyURL: URL, publicKeyURL: URL) {
        self.privateKeyURL = privateKeyURL
        self.publicKeyURL = publicKeyURL
    }

    /// Names the files after a base path: `base` `KEY` gives `KEY.pem` and `KEY.pub.pem`.
    ///
    /// A base already ending in `.pem` is taken as the private key file: `KEY.pem` gives `KEY.pem` and
    /// `KEY.pub.pem`.
    public init(base: URL) {
        let name = base.lastPathComponent
        let stem = name.hasSuffix(".pem") ? String(name.dropLast(4)) : name
        let directory = base.deletingLastPathComponent()
        self.privateKeyURL = directory.appending(path: stem + ".pem")
        self.publicKeyURL = directory.appending(path: stem + ".pub.pem")
    }

    /// Generates a new P-256 key pair and writes both files.
    ///
    /// Neither file may exist yet; if writing the public key fails, the private key file just written is removed.
    ///
    /// - Returns: The new public key.
    /// - Throws: ``PackagerError`` `.alreadyExists` if either file exists, `.io` if a file cannot be written.
    @discardableResult
    public func generate() throws -> P256.Signing.PublicKey {
        for url in [privateKeyURL, publicKeyURL] where Self.exists(url) {
            throw PackagerError(.alreadyExists, "key file '\(url.path)' already exists; it is not overwritten")
        }
        let privateKey = P256.Signing.PrivateKey()
        try Self.writeExclusively(privateKey.pemRepresentation + "\n", to: privateKeyURL, mode: 0o600)
        do {
            let publicPEM = PEM.encode(der: privateKey.publicKey.derRepresentation, label: "PUBLIC KEY")
            try Self.writeExclusively(publicPEM, to: publicKeyURL, mode: 0o644)
        } catch {
            try? FileManager.default.removeItem(at: privateKeyURL)
            throw error
        }
        return privateKey.publicKey
    }

    /// Reads the private key (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY` PEM; text around it is ignored).
    ///
    /// - Throws: ``PackagerError`` `.notFound` if the file does not exist, `.io` if it cannot be read,
    ///   `.invalidArgument` if it holds no unencrypted P-256 private key.
    public func loadPrivateKey() throws -> P256.Signing.PrivateKey {
        try Self.loadPrivateKey(at: privateKeyURL)
    }

    /// Reads the public key.
    ///
    /// - Throws: ``PackagerError``, see ``TrustedPublicKey/init(contentsOf:)``.
    public func loadPublicKey() throws -> TrustedPublicKey {
        try TrustedPublicKey(contentsOf: publicKeyURL)
    }

    /// Reads a P-256 private key PEM file.
    ///
    /// - Throws: ``PackagerError`` `.notFound`, `.io` or `.invalidArgument`, naming the file.
    public static func loadPrivateKey(at url: URL) throws -> P256.Signing.PrivateKey {
        guard exists(url) else { throw PackagerError.notFound("private key file '\(url.path)' does not exist") }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw PackagerError.io("cannot read private key file '\(url.path)'", cause: error)
        }
        if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw PackagerError.unsupported("private key file '\(url.path)' is encrypted; decrypt it first")
        }
        guard let block = PEM.block(labeled: ["PRIVATE KEY", "EC PRIVATE KEY"], in: text) else {
            throw PackagerError.invalid("private key file '\(url.path)' holds no PRIVATE KEY PEM block")
        }
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: block.text)
        } catch {
            throw PackagerError.invalid("private key file '\(url.path)' does not hold an ECDSA P-256 private key")
        }
    }

    private static func exists(_ url: URL) -> Bool {
        var status = stat()
        return lstat(url.path, &status) == 0
    }

    /// Creates `url` with `mode` and writes `text`; fails if anything exists at `url` (no overwrite, no symlink
    /// following).
    private static func writeExclusively(_ text: String, to url: URL, mode: mode_t) throws {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST {
                throw PackagerError(.alreadyExists, "key file '\(url.path)' already exists; it is not overwritten")
            }
            throw PackagerError.io("cannot create key file '\(url.path)': \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        do {
            guard fchmod(descriptor, mode) == 0 else {
                throw PackagerError.io("cannot set mode of '\(url.path)': \(String(cString: strerror(errno)))")
            }
            let bytes = Array(text.utf8)
            var written = 0
            while written < bytes.count {
                let count = bytes.withUnsafeBytes {
                    write(descriptor, $0.baseAddress! + written, bytes.count - written)
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw PackagerError.io("cannot write key file '\(url.path)': \(String(cString: strerror(errno)))")
                }
                written += count
            }
        } catch {
            unlink(url.path)
            throw error
        }
    }
}
