import AgentProtocol
public import Foundation
public import Logging
public import Packager
import RegistryClient
import Synchronization

/// How `modelctl agent run` behaves.
public struct AgentConfiguration: Sendable {
    /// The state directory of an enrolled agent (``StateDirectory``).
    public var stateDirectory: URL
    /// Overrides the registry URL stored at enrollment.
    public var registry: URL?
    /// Overrides the device token stored at enrollment.
    public var token: String?
    public var layout: InstallLayout
    /// Where versions are installed; `STATE/models` by default.
    public var installRoot: URL?
    /// Triton's HTTP endpoint, for the `triton` layout's load call.
    public var tritonURL: URL?
    /// A shell command run after each switch (env `MODELCTL_MODEL`, `MODELCTL_VERSION`, `MODELCTL_MODEL_DIR`);
    /// when it fails the previous version is switched back.
    public var reloadCommand: String?
    /// Previously active versions kept per model besides the active one.
    public var keepVersions: Int
    /// Most bytes the blob cache and installed versions may use.
    public var diskQuota: Int64?
    /// Keys a version's bundle signature must verify with; empty: digests only (signed by the registry).
    public var trustedBundleKeys: [TrustedPublicKey]
    /// Seconds a poll is held by the registry.
    public var pollWait: Int
    /// Longest pause between attempts while the registry cannot be reached.
    public var maximumBackoff: Duration
    /// PEM CA certificates for an `https` registry with a private CA.
    public var caCertificates: URL?

    public init(
        stateDirectory: URL,
        registry: URL? = nil,
        token: String? = nil,
        layout: InstallLayout = .dir,
        installRoot: URL? = nil,
        tritonURL: URL? = nil,
        reloadCommand: String? = nil,
        keepVersions: Int = 2,
        diskQuota: Int64? = nil,
        trustedBundleKeys: [TrustedPublicKey] = [],
        pollWait: Int = 30,
        maximumBackoff: Duration = .seconds(60),
        caCertificates: URL? = nil
    ) {
        self.stateDirectory = stateDirectory
        self.registry = registry
        self.token = token
        self.layout = layout
        self.installRoot = installRoot
        self.tritonURL = tritonURL
        self.reloadCommand = reloadCommand
        self.keepVersions = keepVersions
        self.diskQuota = diskQuota
        self.trustedBundleKeys = trustedBundleKeys
        self.pollWait = pollWait
        self.maximumBackoff = maximumBackoff
        self.caCertificates = caCertificates
    }
}

/// What one poll did.
public enum SyncOutcome: Sendable, Equatable {
    /// The registry's desired state did not change within the wait.
    case unchanged
    /// A document was accepted (or the stored one re-applied) and applied: one result per deployment.
    case applied(generation: Int64, results: [String: InstallResult])
    /// A document was refused; nothing was installed.
    case refused(String)
}

/// What happened to one deployment of a document.
public enum InstallResult: Sendable, Equatable {
    /// The version was already active.
    case alreadyActive(version: Int)
    /// The version was installed and is now active.
    case installed(version: Int, bytesDownloaded: Int64)
    /// The install failed; the previous version stays active.
    case failed(version: Int, reason: String)
    /// The switch happened, then the reload failed: the previous version is active again.
    case rolledBack(version: Int, reason: String)
    /// Not attempted: it failed before in this rollout, or the document expired.
    case skipped(version: Int, reason: String)
}

/// The deployment agent: follows its desired state, installs, health-checks, switches, reports.
///
/// ```swift
/// let agent = try DeploymentAgent(configuration: configuration, logger: logger)
/// try await agent.run()          // until the task is cancelled
/// ```
///
/// Network errors never stop it: it waits (exponential backoff with full jitter, up to
/// ``AgentConfiguration/maximumBackoff``) and tries again, while the active versions keep serving.
public actor DeploymentAgent {
    public let configuration: AgentConfiguration
    public let identity: AgentIdentity
    let state: StateDirectory
    let client: RegistryClient
    let cache: BlobCache
    let installer: Installer
    let logger: Logger
    private var verifier: DesiredStateVerifier
    private var accepted: (envelope: SignedDesiredState, document: DesiredState, record: StateDirectory.Accepted)?
    private var failed: Set<String>
    private var reportedActive: Set<String> = []
    private var unsent: [String: AgentReport] = [:]
    private var needsApply = true

    /// Opens an enrolled state directory.
    ///
    /// - Throws: ``AgentError`` `configuration` when the directory holds no enrolled agent.
    public init(configuration: AgentConfiguration, logger: Logger) throws {
        let state = StateDirectory(configuration.stateDirectory)
        let identity = try state.identity()
        let token = try configuration.token ?? state.token()
        let cache = BlobCache(root: state.blobs)
        let installer = Installer(
            root: configuration.installRoot ?? state.defaultInstallRoot,
            layout: configuration.layout,
            cache: cache,
            tritonURL: configuration.tritonURL,
            keepVersions: configuration.keepVersions
        )
        installer.recover()
        if let (envelope, record) = state.accepted(),
            let document = try? envelope.verifiedPayload(trustedKeys: identity.registryKeys)
        {
            accepted = (envelope, document, record)
        }
        self.configuration = configuration
        self.logger = logger
        self.state = state
        self.identity = identity
        self.cache = cache
        self.installer = installer
        verifier = DesiredStateVerifier(trustedKeys: identity.registryKeys, agent: identity.agent)
        failed = state.failedInstalls()
        client = RegistryClient(
            configuration: RegistryClientConfiguration(
                baseURL: configuration.registry ?? identity.registry,
                token: token,
                userAgent: RegistryClientConfiguration.userAgent(version: "agent"),
                timeouts: .init(idleRead: .seconds(max(60, configuration.pollWait + 30))),
                retry: .init(maxAttempts: 3, baseDelay: .milliseconds(200), maxDelay: .seconds(2)),
                caCertificates: configuration.caCertificates
            ),
            logger: logger
        )
    }

    /// Closes the connection pool; call when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// The generation of the last accepted document.
    public var acceptedGeneration: Int64? { accepted?.record.generation }

    /// The active version of each installed model.
    public func activeVersions() -> [String: Int] {
        var result: [String: Int] = [:]
        for model in installer.models() { result[model] = installer.activeVersion(model) }
        return result
    }

    /// Polls and applies until the task is cancelled.
    public func run() async {
        var failures = 0
        logger.info(
            "agent started",
            metadata: ["agent": "\(identity.agent)", "registry": "\(configuration.registry ?? identity.registry)"]
        )
        while !Task.isCancelled {
            let problem: String
            do {
                // A refused document comes back at once on the next poll (the registry's tag differs from the
                // accepted one): back off as for an unreachable registry instead of polling in a tight loop.
                guard case .refused(let reason) = try await syncOnce() else {
                    failures = 0
                    continue
                }
                problem = "refused the registry's desired state: \(reason)"
            } catch is CancellationError {
                break
            } catch {
                problem = "registry unreachable or refusing: \(error)"
            }
            failures += 1
            let pause = Self.backoff(afterFailures: failures, cap: configuration.maximumBackoff)
            logger.warning(
                "\(problem); the active versions keep running",
                metadata: ["retry_in_s": "\(String(format: "%.1f", pause))"]
            )
            try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
        }
        await shutdown()
    }

    /// Seconds to wait after `failures` failures in a row: full jitter under 0.5 s × 2^failures, at most `cap`.
    static func backoff(afterFailures failures: Int, cap: Duration) -> Double {
        let ceiling = min(Double(cap.components.seconds), 0.5 * pow(2, Double(min(failures, 16))))
        return Double.random(in: 0...ceiling)
    }

    /// One poll (held up to `wait` seconds, ``AgentConfiguration/pollWait`` by default) and, when the desired state
    /// changed or an earlier apply did not finish, one apply.
    ///
    /// - Throws: ``RegistryClientError`` when the registry cannot be reached (the caller backs off).
    public func syncOnce(wait: Int? = nil) async throws -> SyncOutcome {
        try await sendUnsentReports()
        var tag = accepted?.record.etag
        if let document = accepted?.document {
            let life = document.expiresAt.timeIntervalSince(document.issuedAt)
            if document.expiresAt.timeIntervalSinceNow < life / 2 { tag = nil }
        }
        let answer = try await client.desiredState(
            ifNoneMatch: needsApply ? nil : tag,
            wait: needsApply ? 0 : (wait ?? configuration.pollWait)
        )
        switch answer {
        case .unchanged:
            return .unchanged
        case .document(let envelope, let etag):
            return try await consider(envelope, etag: etag)
        }
    }

    /// Verifies a document (signature, agent, expiry, generation), stores it as accepted and applies it; a refused
    /// document changes nothing.
    func consider(_ envelope: SignedDesiredState, etag: String) async throws -> SyncOutcome {
        let document: DesiredState
        do {
            document = try verifier.verify(envelope, acceptedGeneration: accepted?.record.generation)
        } catch {
            logger.error("refused a desired state", metadata: ["reason": "\(error.description)"])
            needsApply = false
            return .refused(error.description)
        }
        let record = StateDirectory.Accepted(generation: document.generation, etag: etag)
        try state.saveAccepted(envelope, record)
        accepted = (envelope, document, record)
        let results = try await apply(document)
        return .applied(generation: document.generation, results: results)
    }

    /// Applies a verified document: every deployment in turn.
    func apply(_ document: DesiredState) async throws -> [String: InstallResult] {
        var results: [String: InstallResult] = [:]
        var transient: (any Error)?
        for deployment in document.deployments {
            do {
                results[deployment.model] = try await apply(deployment, expired: document.expiresAt <= Date())
            } catch let error as RegistryClientError where error.code == .unreachable || error.code == .server {
                transient = error
            }
        }
        collectGarbage(keeping: document)
        needsApply = transient != nil
        if let transient { throw transient }
        return results
    }

    private static func key(_ deployment: DesiredDeployment) -> String {
        "\(deployment.deployment)/\(deployment.rollout)/\(deployment.version)"
    }

    private func apply(_ deployment: DesiredDeployment, expired: Bool) async throws -> InstallResult {
        let key = Self.key(deployment)
        if let active = installer.active(deployment.model), active.version == deployment.version,
            active.manifestDigest == deployment.manifestDigest
        {
            if !reportedActive.contains(key) {
                await report(deployment, .active, activeVersion: active.version)
                reportedActive.insert(key)
            }
            return .alreadyActive(version: deployment.version)
        }
        if failed.contains(key) {
            return .skipped(version: deployment.version, reason: "its install failed before in this rollout")
        }
        if expired {
            return .skipped(version: deployment.version, reason: "the desired state has expired")
        }
        let previous = installer.activeVersion(deployment.model)
        do {
            try DeploymentCheck.validate(deployment)
            let downloaded = try await download(deployment, previous: previous)
            try Files.createDirectory(installer.root)
            await report(deployment, .installing, activeVersion: previous)
            let directory = try installer.stage(deployment)
            await report(deployment, .verifying, activeVersion: previous)
            try verifySignature(deployment, in: directory)
            if let check = deployment.healthCheck {
                await report(deployment, .healthChecking, activeVersion: previous)
                let outcome = try await CommandRunner.run(
                    check.command,
                    in: directory,
                    environment: environment(deployment, directory),
                    timeout: .seconds(check.timeoutSeconds)
                )
                guard outcome.succeeded else {
                    throw AgentError(.healthCheck, outcome.failure("the health check", timeout: check.timeoutSeconds))
                }
            }
            let configuration =
                deployment.files.contains { $0.path == "config.pbtxt" }
                ? try? String(contentsOf: directory.appending(path: "config.pbtxt"), encoding: .utf8) : nil
            try await installer.activate(deployment.model, deployment.version, configurationText: configuration)
            if let reload = self.configuration.reloadCommand {
                let active = installer.versionDirectory(deployment.model, deployment.version)
                let outcome = try await CommandRunner.run(
                    reload,
                    in: active,
                    environment: environment(deployment, active),
                    timeout: .seconds(300)
                )
                if !outcome.succeeded {
                    let reason = outcome.failure("the reload command", timeout: 300)
                    if let previous, installer.record(deployment.model, previous) != nil {
                        try await installer.activate(deployment.model, previous, configurationText: nil)
                    }
                    try markFailed(key)
                    await report(
                        deployment,
                        .rolledBack,
                        error: reason,
                        activeVersion: installer.activeVersion(deployment.model)
                    )
                    logger.error("rolled back", metadata: ["model": "\(deployment.model)", "reason": "\(reason)"])
                    return .rolledBack(version: deployment.version, reason: reason)
                }
            }
            installer.collect(deployment.model)
            reportedActive.insert(key)
            await report(deployment, .active, activeVersion: deployment.version)
            logger.notice(
                "installed",
                metadata: [
                    "model": "\(deployment.model)", "version": "\(deployment.version)", "downloaded": "\(downloaded)",
                ]
            )
            return .installed(version: deployment.version, bytesDownloaded: downloaded)
        } catch let error as AgentError {
            try markFailed(key)
            await report(
                deployment,
                .failed,
                error: error.message,
                activeVersion: installer.activeVersion(deployment.model)
            )
            logger.error("install failed", metadata: ["model": "\(deployment.model)", "reason": "\(error.message)"])
            return .failed(version: deployment.version, reason: error.message)
        }
    }

    /// Downloads the blobs the cache lacks, after checking that they fit.
    private func download(_ deployment: DesiredDeployment, previous: Int?) async throws -> Int64 {
        let missing = cache.missing(deployment.files)
        let total = missing.reduce(Int64(0)) { $0 + $1.size }
        let present = missing.reduce(Int64(0)) { $0 + cache.partialBytes($1) }
        try checkSpace(needed: total - present)
        var done = present
        var received: Int64 = 0
        await report(deployment, .downloading, bytesDone: done, bytesTotal: total, activeVersion: previous)
        for file in missing {
            let base = done - cache.partialBytes(file)
            let progress = ProgressBox()
            progress.set(base + cache.partialBytes(file))
            // The blob streams in a child task; this one reports how far it got once a second.
            received += try await withThrowingTaskGroup(of: Int64?.self) { group in
                group.addTask {
                    try await self.cache.fetch(file, client: self.client) { completed, _ in
                        progress.set(base + completed)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(1))
                        await self.report(
                            deployment,
                            .downloading,
                            bytesDone: progress.bytes,
                            bytesTotal: total,
                            activeVersion: previous
                        )
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let bytes = result { return bytes }
                }
                return 0
            }
            done = base + file.size
        }
        if !missing.isEmpty {
            await report(deployment, .downloading, bytesDone: total, bytesTotal: total, activeVersion: previous)
        }
        return received
    }

    private func checkSpace(needed: Int64) throws {
        guard needed > 0 else { return }
        try Files.createDirectory(state.root)
        if let free = Files.freeBytes(at: state.root), free < needed {
            throw AgentError(
                .diskSpace,
                "not enough disk space: the download needs \(needed) bytes, \(free) are free in \(state.root.path)"
            )
        }
        if let quota = configuration.diskQuota {
            let used = cache.usedBytes
            if used + needed > quota {
                throw AgentError(
                    .diskSpace,
                    "the download needs \(needed) bytes; with the \(used) bytes cached that exceeds --disk-quota \(quota)"
                )
            }
        }
    }

    private func verifySignature(_ deployment: DesiredDeployment, in directory: URL) throws {
        guard !configuration.trustedBundleKeys.isEmpty else { return }
        let known = ModelManifest(
            resources: deployment.files.compactMap {
                ModelManifest.Resource(name: $0.path, hexDigest: String($0.digest.dropFirst(7)))
            }
        )
        let result: BundleVerification
        do {
            result = try BundleVerifier(trustedKeys: configuration.trustedBundleKeys).verify(
                directory: directory,
                knownDigests: known
            )
        } catch let error as PackagerError {
            throw AgentError(
                .verification,
                "verification of \(deployment.model):\(deployment.version) failed: \(error.message)"
            )
        }
        switch result.signature {
        case .valid: return
        case .unsigned, nil:
            throw AgentError(
                .verification,
                "\(deployment.model):\(deployment.version) is not signed, and this agent only installs versions signed by its trusted keys"
            )
        case .untrustedKey:
            throw AgentError(
                .verification,
                "the signature of \(deployment.model):\(deployment.version) does not verify with the trusted keys"
            )
        case .tampered(let changed, let added, let missing):
            throw AgentError(
                .verification,
                "the files of \(deployment.model):\(deployment.version) differ from what was signed (changed: \(changed), unsigned: \(added), missing: \(missing))"
            )
        }
    }

    private func environment(_ deployment: DesiredDeployment, _ directory: URL) -> [String: String] {
        [
            "MODELCTL_MODEL": deployment.model,
            "MODELCTL_VERSION": String(deployment.version),
            "MODELCTL_MODEL_DIR": directory.path,
        ]
    }

    private func markFailed(_ key: String) throws {
        failed.insert(key)
        try state.saveFailedInstalls(failed)
    }

    /// Keeps the blobs of every kept version and of the document's versions.
    private func collectGarbage(keeping document: DesiredState) {
        var keep: Set<String> = []
        for model in installer.models() { keep.formUnion(installer.collect(model)) }
        for deployment in document.deployments { keep.formUnion(deployment.files.map(\.digest)) }
        cache.collect(keeping: keep)
    }

    // MARK: Reports

    private func report(
        _ deployment: DesiredDeployment,
        _ step: AgentStep,
        bytesDone: Int64? = nil,
        bytesTotal: Int64? = nil,
        error: String? = nil,
        activeVersion: Int?
    ) async {
        let report = AgentReport(
            deployment: deployment.deployment,
            rollout: deployment.rollout,
            model: deployment.model,
            version: deployment.version,
            step: step,
            bytesDone: bytesDone,
            bytesTotal: bytesTotal,
            error: error.map { String($0.prefix(4000)) },
            activeVersion: activeVersion
        )
        do {
            try await client.report(report)
            unsent[deployment.deployment] = nil
        } catch {
            // Kept (the latest per deployment) and sent before the next poll; the install goes on.
            unsent[deployment.deployment] = report
            logger.warning("could not send a report", metadata: ["step": "\(step.rawValue)", "error": "\(error)"])
        }
    }

    private func sendUnsentReports() async throws {
        for (deployment, report) in unsent.sorted(by: { $0.key < $1.key }) {
            do {
                try await client.report(report)
                unsent[deployment] = nil
            } catch let error as RegistryClientError where error.code == .notFound || error.code == .invalidArgument {
                unsent[deployment] = nil
            }
        }
    }
}

/// Checks a desired deployment's names before any of them becomes a path.
enum DeploymentCheck {
    static func validate(_ deployment: DesiredDeployment) throws {
        let model = deployment.model
        guard BundlePath.problem(with: model) == nil, !model.contains("/"), !model.hasPrefix(".") else {
            throw AgentError(.verification, "the model name '\(model)' cannot be a directory name")
        }
        guard deployment.version > 0 else { throw AgentError(.verification, "invalid version \(deployment.version)") }
        for file in deployment.files {
            if let problem = BundlePath.problem(with: file.path) {
                throw AgentError(.verification, "refusing the file path '\(file.path)': \(problem)")
            }
            guard file.path.split(separator: "/").first.map({ !$0.hasPrefix(".modelctl") }) ?? false else {
                throw AgentError(.verification, "refusing the file path '\(file.path)': reserved name")
            }
            let hex = file.digest.dropFirst(7)
            guard file.digest.hasPrefix("sha256:"), hex.count == 64,
                hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }), file.size >= 0
            else { throw AgentError(.verification, "invalid digest '\(file.digest)' for '\(file.path)'") }
        }
        guard ManifestDigest.of(deployment.files) == deployment.manifestDigest else {
            throw AgentError(.verification, "the manifest digest does not match the listed files")
        }
    }
}

/// The latest progress of a download, written from the transfer's callback.
final class ProgressBox: Sendable {
    private let value = Mutex<Int64>(0)
    func set(_ bytes: Int64) { value.withLock { $0 = bytes } }
    var bytes: Int64 { value.withLock { $0 } }
}
