import Agent
import AgentProtocol
import ArgumentParser
import Foundation
import Logging
import Packager
import UnixSignals

extension Modelctl.Agent {
    /// `modelctl agent enroll --registry URL --enrollment-token TOKEN --state-dir DIR [--name NAME] [--label K=V]…`.
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll this device: exchange a one-time enrollment token for its device token.",
            discussion: """
                Writes STATE/agent.json (registry, name, labels, the registry's key for desired states) and \
                STATE/token (mode 0600). The enrollment token's labels win over --label. Refuses a state \
                directory that already holds an agent.
                """
        )

        @Option(help: ArgumentHelp("The registry's URL.", valueName: "URL"))
        var registry: String

        @Option(help: ArgumentHelp("The one-time token from 'modelctl agent token create'.", valueName: "TOKEN"))
        var enrollmentToken: String

        @Option(help: ArgumentHelp("The agent's state directory.", valueName: "DIR"))
        var stateDir: String

        @Option(
            help: ArgumentHelp("The agent's name, unique in the registry (default: the host name).", valueName: "NAME")
        )
        var name: String?

        @Option(
            name: .customLong("label"),
            help: ArgumentHelp("A label to ask for; repeatable.", valueName: "KEY=VALUE")
        )
        var labels: [String] = []

        @Option(
            name: .customLong("ca-cert"),
            help: ArgumentHelp("PEM CA certificates for an https registry.", valueName: "FILE")
        )
        var caCertificate: String?

        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            _ = try AgentText.parseLabels(labels)
            _ = try AgentRunSupport.url(registry)
        }

        func run() async throws {
            try await withExitCodes {
                let identity = try await AgentRunSupport.enroll(
                    registry: registry,
                    enrollmentToken: enrollmentToken,
                    name: name,
                    labels: labels,
                    stateDirectory: stateDir,
                    caCertificate: caCertificate
                )
                if outputOptions.isJSON {
                    return try Terminal.printJSON(
                        ["agent": identity.agent, "registry": identity.registry.absoluteString, "state_dir": stateDir]
                    )
                }
                if !outputOptions.quiet {
                    Terminal.print(
                        "enrolled \(identity.agent) (labels \(AgentText.labels(identity.labels))); state in \(stateDir)"
                    )
                }
            }
        }
    }

    /// `modelctl agent run --state-dir DIR [--layout dir|triton|tfserving] …`.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow this agent's desired state: download, verify, install, health-check, switch, report.",
            discussion: """
                Runs until SIGINT or SIGTERM. With --enrollment-token and a state directory that holds no agent yet, \
                it enrolls first (with --name and --label). When the registry cannot be reached it keeps the \
                active versions running and retries with backoff. See docs/agent.md.
                """
        )

        @Option(help: ArgumentHelp("The agent's state directory.", valueName: "DIR"))
        var stateDir: String

        @Option(help: ArgumentHelp("The registry's URL (default: the one it enrolled with).", valueName: "URL"))
        var registry: String?

        @Option(help: ArgumentHelp("The device token (default: STATE/token).", valueName: "TOKEN"))
        var token: String?

        @Option(
            help: ArgumentHelp(
                "Enroll with this one-time token first if the state directory holds no agent.",
                valueName: "TOKEN"
            )
        )
        var enrollmentToken: String?

        @Option(help: ArgumentHelp("The name to enroll with (default: the host name).", valueName: "NAME"))
        var name: String?

        @Option(
            name: .customLong("label"),
            help: ArgumentHelp("A label to ask for when enrolling; repeatable.", valueName: "KEY=VALUE")
        )
        var labels: [String] = []

        @Option(help: ArgumentHelp("dir (default), triton or tfserving.", valueName: "LAYOUT"))
        var layout: String = "dir"

        @Option(help: ArgumentHelp("Where versions are installed (default: STATE/models).", valueName: "DIR"))
        var installDir: String?

        @Option(help: ArgumentHelp("Triton's HTTP URL, for the triton layout's load call.", valueName: "URL"))
        var tritonUrl: String?

        @Option(help: ArgumentHelp("A shell command run after each switch; failure switches back.", valueName: "CMD"))
        var reloadCmd: String?

        @Option(help: ArgumentHelp("Previously active versions kept per model (default 2).", valueName: "N"))
        var keep: Int = 2

        @Option(help: ArgumentHelp("Most bytes the blob cache may hold, such as 20G or 500M.", valueName: "SIZE"))
        var diskQuota: String?

        @Option(
            name: .customLong("trusted-key"),
            help: ArgumentHelp("A public key versions must be signed with; repeatable.", valueName: "PUB.pem")
        )
        var trustedKeys: [String] = []

        @Option(help: ArgumentHelp("Seconds the registry may hold a poll (1-30, default 30).", valueName: "SECONDS"))
        var pollWait: Int = 30

        @Option(
            name: .customLong("ca-cert"),
            help: ArgumentHelp("PEM CA certificates for an https registry.", valueName: "FILE")
        )
        var caCertificate: String?

        @Option(help: ArgumentHelp("trace, debug, info (default), notice, warning, error.", valueName: "LEVEL"))
        var logLevel: String = "info"

        func validate() throws {
            guard InstallLayout(rawValue: layout) != nil else {
                throw ValidationError("invalid --layout '\(layout)': expected dir, triton or tfserving")
            }
            if layout == "triton", tritonUrl == nil {
                throw ValidationError("--layout triton needs --triton-url URL (Triton's HTTP endpoint)")
            }
            if tritonUrl != nil, layout != "triton" { throw ValidationError("--triton-url goes with --layout triton") }
            if let tritonUrl { _ = try AgentRunSupport.url(tritonUrl) }
            if let registry { _ = try AgentRunSupport.url(registry) }
            guard (0...100).contains(keep) else { throw ValidationError("invalid --keep \(keep): expected 0 to 100") }
            guard (1...30).contains(pollWait) else {
                throw ValidationError("invalid --poll-wait \(pollWait): expected 1 to 30 seconds")
            }
            if let diskQuota { _ = try AgentRunSupport.bytes(diskQuota) }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError(
                    "invalid --log-level '\(logLevel)': expected trace, debug, info, notice, warning or error"
                )
            }
            _ = try AgentText.parseLabels(labels)
        }

        func run() async throws {
            try await withExitCodes {
                let level = Logger.Level(rawValue: logLevel) ?? .info
                LoggingSystem.bootstrap { label in
                    var handler = StreamLogHandler.standardError(label: label)
                    handler.logLevel = level
                    return handler
                }
                let logger = Logger(label: "modelctl.agent")
                let state = URL(fileURLWithPath: stateDir).standardizedFileURL
                if !FileManager.default.fileExists(atPath: state.appending(path: "agent.json").path) {
                    guard let enrollmentToken, let registry else {
                        throw CommandFailure(
                            "\(stateDir) holds no enrolled agent: run 'modelctl agent enroll' first, or pass --registry and --enrollment-token"
                        )
                    }
                    _ = try await AgentRunSupport.enroll(
                        registry: registry,
                        enrollmentToken: enrollmentToken,
                        name: name,
                        labels: labels,
                        stateDirectory: stateDir,
                        caCertificate: caCertificate
                    )
                }
                let keys = try trustedKeys.map { try TrustedPublicKey(contentsOf: URL(fileURLWithPath: $0)) }
                let agent = try DeploymentAgent(
                    configuration: AgentConfiguration(
                        stateDirectory: state,
                        registry: try registry.map(AgentRunSupport.url),
                        token: token,
                        layout: InstallLayout(rawValue: layout) ?? .dir,
                        installRoot: installDir.map { URL(fileURLWithPath: $0).standardizedFileURL },
                        tritonURL: try tritonUrl.map(AgentRunSupport.url),
                        reloadCommand: reloadCmd,
                        keepVersions: keep,
                        diskQuota: try diskQuota.map(AgentRunSupport.bytes),
                        trustedBundleKeys: keys,
                        pollWait: pollWait,
                        caCertificates: caCertificate.map { URL(fileURLWithPath: $0) }
                    ),
                    logger: logger
                )
                let runner = Task { await agent.run() }
                let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
                let stopper = Task {
                    for await signal in signals {
                        logger.notice("stopping", metadata: ["signal": "\(signal)"])
                        runner.cancel()
                        break
                    }
                }
                await runner.value
                stopper.cancel()
            }
        }
    }
}

/// Shared by `agent enroll` and `agent run`.
enum AgentRunSupport {
    static func url(_ text: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host != nil
        else { throw ValidationError("invalid URL '\(text)': expected http://HOST[:PORT] or https://…") }
        return url
    }

    /// `500M`, `20G`, `1T`, or a number of bytes.
    static func bytes(_ text: String) throws -> Int64 {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let value = Int64(text), value > 0 { return value }
        guard let unit = text.last.map({ Character($0.uppercased()) }), let factor = units[unit],
            let count = Int64(text.dropLast()), count > 0
        else { throw ValidationError("invalid size '\(text)': expected bytes or a number with K, M, G or T (20G)") }
        return count * factor
    }

    static func enroll(
        registry: String,
        enrollmentToken: String,
        name: String?,
        labels: [String],
        stateDirectory: String,
        caCertificate: String?
    ) async throws -> AgentIdentity {
        let hostName = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "agent"
        return try await Enrollment.enroll(
            registry: try url(registry),
            enrollmentToken: enrollmentToken,
            name: name ?? hostName,
            labels: try AgentText.parseLabels(labels),
            stateDirectory: URL(fileURLWithPath: stateDirectory).standardizedFileURL,
            caCertificates: caCertificate.map { URL(fileURLWithPath: $0) },
            logger: Logger(label: "modelctl.agent")
        )
    }
}
