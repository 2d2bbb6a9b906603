public import Foundation
public import Hummingbird
public import HummingbirdTesting
import Logging
public import Registry

/// Builds the real registry application on a temporary data directory (port 0) and runs `test` against it.
///
/// - Parameters:
///   - mode: `.router` (no sockets) for ordinary endpoints, `.live` where sockets matter (streaming, `Expect`).
///   - dataDirectory: reuse a directory (for restart tests); a fresh temporary one by default.
///   - authentication: `.none` (tests of other features); `.tokens` for the tests of authentication, which find the
///     admin token in `DATA_DIR/admin-token`.
public func withTestRegistry(
    _ mode: TestingSetup = .router,
    dataDirectory: URL? = nil,
    authentication: Authenticator.Mode = .none,
    _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    if let dataDirectory {
        try await run(mode, dataDirectory, authentication, test)
    } else {
        try await withTemporaryDirectory { directory in try await run(mode, directory, authentication, test) }
    }
}

private func run(
    _ mode: TestingSetup,
    _ dataDirectory: URL,
    _ authentication: Authenticator.Mode,
    _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var logger = Logger(label: "modelctl.test")
    logger.logLevel = .warning
    let app = try await buildApplication(
        configuration: RegistryConfiguration(
            host: "127.0.0.1",
            port: 0,
            dataDirectory: dataDirectory,
            authentication: authentication
        ),
        logger: logger
    )
    try await app.test(mode) { client in try await test(client) }
}
