public import AgentProtocol
import Crypto
public import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix

/// Assembles the registry daemon: opens the stores under the data directory (creating them and applying migrations
/// on first start), builds the router and returns the application, ready for `runService()`.
///
/// `modelctl serve` and the tests call this same function.
///
/// - Parameters:
///   - configuration: listen address, data directory, authentication and TLS.
///   - logger: the daemon's logger.
///   - onServerRunning: called once the socket is bound (with the channel, whose `localAddress` has the real port).
/// - Throws: ``RegistryError`` `unavailable` when the data directory or database cannot be opened.
public func buildApplication(
    configuration: RegistryConfiguration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    // TLS files first: a bad certificate stops the start before anything is created.
    let http1 = HTTPServerBuilder.http1(
        configuration: .init(additionalChannelHandlers: [
            ExpectContinueHandler(requiresCredentials: configuration.authentication == .tokens)
        ])
    )
    let server =
        try configuration.tls.map { try HTTPServerBuilder.tls(http1, tlsConfiguration: $0.serverConfiguration()) }
        ?? http1
    let service = try openRegistry(dataDirectory: configuration.dataDirectory)
    let authenticator = try await prepareAuthentication(configuration, store: service.metadata, logger: logger)
    let metrics = RegistryMetrics()
    let fleet = FleetService(
        store: service.metadata,
        signingKey: try loadFleetSigningKey(dataDirectory: configuration.dataDirectory, logger: logger),
        validity: configuration.desiredStateValidity,
        logger: logger
    )
    let router = buildRouter(service: service, metrics: metrics, authenticator: authenticator, fleet: fleet)
    return Application(
        router: router,
        server: server,
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "modelctl"
        ),
        onServerRunning: onServerRunning,
        eventLoopGroupProvider: .shared(IOThreads.group(threads: configuration.ioThreads)),
        logger: logger
    )
}

/// Opens (creating on first use) the metadata database and blob store under `dataDirectory`.
public func openRegistry(dataDirectory: URL) throws -> RegistryService {
    do {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    } catch {
        throw RegistryError(
            .unavailable,
            "cannot create the data directory \(dataDirectory.path): \(error.localizedDescription)"
        )
    }
    let database = try RegistryDatabase(path: dataDirectory.appending(path: "registry.sqlite").path)
    let blobs: FileBlobStore
    do {
        blobs = try FileBlobStore(root: dataDirectory)
    } catch {
        throw RegistryError(
            .unavailable,
            "cannot prepare the blob store in \(dataDirectory.path): \(error.localizedDescription)"
        )
    }
    return RegistryService(metadata: SQLiteMetadataStore(database: database), blobs: blobs)
}

/// The registry's routes and middleware, on top of an already opened service.
public func buildRouter(
    service: RegistryService,
    metrics: RegistryMetrics,
    authenticator: Authenticator,
    fleet: FleetService? = nil
) -> Router<RegistryRequestContext> {
    let fleet = fleet ?? FleetService(store: service.metadata, signingKey: .generate())
    let router = Router(context: RegistryRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMappingMiddleware())
    router.add(middleware: AuthMiddleware(authenticator: authenticator, store: service.metadata))
    SystemController(service: service, metrics: metrics).add(to: router)
    AuthController(store: service.metadata, authenticator: authenticator).add(to: router)
    router.addRoutes(ModelsController(service: service).endpoints, atPath: "/api/v1/models")
    router.addRoutes(VersionsController(service: service).endpoints, atPath: "/api/v1/models")
    let blobs = BlobsController(service: service)
    router.addRoutes(blobs.blobEndpoints, atPath: "/api/v1/blobs")
    router.addRoutes(blobs.uploadEndpoints, atPath: "/api/v1/uploads")
    AgentController(fleet: fleet, service: service, authenticator: authenticator).add(to: router)
    FleetController(fleet: fleet, authenticator: authenticator).add(to: router)
    let mlflow = MLflowService(registry: service)
    MLflowRegistryController(mlflow: mlflow).add(to: router)
    MLflowTrackingController(mlflow: mlflow).add(to: router)
    MLflowArtifactsController(mlflow: mlflow).add(to: router)
    return router
}

/// The registry's key for desired-state documents, `DATA_DIR/fleet-signing-key` (Ed25519, raw 32 bytes in base64,
/// mode 0600), created on first start. Agents receive its public part when they enroll and trust only it, so it
/// must survive restarts and be part of backups.
///
/// - Throws: ``RegistryError`` `unavailable` when the file cannot be read or written, or does not hold a key.
public func loadFleetSigningKey(dataDirectory: URL, logger: Logger) throws -> RegistrySigningKey {
    let file = dataDirectory.appending(path: "fleet-signing-key")
    if let data = FileManager.default.contents(atPath: file.path) {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text), raw.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else {
            throw RegistryError(
                .unavailable,
                "\(file.path) does not hold an Ed25519 private key (32 bytes in base64): restore it from a backup; a new key would make every enrolled agent refuse the registry's desired states"
            )
        }
        return RegistrySigningKey(privateKey: key)
    }
    let key = RegistrySigningKey.generate()
    do {
        try writeSecretFile(key.privateKey.rawRepresentation.base64EncodedString() + "\n", to: file)
    } catch {
        throw RegistryError(.unavailable, "cannot write the fleet signing key to \(file.path): \(error)")
    }
    logger.notice("created the fleet signing key", metadata: ["file": "\(file.path)", "key_id": "\(key.keyID)"])
    return key
}

/// The event loop groups of the process, one per thread count, created on first use and kept for the life of the
/// process (tests build many applications and reuse them; a serving daemon never shuts its group down).
enum IOThreads {
    static func group(threads: Int) -> MultiThreadedEventLoopGroup {
        if threads == System.coreCount { return .singleton }
        return groups.withLockedValue { groups in
            if let group = groups[threads] { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
            groups[threads] = group
            return group
        }
    }

    private static let groups = NIOLockedValueBox<[Int: MultiThreadedEventLoopGroup]>([:])
}
