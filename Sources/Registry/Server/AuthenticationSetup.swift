public import Foundation
public import Logging
import NIOCore

/// Name of the file in the data directory that receives the admin token created on first start.
public let adminTokenFileName = "admin-token"

/// Readies authentication at start-up and returns the authenticator of the routes.
///
/// - `--auth none`: refused unless the registry listens on a loopback address; logged at warning level.
/// - `--admin-token-file FILE`: the token in FILE (readable by its owner only) is made an active admin token.
/// - Otherwise, on the first start (no token exists yet): a random admin token is created, only its hash is stored,
///   and the token is written to `DATA_DIR/admin-token` (mode 0600); the log says where.
///
/// - Throws: ``RegistryError`` `invalidArgument` for `--auth none` on a non-loopback address or an unusable admin
///   token file; `conflict` when the file's token clashes with a stored one.
public func prepareAuthentication(
    _ configuration: RegistryConfiguration,
    store: any AuthStore,
    logger: Logger
) async throws -> Authenticator {
    let authenticator = Authenticator(mode: configuration.authentication, store: store)
    switch configuration.authentication {
    case .none:
        guard RegistryConfiguration.isLoopback(configuration.host) else {
            throw RegistryError.invalid(
                "--auth none is only accepted on a loopback address (127.0.0.1, ::1, localhost), not '\(Validation.printable(configuration.host))': anyone who can reach the registry could push, promote and delete"
            )
        }
        logger.warning(
            "AUTHENTICATION IS OFF (--auth none): every local process can push, promote and delete models; use it for throwaway local registries only"
        )
    case .tokens:
        if let file = configuration.adminTokenFile {
            let token = try readAdminTokenFile(file)
            let created = try await store.ensureAdminToken(token, description: "admin token file")
            logger.notice(
                "admin token from \(file.path) \(created ? "registered" : "already registered")",
                metadata: ["token_id": "\(token.id)"]
            )
        } else if try await store.tokenCount() == 0 {
            let token = AccessToken.generate()
            let file = configuration.dataDirectory.appending(path: adminTokenFileName)
            // The file first: a token whose only copy was lost would lock the operator out.
            try writeAdminToken(token, to: file)
            _ = try await store.ensureAdminToken(token, description: "created on first start")
            logger.notice(
                "created the first admin token and wrote it to \(file.path) (readable by this user only); use it with 'modelctl login', then create personal tokens with 'modelctl token create'",
                metadata: ["token_id": "\(token.id)"]
            )
        }
    }
    return authenticator
}

/// Reads an admin token file, refusing one that others may read.
func readAdminTokenFile(_ file: URL) throws -> AccessToken {
    let attributes: [FileAttributeKey: Any]
    let text: String
    do {
        attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        text = try String(contentsOf: file, encoding: .utf8)
    } catch {
        throw RegistryError.invalid("cannot read the admin token file \(file.path): \(error.localizedDescription)")
    }
    if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
        throw RegistryError.invalid(
            "the admin token file \(file.path) can be read by others (mode \(String(mode & 0o777, radix: 8))): run 'chmod 600 \(file.path)'"
        )
    }
    guard let token = AccessToken(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw RegistryError.invalid(
            "the admin token file \(file.path) does not hold a token of the form mctl_<16 hex digits>_<43 base64url characters>; 'modelctl token generate' prints one"
        )
    }
    return token
}

/// Writes the token to `file` with mode 0600, atomically and durably (temporary file, fsync, rename, fsync of the
/// directory).
func writeAdminToken(_ token: AccessToken, to file: URL) throws {
    try writeSecretFile(token.text + "\n", to: file)
}

/// Writes `text` to `file` with mode 0600, atomically and durably (temporary file, fsync, rename, fsync of the
/// directory): after a crash the file is either absent or complete.
func writeSecretFile(_ text: String, to file: URL) throws {
    let directory = file.deletingLastPathComponent().path
    let temporary = "\(directory)/.\(file.lastPathComponent).tmp"
    unlink(temporary)
    do {
        let output = try PosixFile(path: temporary, create: true, mode: 0o600)
        var buffer = ByteBuffer()
        buffer.writeString(text)
        try output.write(buffer)
        try output.sync()
        try output.close()
        try PosixFile.rename(temporary, to: file.path)
        try PosixFile.syncDirectory(directory)
    } catch {
        unlink(temporary)
        throw error
    }
}
