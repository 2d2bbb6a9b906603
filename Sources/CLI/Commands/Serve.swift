import ArgumentParser
import CSystemShims
import Foundation
import Hummingbird
import Logging
import NIOCore
import Registry
import ServiceLifecycle
import UnixSignals

extension Modelctl {
    /// `modelctl serve`: runs the registry daemon until SIGINT or SIGTERM.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the registry daemon.",
            discussion: """
                Stores metadata in DATA_DIR/registry.sqlite and file contents under DATA_DIR/blobs, creating both \
                on first start. Stops gracefully on SIGINT or SIGTERM: requests in flight finish, nothing is left \
                half-written.
                """
        )

        @Option(
            name: .customLong("data-dir"),
            help: ArgumentHelp("Directory for the database and blobs.", valueName: "DIR")
        )
        var dataDirectory: String = "./modelctl-data"

        @Option(help: ArgumentHelp("Address to listen on.", valueName: "HOST:PORT"))
        var listen: String = "127.0.0.1:8080"

        @Option(
            help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL")
        )
        var logLevel: String = "info"

        @Option(help: ArgumentHelp("Event-loop threads for network I/O.", valueName: "N"))
        var ioThreads: Int = 1

        @Option(
            help: ArgumentHelp(
                "On SIGINT/SIGTERM, how long requests in flight may take to finish before they are cancelled.",
                valueName: "SECONDS"
            )
        )
        var shutdownTimeout: Int = 30

        @Option(
            help: ArgumentHelp(
                "Authentication: 'token' (bearer tokens, the default) or 'none' (everyone is an administrator; only on a loopback address, for throwaway local use).",
                valueName: "MODE"
            )
        )
        var auth: String = "token"

        @Option(
            name: .customLong("admin-token-file"),
            help: ArgumentHelp(
                "File holding an admin token (mctl_…, mode 0600), kept active at every start. Without it the first start writes a new one to DATA_DIR/admin-token.",
                valueName: "FILE"
            )
        )
        var adminTokenFile: String?

        @Option(
            name: .customLong("tls-cert"),
            help: ArgumentHelp(
                "Serve HTTPS with this PEM certificate chain (the server's certificate first); needs --tls-key.",
                valueName: "FILE"
            )
        )
        var tlsCertificate: String?

        @Option(
            name: .customLong("tls-key"),
            help: ArgumentHelp("The PEM private key of --tls-cert (not readable by others).", valueName: "FILE")
        )
        var tlsKey: String?

        func validate() throws {
            let host: String
            do {
                host = try RegistryConfiguration.parseListenAddress(listen).host
            } catch let error as RegistryError {
                throw ValidationError(error.message)
            }
            guard (tlsCertificate == nil) == (tlsKey == nil) else {
                throw ValidationError("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither")
            }
            guard auth == "token" || auth == "none" else {
                throw ValidationError("invalid authentication mode '\(auth)': expected 'token' or 'none'")
            }
            if auth == "none" {
                guard RegistryConfiguration.isLoopback(host) else {
                    throw ValidationError(
                        "--auth none is only accepted on a loopback address (127.0.0.1, ::1, localhost), not '\(host)': anyone who can reach the registry could push, promote and delete"
                    )
                }
                guard adminTokenFile == nil else {
                    throw ValidationError("--admin-token-file needs authentication on: drop --auth none")
                }
            }
            guard (1...64).contains(ioThreads) else {
                throw ValidationError("invalid number of I/O threads \(ioThreads): expected 1 to 64")
            }
            guard shutdownTimeout >= 0 else {
                throw ValidationError(
                    "invalid shutdown timeout \(shutdownTimeout): expected a number of seconds, 0 or more"
                )
            }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError(
                    "invalid log level '\(logLevel)': expected one of trace, debug, info, notice, warning, error, critical"
                )
            }
        }

        func run() async throws {
            let (host, port) = try RegistryConfiguration.parseListenAddress(listen)
            // Few malloc arenas: the daemon's threads share freed memory instead of each keeping its own.
            _ = shims_limit_malloc_arenas(2)
            // Up to 8 MiB of freed memory stays at the top of the heap. With glibc's default (128 KiB until a large
            // block is freed) every SQLite write transaction shrank the heap and grew it again, which cost 9 % of the
            // CPU of a version create (bench/mlflow-compat.sh) in brk calls and TLB shootdowns. Setting it switches
            // off glibc's adjustment of the mmap threshold too, so that is set as well: blocks under 4 MiB (the 1 MiB
            // buffers of blob transfers) come from the heap instead of an mmap and munmap each, which halved the
            // download rate (bench/blob-transfer.sh). Memory after large transfers is still given back explicitly
            // (MemoryRelease).
            _ = shims_set_malloc_thresholds(4 << 20, 8 << 20)
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "modelctl.registry")
            let dataDirectory = URL(fileURLWithPath: dataDirectory).standardizedFileURL
            // Held until this function returns: one daemon per data directory.
            let lock = try DataDirectoryLock(directory: dataDirectory)
            defer { withExtendedLifetime(lock) {} }
            let configuration = RegistryConfiguration(
                host: host,
                port: port,
                dataDirectory: dataDirectory,
                ioThreads: ioThreads,
                authentication: auth == "none" ? .none : .tokens,
                adminTokenFile: adminTokenFile.map { URL(fileURLWithPath: $0).standardizedFileURL },
                tls: tlsCertificate.flatMap { certificate in
                    tlsKey.map { key in
                        RegistryConfiguration.TLSFiles(
                            certificateChain: URL(fileURLWithPath: certificate).standardizedFileURL,
                            privateKey: URL(fileURLWithPath: key).standardizedFileURL
                        )
                    }
                }
            )
            let app = try await buildApplication(configuration: configuration, logger: logger) { channel in
                let bound = channel.localAddress?.port ?? port
                let shownHost = host.contains(":") ? "[\(host)]" : host
                let line =
                    "modelctl registry listening on \(configuration.tls == nil ? "http" : "https")://\(shownHost):\(bound) (data directory \(dataDirectory.path))\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
            // Requests in flight finish on SIGINT/SIGTERM; after the timeout they are cancelled, which removes any
            // partial upload (nothing half-written is ever exposed either way).
            var group = ServiceGroupConfiguration(
                services: [app],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            group.maximumGracefulShutdownDuration = .seconds(shutdownTimeout)
            try await ServiceGroup(configuration: group).run()
        }
    }
}
