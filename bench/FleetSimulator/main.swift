// The fleet simulator of bench/fleet.sh: many simulated agents in one process against one daemon.
//
// Every simulated agent enrolls with its own one-time enrollment token, long-polls its desired state with
// If-None-Match, verifies each document exactly as `modelctl agent run` does (signature with the key it got at
// enrollment, its own name, expiry, generation never going down), downloads the blobs it does not have yet through
// the agent blob route (each agent fetches its own copy, as real devices do; verified by SHA-256), and reports
// `downloading` then `active`. The daemon's CPU and memory are read from /proc/PID of the daemon.
//
// Usage: FleetSimulator --registry URL --admin-token-file FILE --daemon-pid PID --out RESULTS.json
//            [--agents 1000] [--more-agents 10000] [--idle-seconds 30] [--promotions 3] [--work DIR]

import AgentProtocol
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import RegistryClient
import Synchronization

struct Options {
    var registry = URL(string: "http://127.0.0.1:8080")!
    var adminToken = ""
    var daemonPID: Int32 = 0
    var out = "fleet.json"
    var agents = 1000
    var moreAgents = 10_000
    var idleSeconds = 30
    var promotions = 3
    var work = FileManager.default.temporaryDirectory.appending(path: "fleet-simulator")

    init(_ arguments: [String]) throws {
        var index = 1
        func value() throws -> String {
            index += 1
            guard index < arguments.count else { throw SimulatorError("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--registry": registry = URL(string: try value())!
            case "--admin-token-file":
                adminToken = try String(contentsOfFile: try value(), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            case "--daemon-pid": daemonPID = Int32(try value()) ?? 0
            case "--out": out = try value()
            case "--agents": agents = Int(try value()) ?? agents
            case "--more-agents": moreAgents = Int(try value()) ?? moreAgents
            case "--idle-seconds": idleSeconds = Int(try value()) ?? idleSeconds
            case "--promotions": promotions = Int(try value()) ?? promotions
            case "--work": work = URL(fileURLWithPath: try value())
            default: throw SimulatorError("unknown option \(arguments[index])")
            }
            index += 1
        }
        guard !adminToken.isEmpty, daemonPID > 0 else {
            throw SimulatorError("--admin-token-file and --daemon-pid are required")
        }
    }
}

struct SimulatorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func log(_ text: String) {
    let time = Date().formatted(.iso8601.time(includingFractionalSeconds: false))
    FileHandle.standardError.write(Data("[\(time)] \(text)\n".utf8))
}

// MARK: /proc

/// CPU seconds (user + system) and resident memory of a process.
struct ProcessSample {
    var cpuSeconds: Double
    var rssMiB: Double

    static func of(_ pid: Int32) -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var rss = 0.0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        {
            rss = (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
        return ProcessSample(cpuSeconds: (user + system) / ticks, rssMiB: rss)
    }
}

/// CPU use of the daemon and of this process over `seconds` of idling.
func measureIdle(daemon: Int32, seconds: Int) async throws -> [String: Double] {
    let own = getpid()
    guard let daemonStart = ProcessSample.of(daemon), let ownStart = ProcessSample.of(own) else {
        throw SimulatorError("cannot read /proc/\(daemon)")
    }
    let started = ContinuousClock.now
    try await Task.sleep(for: .seconds(seconds))
    let elapsed = ContinuousClock.now - started
    let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    guard let daemonEnd = ProcessSample.of(daemon), let ownEnd = ProcessSample.of(own) else {
        throw SimulatorError("cannot read /proc/\(daemon)")
    }
    return [
        "daemon_cpu_percent": (daemonEnd.cpuSeconds - daemonStart.cpuSeconds) / wall * 100,
        "daemon_rss_mib": daemonEnd.rssMiB,
        "simulator_cpu_percent": (ownEnd.cpuSeconds - ownStart.cpuSeconds) / wall * 100,
        "simulator_rss_mib": ownEnd.rssMiB,
        "seconds": wall,
    ]
}

// MARK: Simulated agents

/// What the simulated agents report, shared with the driver.
final class Board: Sendable {
    struct State {
        var active: [String: Int] = [:]
        var activeAt: [String: ContinuousClock.Instant] = [:]
        var refused = 0
        var errors = 0
        var downloadedBytes: Int64 = 0
    }
    let state = Mutex(State())

    func count(activeOn version: Int) -> Int { state.withLock { $0.active.values.filter { $0 == version }.count } }
}

struct SimulatedAgent: Sendable {
    let name: String
    let client: RegistryClient
    let verifier: DesiredStateVerifier
    let directory: URL
    let board: Board

    func run() async {
        var etag: String?
        var generation: Int64?
        var installed: [String: (version: Int, digest: String)] = [:]
        var have: Set<String> = []
        var failures = 0
        while !Task.isCancelled {
            do {
                let answer = try await client.desiredState(ifNoneMatch: etag, wait: 30)
                failures = 0
                guard case .document(let envelope, let tag) = answer else { continue }
                let document: DesiredState
                do {
                    document = try verifier.verify(envelope, acceptedGeneration: generation)
                } catch {
                    board.state.withLock { $0.refused += 1 }
                    continue
                }
                etag = tag
                generation = document.generation
                for deployment in document.deployments
                where installed[deployment.model]?.digest != deployment.manifestDigest {
                    let missing = deployment.files.filter { !have.contains($0.digest) }
                    let total = missing.reduce(Int64(0)) { $0 + $1.size }
                    try await client.report(
                        AgentReport(
                            deployment: deployment.deployment,
                            rollout: deployment.rollout,
                            model: deployment.model,
                            version: deployment.version,
                            step: .downloading,
                            bytesDone: 0,
                            bytesTotal: total,
                            activeVersion: installed[deployment.model]?.version
                        )
                    )
                    for file in missing {
                        let target = directory.appending(path: String(file.digest.dropFirst(7)))
                        let result = try await client.downloadAgentBlob(digest: file.digest, to: target, resume: true)
                        try? FileManager.default.removeItem(at: target)
                        have.insert(file.digest)
                        board.state.withLock { $0.downloadedBytes += result.bytesReceived }
                    }
                    try await client.report(
                        AgentReport(
                            deployment: deployment.deployment,
                            rollout: deployment.rollout,
                            model: deployment.model,
                            version: deployment.version,
                            step: .active,
                            activeVersion: deployment.version
                        )
                    )
                    installed[deployment.model] = (deployment.version, deployment.manifestDigest)
                    let now = ContinuousClock.now
                    board.state.withLock {
                        $0.active[name] = deployment.version
                        $0.activeAt[name] = now
                    }
                }
            } catch {
                failures += 1
                board.state.withLock { $0.errors += 1 }
                if failures <= 3 { log("agent \(name): \(error)") }
                try? await Task.sleep(for: .milliseconds(Int.random(in: 100...(200 * min(failures, 20)))))
            }
        }
    }
}

// MARK: Driver

@main
struct FleetSimulator {
    static func main() async {
        do {
            try await run(try Options(CommandLine.arguments))
        } catch {
            log("error: \(error)")
            exit(1)
        }
    }

    static func run(_ options: Options) async throws {
        try FileManager.default.createDirectory(at: options.work, withIntermediateDirectories: true)
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(90))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120),
            concurrentHTTP1ConnectionsPerHostSoftLimit: options.agents + options.moreAgents + 64
        )
        let http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        let silent = Logger(label: "fleet") { _ in SwiftLogNoOpLogHandler() }
        func client(token: String?) -> RegistryClient {
            RegistryClient(
                configuration: RegistryClientConfiguration(
                    baseURL: options.registry,
                    token: token,
                    userAgent: "modelctl-fleet-simulator",
                    timeouts: .init(request: .seconds(60), idleRead: .seconds(90)),
                    retry: .init(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
                ),
                httpClient: http,
                logger: silent
            )
        }
        let admin = client(token: options.adminToken)
        var results: [String: Any] = [:]

        // A small model: two files; v2 changes one of them.
        let v1 = try await push(admin, work: options.work, seed: 1)
        let v2 = try await push(admin, work: options.work, seed: 2)
        _ = try await admin.setAlias(model: "bench-detector", alias: "prod", version: v1)
        _ = try await admin.createDeployment(
            CreateDeploymentRequest(name: "bench", model: "bench-detector", selectorKind: "alias", selector: "prod")
        )

        log("baseline: the daemon idle with 0 agents for \(options.idleSeconds) s")
        results["idle_0"] = try await measureIdle(daemon: options.daemonPID, seconds: options.idleSeconds)

        let board = Board()
        var tasks: [Task<Void, Never>] = []
        var enrolledCount = 0
        func grow(to count: Int) async throws -> Double {
            let started = ContinuousClock.now
            let names = (enrolledCount..<count).map { String(format: "sim-%05d", $0) }
            var agents: [SimulatedAgent] = []
            for batch in stride(from: 0, to: names.count, by: 50) {
                let slice = names[batch..<min(batch + 50, names.count)]
                let enrolled = try await withThrowingTaskGroup(of: SimulatedAgent.self) { group in
                    for name in slice {
                        group.addTask {
                            let token = try await admin.createEnrollmentToken(CreateEnrollmentTokenRequest())
                            let response = try await client(token: nil).enroll(
                                EnrollmentRequest(enrollmentToken: token.token ?? "", name: name, labels: [:])
                            )
                            let directory = options.work.appending(path: name)
                            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                            return SimulatedAgent(
                                name: name,
                                client: client(token: response.token),
                                verifier: DesiredStateVerifier(trustedKeys: [response.registryKey], agent: name),
                                directory: directory,
                                board: board
                            )
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                agents += enrolled
            }
            enrolledCount = count
            let elapsed = ContinuousClock.now - started
            for agent in agents { tasks.append(Task { await agent.run() }) }
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }

        func waitFor(_ version: Int, count: Int, timeout: Duration) async throws {
            let deadline = ContinuousClock.now + timeout
            while board.count(activeOn: version) < count {
                guard ContinuousClock.now < deadline else {
                    throw SimulatorError(
                        "only \(board.count(activeOn: version)) of \(count) agents reported version \(version) active"
                    )
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        log("enrolling \(options.agents) agents")
        let enrollSeconds = try await grow(to: options.agents)
        try await waitFor(v1, count: options.agents, timeout: .seconds(300))
        log("\(options.agents) agents enrolled in \(String(format: "%.1f", enrollSeconds)) s and run v1")
        results["enroll_seconds_\(options.agents)"] = enrollSeconds

        log("idle: \(options.agents) agents long-polling for \(options.idleSeconds) s")
        results["idle_\(options.agents)"] = try await measureIdle(
            daemon: options.daemonPID,
            seconds: options.idleSeconds
        )

        var convergence: [[String: Double]] = []
        var version = v1
        for round in 1...max(1, options.promotions) {
            version = version == v1 ? v2 : v1
            let before = board.state.withLock { $0.downloadedBytes }
            let daemonBefore = ProcessSample.of(options.daemonPID)
            let started = ContinuousClock.now
            _ = try await admin.setAlias(model: "bench-detector", alias: "prod", version: version)
            let acknowledged = ContinuousClock.now - started
            try await waitFor(version, count: options.agents, timeout: .seconds(120))
            let last = board.state.withLock { state in state.activeAt.values.max() } ?? ContinuousClock.now
            let total = last - started
            let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
            let info = try await admin.deployment(named: "bench")
            let daemonAfter = ProcessSample.of(options.daemonPID)
            let bytes = board.state.withLock { $0.downloadedBytes } - before
            log(
                "promotion \(round) to v\(version): all \(options.agents) agents active after \(String(format: "%.2f", seconds)) s (registry says \(info.progress.active) active); \(bytes) bytes downloaded"
            )
            guard info.progress.active == options.agents else {
                throw SimulatorError("the registry counts \(info.progress.active) active agents, not \(options.agents)")
            }
            convergence.append([
                "seconds": seconds,
                "promote_request_seconds": Double(acknowledged.components.attoseconds) / 1e18
                    + Double(acknowledged.components.seconds),
                "bytes_downloaded": Double(bytes),
                "daemon_cpu_seconds": (daemonAfter?.cpuSeconds ?? 0) - (daemonBefore?.cpuSeconds ?? 0),
            ])
            try await Task.sleep(for: .seconds(2))
        }
        results["convergence_\(options.agents)"] = convergence

        if options.moreAgents > options.agents {
            log("enrolling up to \(options.moreAgents) agents")
            let seconds = try await grow(to: options.moreAgents)
            try await waitFor(version, count: options.moreAgents, timeout: .seconds(900))
            results["enroll_seconds_\(options.moreAgents)"] = seconds
            log("idle: \(options.moreAgents) agents long-polling for \(options.idleSeconds) s")
            results["idle_\(options.moreAgents)"] = try await measureIdle(
                daemon: options.daemonPID,
                seconds: options.idleSeconds
            )
        }
        let summary = board.state.withLock { state in (state.refused, state.errors) }
        results["refused_documents"] = summary.0
        results["agent_errors"] = summary.1
        results["versions"] = [v1, v2]
        let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: options.out))
        for task in tasks { task.cancel() }
        log("done: results in \(options.out)")
        exit(0)
    }

    /// Pushes a version of `bench-detector` with two files of about 50 KB; `seed` changes the first one only.
    static func push(_ client: RegistryClient, work: URL, seed: UInt8) async throws -> Int {
        let files: [(String, [UInt8])] = [
            ("model.onnx", (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }),
            ("labels.txt", Array(String(repeating: "class\n", count: 6000).utf8)),
        ]
        var remote: [RemoteFile] = []
        for (path, bytes) in files {
            let url = work.appending(path: "push-\(path)")
            try Data(bytes).write(to: url)
            let digest = "sha256:" + sha256Hex(bytes)
            _ = try await client.uploadBlob(digest: digest, from: url)
            remote.append(RemoteFile(path: path, size: Int64(bytes.count), digest: digest))
        }
        if (try? await client.model(named: "bench-detector")) == nil {
            _ = try await client.createModel(name: "bench-detector")
        }
        let created = try await client.createVersion(
            model: "bench-detector",
            NewRemoteVersion(files: remote, format: "custom")
        )
        return try await client.commitVersion(model: "bench-detector", version: created.version).version
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
}
