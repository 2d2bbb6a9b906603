import AgentProtocol
import Foundation
import RegistryClient
import TestSupport
import Testing

@testable import Agent

/// The real daemon and several real `modelctl agent run` processes on loopback.
@Suite(.serialized) struct AgentProcessTests {
    static func files(_ seed: UInt8, changed: Set<String> = []) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for (index, name) in ["model.onnx", "weights.bin", "labels.txt", "config.json", "preprocessing.json"]
            .enumerated()
        {
            files[name] = bytes(20_000 + index * 1000, seed: changed.contains(name) ? seed : 1)
        }
        return files
    }

    static func deploy(
        _ fleet: Fleet,
        _ name: String,
        alias: String,
        target: String = "",
        strategy: String? = nil,
        percent: Int? = nil,
        health: HealthCheck? = nil,
        threshold: Int? = nil
    ) async throws {
        _ = try await fleet.admin { client in
            try await client.createDeployment(
                CreateDeploymentRequest(
                    name: name,
                    model: "detector",
                    selectorKind: "alias",
                    selector: alias,
                    target: target,
                    strategy: strategy,
                    percent: percent,
                    healthCheck: health,
                    failureThreshold: threshold
                )
            )
        }
    }

    static func promote(_ fleet: Fleet, alias: String, _ version: Int) async throws {
        _ = try await fleet.admin { try await $0.setAlias(model: "detector", alias: alias, version: version) }
    }

    // MARK: Convergence and delta sync

    @Test func aPromotionReachesEveryTargetedAgentAndOnlyTheChangedFileIsDownloaded() async throws {
        try await Fleet.run { fleet in
            let v1Files = Self.files(1)
            let v2Files = Self.files(2, changed: ["weights.bin"])
            let v1 = try await fleet.push("detector", v1Files)
            try await Self.promote(fleet, alias: "prod", v1)
            try await Self.deploy(fleet, "plant-3", alias: "prod", target: "site=plant-3")
            var states: [URL] = []
            for index in 0..<3 { states.append(try await fleet.enroll("cam-\(index)", labels: ["site": "plant-3"])) }
            let outsider = try await fleet.enroll("cam-x", labels: ["site": "plant-4"])
            let agents = try (states + [outsider]).map { try AgentProcess(stateDirectory: $0) }
            defer { for agent in agents { agent.stop() } }

            try await fleet.waitUntil("every plant-3 agent runs v1") {
                states.allSatisfy { currentFiles($0, model: "detector")?.files == v1Files }
            }
            let v2 = try await fleet.push("detector", v2Files)
            let promoted = ContinuousClock.now
            try await Self.promote(fleet, alias: "prod", v2)
            try await fleet.waitUntil("every plant-3 agent runs v2") {
                states.allSatisfy { currentFiles($0, model: "detector")?.files == v2Files }
            }
            let converged = ContinuousClock.now - promoted
            #expect(converged < .seconds(10), "took \(converged)")
            #expect(currentFiles(outsider, model: "detector") == nil)
            try await fleet.waitUntil("the registry shows them active on v2") {
                let info = try await fleet.admin { try await $0.deployment(named: "plant-3") }
                return info.progress.active == 3 && info.progress.targeted == 3
            }
            // Each agent fetched v2's one changed file only (the client counts bytes off the wire).
            let changed = v2Files["weights.bin"]!.count
            for agent in agents.prefix(3) {
                let line = agent.log.split(separator: "\n").last {
                    $0.contains("installed") && $0.contains("version=\(v2)")
                }
                #expect(line?.contains("downloaded=\(changed)") == true, "log: \(agent.log)")
            }
            let fleetView = try await fleet.fleet("plant-3")
            #expect(fleetView.agents.map(\.name).sorted() == ["cam-0", "cam-1", "cam-2"])
            for agent in fleetView.agents {
                #expect(
                    agent.deployments.first?.installedVersion == v2 && agent.deployments.first?.desiredVersion == v2
                )
                #expect(agent.lastSeen != nil)
            }
        }
    }

    @Test func aCanaryUpdatesOnlyItsHashedShareAndWideningKeepsIt() async throws {
        try await Fleet.run { fleet in
            let v1Files = Self.files(1)
            let v2Files = Self.files(3, changed: ["model.onnx"])
            let v1 = try await fleet.push("detector", v1Files)
            try await Self.promote(fleet, alias: "prod", v1)
            try await Self.deploy(fleet, "canary", alias: "prod", strategy: "canary", percent: 100)
            let names = (0..<4).map { "line-\($0)" }
            var states: [String: URL] = [:]
            for name in names { states[name] = try await fleet.enroll(name) }
            let agents = try names.map { try AgentProcess(stateDirectory: states[$0]!) }
            defer { for agent in agents { agent.stop() } }
            try await fleet.waitUntil("all run v1") {
                states.values.allSatisfy { currentFiles($0, model: "detector")?.version == v1 }
            }
            _ = try await fleet.admin {
                try await $0.changeDeployment(named: "canary", DeploymentChangeRequest(percent: 25))
            }
            let v2 = try await fleet.push("detector", v2Files)
            try await Self.promote(fleet, alias: "prod", v2)
            let ranked = Rendezvous.ranked(names, deployment: "canary")
            try await fleet.waitUntil("the canary agent runs v2") {
                currentFiles(states[ranked[0]]!, model: "detector")?.files == v2Files
            }
            try await Task.sleep(for: .seconds(2))
            for name in ranked.dropFirst() { #expect(currentFiles(states[name]!, model: "detector")?.version == v1) }

            _ = try await fleet.admin {
                try await $0.changeDeployment(named: "canary", DeploymentChangeRequest(percent: 50))
            }
            try await fleet.waitUntil("the widened canary runs v2") {
                ranked.prefix(2).allSatisfy { currentFiles(states[$0]!, model: "detector")?.version == v2 }
            }
            try await Task.sleep(for: .seconds(2))
            for name in ranked.dropFirst(2) { #expect(currentFiles(states[name]!, model: "detector")?.version == v1) }
        }
    }

    // MARK: Failures

    @Test func aFailingHealthCheckRollsThatAgentBackReportsWhyAndHaltsTheRollout() async throws {
        try await Fleet.run { fleet in
            let v1Files = Self.files(1)
            let v2Files = Self.files(4, changed: ["model.onnx"])
            let v1 = try await fleet.push("detector", v1Files)
            try await Self.promote(fleet, alias: "prod", v1)
            try await Self.deploy(
                fleet,
                "line",
                alias: "prod",
                health: HealthCheck(
                    command:
                        "test \"$MODELCTL_VERSION\" = 1 || test -z \"$FAIL_HEALTH\" || { echo 'inference failed on sample.jpg' >&2; exit 2; }",
                    timeoutSeconds: 20
                ),
                threshold: 10
            )
            let bad = try await fleet.enroll("bad")
            let good = try await fleet.enroll("good")
            let badAgent = try AgentProcess(stateDirectory: bad, environment: ["FAIL_HEALTH": "1"])
            let goodAgent = try AgentProcess(stateDirectory: good)
            defer {
                badAgent.stop()
                goodAgent.stop()
            }
            try await fleet.waitUntil("both run v1") {
                [bad, good].allSatisfy { currentFiles($0, model: "detector")?.version == v1 }
            }
            let v2 = try await fleet.push("detector", v2Files)
            try await Self.promote(fleet, alias: "prod", v2)
            try await fleet.waitUntil("the registry halted the rollout") {
                try await fleet.admin { try await $0.deployment(named: "line") }.status == "paused"
            }
            let view = try await fleet.fleet("line")
            let entry = try #require(view.agents.first { $0.name == "bad" }?.deployments.first)
            #expect(entry.step == "failed" && entry.installedVersion == v1 && entry.desiredVersion == v1)
            #expect(entry.lastError?.contains("exited with status 2: inference failed on sample.jpg") == true)
            #expect(currentFiles(bad, model: "detector")?.files == v1Files)
            let history = try await fleet.admin { try await $0.history(model: "detector") }
            #expect(history.events.contains { $0.kind == "deployment.halted" })
        }
    }

    @Test func aTamperedBlobIsRefusedAndThePreviousVersionStaysActive() async throws {
        try await Fleet.run { fleet in
            let v1Files = Self.files(1)
            let v2Files = Self.files(5, changed: ["model.onnx"])
            let v1 = try await fleet.push("detector", v1Files)
            try await Self.promote(fleet, alias: "prod", v1)
            try await Self.deploy(fleet, "all", alias: "prod")
            let state = try await fleet.enroll("cam")
            let agent = try AgentProcess(stateDirectory: state)
            defer { agent.stop() }
            try await fleet.waitUntil("it runs v1") { currentFiles(state, model: "detector")?.version == v1 }
            let v2 = try await fleet.push("detector", v2Files)
            // Same length, other bytes, in the registry's own store.
            let hex = String(BlobFixture(bytes: v2Files["model.onnx"]!).digest.dropFirst(7))
            let stored = fleet.daemon.dataDirectory.appending(path: "blobs/sha256/\(hex.prefix(2))/\(hex)")
            try Data(bytes(v2Files["model.onnx"]!.count, seed: 99)).write(to: stored)
            try await Self.promote(fleet, alias: "prod", v2)
            try await fleet.waitUntil("the agent reported the failure", timeout: .seconds(20)) {
                try await fleet.fleet("all").agents.first?.deployments.first?.step == "failed"
            }
            let entry = try #require(try await fleet.fleet("all").agents.first?.deployments.first, "log: \(agent.log)")
            #expect(entry.lastError?.contains("failed verification") == true, "\(entry)")
            #expect(currentFiles(state, model: "detector")?.files == v1Files)
        }
    }

    @Test func killingTheAgentAtAnyStepLeavesACompleteVersionAndARestartConverges() async throws {
        try await Fleet.run { fleet in
            let v1Files = ["model.onnx": bytes(2_000_000, seed: 1), "labels.txt": Array("a\n".utf8)]
            let v2Files = ["model.onnx": bytes(24_000_000, seed: 2), "labels.txt": Array("b\n".utf8)]
            let v1 = try await fleet.push("detector", v1Files)
            try await Self.promote(fleet, alias: "prod", v1)
            try await Self.deploy(
                fleet,
                "all",
                alias: "prod",
                health: HealthCheck(command: "sleep 0.5; test -s model.onnx", timeoutSeconds: 20)
            )
            let state = try await fleet.enroll("cam")
            var agent = try AgentProcess(stateDirectory: state)
            try await fleet.waitUntil("it runs v1") { currentFiles(state, model: "detector")?.files == v1Files }
            agent.stop()
            let v2 = try await fleet.push("detector", v2Files)
            try await Self.promote(fleet, alias: "prod", v2)
            // Kill -9 after different delays: during start-up, download, unpacking, the health check, the switch.
            for delay in [50, 150, 300, 500, 700, 900, 1200, 1600] {
                agent = try AgentProcess(stateDirectory: state)
                try await Task.sleep(for: .milliseconds(delay))
                agent.kill9()
                let current = try #require(
                    currentFiles(state, model: "detector"),
                    "no current after kill at \(delay) ms"
                )
                #expect(
                    current.files == v1Files || current.files == v2Files,
                    "current is version \(current.version) with other bytes after a kill at \(delay) ms"
                )
                if current.version == v2 { break }
            }
            agent = try AgentProcess(stateDirectory: state)
            defer { agent.stop() }
            try await fleet.waitUntil("it converges on v2") { currentFiles(state, model: "detector")?.files == v2Files }
            let leftovers = try FileManager.default.contentsOfDirectory(
                atPath: state.appending(path: "models/detector/versions").path
            ).filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func anAgentStopsCleanlyOnSIGTERMAndKeepsRunningWhileTheRegistryIsDown() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory.appending(path: "data"))
            let fleet = Fleet(daemon: daemon, directory: directory)
            let v1 = try await fleet.push("detector", Self.files(1))
            try await Self.promote(fleet, alias: "prod", v1)
            try await Self.deploy(fleet, "all", alias: "prod")
            let state = try await fleet.enroll("cam")
            let agent = try AgentProcess(stateDirectory: state)
            try await fleet.waitUntil("it runs v1") { currentFiles(state, model: "detector")?.version == v1 }
            _ = daemon.terminate()
            try await Task.sleep(for: .seconds(2))
            #expect(agent.isRunning)
            #expect(currentFiles(state, model: "detector")?.version == v1)
            #expect(agent.stop() == 0, "log: \(agent.log)")
            #expect(agent.log.contains("registry unreachable"))
        }
    }
}

/// A download cut in the middle resumes where it stopped.
@Suite struct ResumedDownloadTests {
    @Test func aConnectionCutMidDownloadResumesWithoutStartingOver() async throws {
        try await Fleet.run { fleet in
            let size = 16 << 20
            let files = ["model.onnx": bytes(size, seed: 7)]
            let v1 = try await fleet.push("detector", files)
            _ = try await fleet.admin { try await $0.setAlias(model: "detector", alias: "prod", version: v1) }
            _ = try await fleet.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(name: "all", model: "detector", selectorKind: "alias", selector: "prod")
                )
            }
            let state = try await fleet.enroll("cam")
            let proxy = try CuttingProxy(upstream: fleet.daemon.port, cutAfter: 6 << 20)
            defer { proxy.close() }
            let agent = try DeploymentAgent(
                configuration: AgentConfiguration(
                    stateDirectory: state,
                    registry: URL(string: "http://127.0.0.1:\(proxy.port)")!,
                    pollWait: 1
                ),
                logger: DeploymentAgentTests.logger
            )
            let outcome = try await agent.syncOnce()
            await agent.shutdown()
            guard case .applied(_, let results) = outcome, case .installed(v1, let downloaded) = results["detector"]
            else {
                Issue.record("expected an install, got \(outcome)")
                return
            }
            #expect(proxy.didCut)
            #expect(currentFiles(state, model: "detector")?.files == files)
            // The bytes written before the cut were kept and the rest asked for with Range. Starting over would carry
            // the 6 MiB before the cut plus the whole file again (22 MiB); what is lost is only what was still in
            // flight in buffers when the link broke.
            #expect(downloaded < Int64(size) + (1 << 20), "received \(downloaded) bytes for a \(size)-byte file")
            #expect(proxy.downstreamBytes < size + (5 << 20), "the proxy carried \(proxy.downstreamBytes) bytes")
        }
    }
}

/// `modelctl deploy`, `fleet` and `agent token` against the real daemon.
@Suite struct DeployCommandTests {
    @Test func deploymentsAreCreatedChangedAndShownFromTheCommandLine() async throws {
        try await Fleet.run { fleet in
            let v1 = try await fleet.push("detector", ["model.onnx": bytes(1000, seed: 1)])
            _ = try await fleet.admin { try await $0.setAlias(model: "detector", alias: "prod", version: v1) }
            let environment = [
                "MODELCTL_REGISTRY": fleet.daemon.baseURL, "MODELCTL_TOKEN": fleet.adminToken,
                "HOME": fleet.directory.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            func modelctl(_ arguments: [String]) throws -> CommandResult {
                try runModelctl(arguments, in: fleet.directory, environment: environment)
            }
            let created = try modelctl([
                "deploy", "detector@prod", "--target", "site=plant-3", "--strategy", "canary:25",
                "--health-check", "./check.sh", "--failure-threshold", "10",
            ])
            #expect(created.status == 0, "\(created)")
            #expect(created.stdout.contains("deployment detector-prod: detector@prod → site=plant-3"))
            #expect(created.stdout.contains("canary 25 %"))

            let widened = try modelctl([
                "deploy", "set", "detector-prod", "--strategy", "canary:50", "--output", "json",
            ])
            #expect(widened.status == 0, "\(widened)")
            let info = try JSONDecoder.iso8601.decode(DeploymentInfo.self, from: Data(widened.stdout.utf8))
            #expect(info.percent == 50 && info.failureThreshold == 10 && info.targetVersion == v1)

            #expect(try modelctl(["deploy", "pause", "detector-prod", "--reason", "night shift"]).status == 0)
            let again = try modelctl(["deploy", "pause", "detector-prod"])
            #expect(again.status == 4 && again.stderr.contains("is paused, not active"), "\(again)")
            #expect(try modelctl(["deploy", "resume", "detector-prod"]).status == 0)
            let list = try modelctl(["deploy", "list"])
            #expect(list.stdout.contains("detector-prod") && list.stdout.contains("canary 50 %"), "\(list)")

            let token = try modelctl(["agent", "token", "create", "--label", "site=plant-3", "-q"])
            #expect(token.status == 0 && token.stdout.hasPrefix("mctl_"), "\(token)")
            let state = fleet.directory.appending(path: "agent-cli")
            let enrolled = try modelctl([
                "agent", "enroll", "--registry", fleet.daemon.baseURL, "--enrollment-token",
                token.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--state-dir", state.path, "--name",
                "cam-9",
            ])
            #expect(
                enrolled.status == 0 && enrolled.stdout.contains("enrolled cam-9 (labels site=plant-3)"),
                "\(enrolled)"
            )
            let status = try modelctl(["fleet", "detector-prod", "--output", "json"])
            let view = try JSONDecoder.iso8601.decode(FleetStatus.self, from: Data(status.stdout.utf8))
            #expect(view.agents.map(\.name) == ["cam-9"])
            #expect(view.agents.first?.deployments.first?.desiredVersion == v1)
            let table = try modelctl(["fleet"])
            #expect(table.stdout.contains("cam-9") && table.stdout.contains("waiting"), "\(table)")

            // Mistakes are usage errors, named, before anything is sent.
            let bare = try modelctl(["deploy", "detector", "--target", ""])
            #expect(bare.status == 64 && bare.stderr.contains("names no version to deploy"), "\(bare)")
            let strategy = try modelctl(["deploy", "detector@prod", "--target", "", "--strategy", "canary:0"])
            #expect(strategy.status == 64 && strategy.stderr.contains("expected 1 to 100"), "\(strategy)")
            let target = try modelctl(["deploy", "detector@prod", "--target", "Site=x"])
            #expect(target.status == 64 && target.stderr.contains("invalid label key 'Site'"), "\(target)")
            let missing = try modelctl(["deploy", "show", "nope"])
            #expect(missing.status == 3, "\(missing)")
            let layout = try modelctl(["agent", "run", "--state-dir", state.path, "--layout", "k8s"])
            #expect(layout.status == 64 && layout.stderr.contains("expected dir, triton or tfserving"), "\(layout)")
            let reenroll = try modelctl([
                "agent", "enroll", "--registry", fleet.daemon.baseURL, "--enrollment-token", "mctl_x",
                "--state-dir", state.path,
            ])
            #expect(reenroll.status == 1 && reenroll.stderr.contains("already holds an enrolled agent"), "\(reenroll)")
        }
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// Held long-polls do not hold up a daemon that is asked to stop.
@Suite struct LongPollShutdownTests {
    @Test func sigtermEndsHeldLongPollsAtOnce() async throws {
        try await withTemporaryDirectory { directory in
            let daemon = try DaemonProcess(dataDirectory: directory.appending(path: "data"))
            let fleet = Fleet(daemon: daemon, directory: directory)
            let state = try await fleet.enroll("cam")
            let token = try String(contentsOf: state.appending(path: "token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let client = RegistryClient(
                configuration: RegistryClientConfiguration(
                    baseURL: URL(string: daemon.baseURL)!,
                    token: token,
                    userAgent: "agent-tests",
                    retry: .none
                )
            )
            guard case .document(_, let etag) = try await client.desiredState(ifNoneMatch: nil) else {
                Issue.record("no document")
                return
            }
            let poll = Task { try await client.desiredState(ifNoneMatch: etag, wait: 30) }
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            let status = daemon.terminate()
            let stopped = ContinuousClock.now - started
            #expect(status == 0)
            #expect(stopped < .seconds(5), "the daemon took \(stopped) to stop with a poll held")
            #expect(try await poll.value == .unchanged)
            try await client.shutdown()
        }
    }
}

/// An agent that does not trust what the registry signs keeps refusing, without hammering the registry.
@Suite struct RefusedStateBackoffTests {
    @Test func anAgentTrustingAnotherKeyRefusesEveryDocumentAndBacksOff() async throws {
        try await Fleet.run { fleet in
            let v1 = try await fleet.push("detector", ["model.onnx": bytes(1000, seed: 1)])
            _ = try await fleet.admin { try await $0.setAlias(model: "detector", alias: "prod", version: v1) }
            _ = try await fleet.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(name: "all", model: "detector", selectorKind: "alias", selector: "prod")
                )
            }
            let state = try await fleet.enroll("cam")
            // The agent's trusted key replaced by another one: as if the registry's key were swapped by an attacker.
            let file = state.appending(path: "agent.json")
            var identity = try JSONDecoder().decode(AgentIdentity.self, from: Data(contentsOf: file))
            identity.registryKeys = [RegistrySigningKey.generate().publicKey]
            try JSONEncoder().encode(identity).write(to: file)
            let agent = try AgentProcess(stateDirectory: state)
            try await Task.sleep(for: .seconds(4))
            agent.stop()
            let refusals = agent.log.components(separatedBy: "refused a desired state").count - 1
            #expect(refusals >= 1 && refusals <= 6, "\(refusals) refusals in 4 s: \(agent.log)")
            #expect(agent.log.contains("does not trust"))
            #expect(currentFiles(state, model: "detector") == nil)
        }
    }
}
