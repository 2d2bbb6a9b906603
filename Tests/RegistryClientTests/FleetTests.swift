import AgentProtocol
import Foundation
import Registry
import RegistryClient
import TestSupport
import Testing

/// Deployments, enrollment, signed desired states, long-polls, rollouts and reports against the real registry on a
/// loopback port with tokens on, through the client the CLI and the agent use.
@Suite struct FleetTests {
    typealias AuthRegistry = RegistryClientAuthTests.AuthRegistry

    func withFleet(_ body: @escaping @Sendable (AuthRegistry) async throws -> Void) async throws {
        try await RegistryClientAuthTests().withAuthRegistry(body)
    }

    /// Pushes a READY version of `model` with `files` (path → content) and returns its number.
    @discardableResult
    static func push(_ client: RegistryClient, model: String, files: [String: [UInt8]]) async throws -> Int {
        try await withTemporaryDirectory { directory in
            var remote: [RemoteFile] = []
            for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
                let blob = BlobFixture(bytes: bytes)
                let url = directory.appending(path: UUID().uuidString)
                try Data(bytes).write(to: url)
                _ = try await client.uploadBlob(digest: blob.digest, from: url)
                remote.append(RemoteFile(path: path, size: Int64(bytes.count), digest: blob.digest))
            }
            if (try? await client.model(named: model)) == nil { _ = try await client.createModel(name: model) }
            let version = try await client.createVersion(
                model: model,
                NewRemoteVersion(files: remote, format: "custom")
            )
            return try await client.commitVersion(model: model, version: version.version).version
        }
    }

    /// Enrolls an agent with a fresh enrollment token carrying `tokenLabels`.
    static func enroll(
        _ registry: AuthRegistry,
        name: String,
        labels: [String: String] = [:],
        tokenLabels: [String: String] = [:]
    ) async throws -> EnrollmentResponse {
        let token = try await registry.admin { client in
            try await client.createEnrollmentToken(CreateEnrollmentTokenRequest(labels: tokenLabels))
        }
        return try await registry.client(token: nil) { client in
            try await client.enroll(
                EnrollmentRequest(enrollmentToken: try #require(token.token), name: name, labels: labels)
            )
        }
    }

    /// The verified desired state of an enrolled agent (no wait).
    static func desired(_ registry: AuthRegistry, _ agent: EnrollmentResponse) async throws -> (DesiredState, String) {
        try await registry.client(token: agent.token) { client in
            guard case .document(let envelope, let etag) = try await client.desiredState(ifNoneMatch: nil) else {
                throw RegistryClientError(.protocolError, "expected a document")
            }
            let state = try DesiredStateVerifier(trustedKeys: [agent.registryKey], agent: agent.agent)
                .verify(envelope, acceptedGeneration: nil)
            #expect(state.contentTag == etag)
            return (state, etag)
        }
    }

    static let v1Files: [String: [UInt8]] = [
        "model.onnx": Array(repeating: 1, count: 4096), "labels.txt": Array("cat\ndog\n".utf8),
    ]
    static let v2Files: [String: [UInt8]] = [
        "model.onnx": Array(repeating: 2, count: 4096), "labels.txt": Array("cat\ndog\n".utf8),
    ]

    // MARK: Enrollment

    @Test func enrollmentIsOneTimeAndTheTokensLabelsWin() async throws {
        try await withFleet { registry in
            let token = try await registry.admin { client in
                try await client.createEnrollmentToken(
                    CreateEnrollmentTokenRequest(labels: ["site": "plant-3"], description: "line 3")
                )
            }
            let text = try #require(token.token)
            #expect(token.status == "unused")
            let agent = try await registry.client(token: nil) { client in
                try await client.enroll(
                    EnrollmentRequest(
                        enrollmentToken: text,
                        name: "cam-1",
                        labels: ["site": "elsewhere", "gpu": "jetson"]
                    )
                )
            }
            #expect(agent.agent == "cam-1")
            #expect(agent.labels == ["site": "plant-3", "gpu": "jetson"])
            #expect(agent.token.hasPrefix("mctl_"))
            // The device token works for the agent routes and identifies a device.
            let whoami = try await registry.client(token: agent.token) { try await $0.whoami() }
            #expect(whoami.id == "device:cam-1")

            // Used once: a second enrollment with it is refused, whatever the name.
            let reused = try await expectClientError {
                _ = try await registry.client(token: nil) { client in
                    try await client.enroll(EnrollmentRequest(enrollmentToken: text, name: "cam-2", labels: [:]))
                }
            }
            #expect(reused.code == .unauthorized)
            #expect(reused.message.contains("already used"))
            // A taken name is refused with a fresh token, and that token stays unused.
            let taken = try await expectClientError {
                _ = try await Self.enroll(registry, name: "cam-1")
            }
            #expect(taken.code == .conflict)
            let listed = try await registry.admin { try await $0.enrollmentTokens() }
            #expect(listed.tokens.map(\.status).sorted() == ["unused", "used"])
            #expect(listed.tokens.allSatisfy { $0.token == nil })
            // Bad labels name the label and the rule.
            let bad = try await expectClientError {
                _ = try await Self.enroll(registry, name: "cam-3", labels: ["Site": "x"])
            }
            #expect(bad.code == .invalidArgument)
            #expect(bad.message.contains("invalid label key 'Site'"))
        }
    }

    @Test func aRevokedOrExpiredEnrollmentTokenIsRefused() async throws {
        try await withFleet { registry in
            let token = try await registry.admin { client in
                try await client.createEnrollmentToken(CreateEnrollmentTokenRequest())
            }
            _ = try await registry.admin { try await $0.revokeEnrollmentToken(id: token.id) }
            let refused = try await expectClientError {
                _ = try await registry.client(token: nil) { client in
                    try await client.enroll(
                        EnrollmentRequest(enrollmentToken: try #require(token.token), name: "cam-9", labels: [:])
                    )
                }
            }
            #expect(refused.code == .unauthorized)
            let tooShort = try await expectClientError {
                _ = try await registry.admin { client in
                    try await client.createEnrollmentToken(CreateEnrollmentTokenRequest(expiresIn: 5))
                }
            }
            #expect(tooShort.code == .invalidArgument)
            #expect(tooShort.message.contains("expires_in 5"))
        }
    }

    // MARK: Desired state

    @Test func aDeploymentFollowsItsAliasAndTheLongPollWakesOnPromotion() async throws {
        try await withFleet { registry in
            let (v1, v2) = try await registry.admin { client in
                let v1 = try await Self.push(client, model: "detector", files: Self.v1Files)
                let v2 = try await Self.push(client, model: "detector", files: Self.v2Files)
                _ = try await client.setAlias(model: "detector", alias: "champion", version: v1)
                return (v1, v2)
            }
            let agent = try await Self.enroll(registry, name: "cam-1", tokenLabels: ["site": "plant-3"])
            let outsider = try await Self.enroll(registry, name: "cam-2", tokenLabels: ["site": "plant-4"])
            let created = try await registry.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(
                        name: "plant-3-detector",
                        model: "detector",
                        selectorKind: "alias",
                        selector: "champion",
                        target: "site=plant-3",
                        healthCheck: HealthCheck(command: "./check.sh", timeoutSeconds: 20)
                    )
                )
            }
            #expect(created.targetVersion == v1 && created.rollout == 1 && created.baselineVersion == nil)
            #expect(created.progress.targeted == 1 && created.progress.assigned == 1)

            let (first, etag) = try await Self.desired(registry, agent)
            let entry = try #require(first.deployments.first)
            #expect(first.deployments.count == 1)
            #expect(entry.model == "detector" && entry.version == v1 && entry.rollout == 1)
            #expect(entry.files.map(\.path) == ["labels.txt", "model.onnx"])
            #expect(entry.healthCheck == HealthCheck(command: "./check.sh", timeoutSeconds: 20))
            #expect(first.expiresAt.timeIntervalSince(first.issuedAt) == 24 * 3600)
            #expect(try await Self.desired(registry, outsider).0.deployments.isEmpty)

            // The agent may download the files of its desired version, and nothing else.
            try await withTemporaryDirectory { directory in
                try await registry.client(token: agent.token) { client in
                    let file = try #require(entry.files.first { $0.path == "model.onnx" })
                    let result = try await client.downloadAgentBlob(
                        digest: file.digest,
                        to: directory.appending(path: "m")
                    )
                    #expect(result.size == 4096)
                    let v2Model = BlobFixture(bytes: Self.v2Files["model.onnx"]!).digest
                    let refused = try await expectClientError {
                        _ = try await client.downloadAgentBlob(digest: v2Model, to: directory.appending(path: "x"))
                    }
                    #expect(refused.code == .notFound)
                }
                try await registry.client(token: outsider.token) { client in
                    let refused = try await expectClientError {
                        _ = try await client.downloadAgentBlob(
                            digest: entry.files[0].digest,
                            to: directory.appending(path: "y")
                        )
                    }
                    #expect(refused.code == .notFound)
                }
            }

            // Nothing changes: the poll is held and answers 304 when its wait ends.
            let clock = ContinuousClock()
            let held = try await clock.measure {
                let answer = try await registry.client(token: agent.token) { client in
                    try await client.desiredState(ifNoneMatch: etag, wait: 1)
                }
                #expect(answer == .unchanged)
            }
            #expect(held >= .milliseconds(900))

            // A promotion wakes a waiting poll at once with the new version.
            async let woken = registry.client(token: agent.token) { client in
                let started = ContinuousClock.now
                let answer = try await client.desiredState(ifNoneMatch: etag, wait: 30)
                return (answer, ContinuousClock.now - started)
            }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await registry.admin { client in
                try await client.setAlias(model: "detector", alias: "champion", version: v2)
            }
            let (answer, waited) = try await woken
            #expect(waited < .seconds(5))
            guard case .document(let envelope, let newTag) = answer else {
                Issue.record("expected a new document, got \(answer)")
                return
            }
            #expect(newTag != etag)
            let second = try DesiredStateVerifier(trustedKeys: [agent.registryKey], agent: "cam-1")
                .verify(envelope, acceptedGeneration: first.generation)
            #expect(second.generation > first.generation)
            #expect(second.deployments.first?.version == v2)
            #expect(second.deployments.first?.rollout == 2)
            let after = try await registry.admin { try await $0.deployment(named: "plant-3-detector") }
            #expect(after.targetVersion == v2 && after.baselineVersion == v1 && after.rollout == 2)
            let history = try await registry.admin { try await $0.history(model: "detector") }
            #expect(history.events.contains { $0.kind == "deployment.rollout" && $0.to == String(v2) })
            #expect(history.events.contains { $0.kind == "deployment.created" })
        }
    }

    @Test func aCanaryReachesItsHashedShareAndWideningKeepsIt() async throws {
        try await withFleet { registry in
            let (v1, v2) = try await registry.admin { client in
                let v1 = try await Self.push(client, model: "detector", files: Self.v1Files)
                let v2 = try await Self.push(client, model: "detector", files: Self.v2Files)
                _ = try await client.setStage(model: "detector", version: v1, stage: .production)
                return (v1, v2)
            }
            var agents: [EnrollmentResponse] = []
            for index in 0..<8 { agents.append(try await Self.enroll(registry, name: "cam-\(index)")) }
            _ = try await registry.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(
                        name: "canary",
                        model: "detector",
                        selectorKind: "stage",
                        selector: "production",
                        strategy: "canary",
                        percent: 25
                    )
                )
            }
            // The first rollout has no baseline: only the canary share gets anything.
            var onV1: [String] = []
            for agent in agents where try await Self.desired(registry, agent).0.deployments.first?.version == v1 {
                onV1.append(agent.agent)
            }
            let ranked = Rendezvous.ranked(agents.map(\.agent), deployment: "canary")
            #expect(onV1.sorted() == ranked.prefix(2).sorted())

            // Promote v2: the canary's share gets v2, the others the baseline v1.
            _ = try await registry.admin { client in
                try await client.setStage(model: "detector", version: v2, stage: .production, archiveExisting: true)
            }
            var versions: [String: Int] = [:]
            for agent in agents {
                versions[agent.agent] = try await Self.desired(registry, agent).0.deployments.first?.version
            }
            #expect(Set(versions.filter { $0.value == v2 }.keys) == Set(ranked.prefix(2)))
            #expect(versions.filter { $0.value == v1 }.count == 6)

            // Widening to 50 % keeps the first two and adds the next two.
            let widened = try await registry.admin { client in
                try await client.changeDeployment(named: "canary", DeploymentChangeRequest(percent: 50))
            }
            #expect(widened.percent == 50 && widened.progress.assigned == 4)
            for agent in agents {
                versions[agent.agent] = try await Self.desired(registry, agent).0.deployments.first?.version
            }
            #expect(Set(versions.filter { $0.value == v2 }.keys) == Set(ranked.prefix(4)))

            let bad = try await expectClientError {
                _ = try await registry.admin { client in
                    try await client.changeDeployment(named: "canary", DeploymentChangeRequest(percent: 0))
                }
            }
            #expect(bad.code == .invalidArgument && bad.message.contains("invalid percent 0"))
        }
    }

    @Test func anABSplitSendsEachSideItsWeight() async throws {
        try await withFleet { registry in
            let (v1, v2) = try await registry.admin { client in
                (
                    try await Self.push(client, model: "detector", files: Self.v1Files),
                    try await Self.push(client, model: "detector", files: Self.v2Files)
                )
            }
            var agents: [EnrollmentResponse] = []
            for index in 0..<10 { agents.append(try await Self.enroll(registry, name: "ab-\(index)")) }
            _ = try await registry.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(
                        name: "ab",
                        model: "detector",
                        selectorKind: "version",
                        selector: String(v2),
                        strategy: "ab",
                        percent: 30,
                        otherSelectorKind: "version",
                        otherSelector: String(v1)
                    )
                )
            }
            let ranked = Rendezvous.ranked(agents.map(\.agent), deployment: "ab")
            for agent in agents {
                let version = try await Self.desired(registry, agent).0.deployments.first?.version
                #expect(version == (ranked.prefix(3).contains(agent.agent) ? v2 : v1))
            }
            let missing = try await expectClientError {
                _ = try await registry.admin { client in
                    try await client.createDeployment(
                        CreateDeploymentRequest(
                            name: "ab2",
                            model: "detector",
                            selectorKind: "version",
                            selector: String(v2),
                            strategy: "ab",
                            percent: 30
                        )
                    )
                }
            }
            #expect(missing.code == .invalidArgument && missing.message.contains("needs the B side"))
        }
    }

    // MARK: Reports and the failure threshold

    @Test func failuresAboveTheThresholdHaltTheRolloutAndFailedAgentsGoBack() async throws {
        try await withFleet { registry in
            let (v1, v2) = try await registry.admin { client in
                let v1 = try await Self.push(client, model: "detector", files: Self.v1Files)
                let v2 = try await Self.push(client, model: "detector", files: Self.v2Files)
                _ = try await client.setAlias(model: "detector", alias: "prod", version: v1)
                return (v1, v2)
            }
            var agents: [EnrollmentResponse] = []
            for index in 0..<4 { agents.append(try await Self.enroll(registry, name: "line-\(index)")) }
            _ = try await registry.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(
                        name: "line",
                        model: "detector",
                        selectorKind: "alias",
                        selector: "prod",
                        failureThreshold: 30
                    )
                )
            }
            _ = try await registry.admin { try await $0.setAlias(model: "detector", alias: "prod", version: v2) }
            for agent in agents { #expect(try await Self.desired(registry, agent).0.deployments.first?.version == v2) }
            func report(_ agent: EnrollmentResponse, _ step: AgentStep, error: String? = nil) async throws {
                try await registry.client(token: agent.token) { client in
                    try await client.report(
                        AgentReport(
                            deployment: "line",
                            rollout: 2,
                            model: "detector",
                            version: v2,
                            step: step,
                            error: error,
                            activeVersion: step == .active ? v2 : v1
                        )
                    )
                }
            }
            // Two agents start, one succeeds, one fails: 1 of 2 = 50 % > 30 %: halted.
            try await report(agents[0], .active)
            try await report(agents[1], .downloading)
            var info = try await registry.admin { try await $0.deployment(named: "line") }
            #expect(info.status == "active" && info.progress.active == 1 && info.progress.inProgress == 1)
            try await report(agents[2], .failed, error: "health check exited with status 3")
            info = try await registry.admin { try await $0.deployment(named: "line") }
            #expect(info.status == "paused")
            #expect(info.statusReason?.contains("1 of 3 agents") == true)
            #expect(info.progress.failed == 1)
            // Agents that had started keep v2, the failed one and the one that never started get v1.
            let versions = try await agents.asyncMap {
                try await Self.desired(registry, $0).0.deployments.first?.version
            }
            #expect(versions == [v2, v2, v1, v1])
            let history = try await registry.admin { try await $0.history(model: "detector") }
            let halted = try #require(history.events.first { $0.kind == "deployment.halted" })
            #expect(halted.actor == "system")

            // The fleet view names each agent's desired and installed versions and the last error.
            let fleet = try await registry.admin { try await $0.fleet(deployment: "line") }
            let failed = try #require(fleet.agents.first { $0.name == "line-2" }?.deployments.first)
            #expect(failed.desiredVersion == v1 && failed.step == "failed" && failed.installedVersion == v1)
            #expect(failed.lastError == "health check exited with status 3")
            #expect(fleet.agents.count == 4 && fleet.deployments.map(\.name) == ["line"])

            // Resume: everyone but the failed agent gets v2 again; abort sends everyone back to v1.
            _ = try await registry.admin { try await $0.deploymentAction(.resume, named: "line") }
            #expect(try await Self.desired(registry, agents[3]).0.deployments.first?.version == v2)
            #expect(try await Self.desired(registry, agents[2]).0.deployments.first?.version == v1)
            let aborted = try await registry.admin { client in
                try await client.deploymentAction(.abort, named: "line", reason: "bad batch")
            }
            #expect(aborted.status == "aborted" && aborted.statusReason == "bad batch")
            for agent in agents { #expect(try await Self.desired(registry, agent).0.deployments.first?.version == v1) }
            let again = try await expectClientError {
                _ = try await registry.admin { try await $0.deploymentAction(.resume, named: "line") }
            }
            #expect(again.code == .conflict)

            // A report for a deployment that does not exist is refused.
            let unknown = try await expectClientError {
                try await registry.client(token: agents[0].token) { client in
                    try await client.report(
                        AgentReport(
                            deployment: "nope",
                            rollout: 1,
                            model: "detector",
                            version: 1,
                            step: .active,
                            activeVersion: 1
                        )
                    )
                }
            }
            #expect(unknown.code == .notFound)
        }
    }

    @Test func onlyEnrolledAgentsMayUseTheAgentRoutes() async throws {
        try await withFleet { registry in
            let refused = try await expectClientError {
                _ = try await registry.admin { try await $0.desiredState(ifNoneMatch: nil) }
            }
            #expect(refused.code == .forbidden && refused.message.contains("is not an agent"))
            let device = try await registry.admin { client in
                try await client.createToken(principal: "plain-device", kind: .device)
            }
            let notEnrolled = try await expectClientError {
                _ = try await registry.client(token: device.token) { try await $0.desiredState(ifNoneMatch: nil) }
            }
            #expect(notEnrolled.code == .forbidden && notEnrolled.message.contains("not an enrolled agent"))
            let agent = try await Self.enroll(registry, name: "cam-1")
            let people = try await expectClientError {
                _ = try await registry.client(token: agent.token) { try await $0.deployments() }
            }
            #expect(people.code == .forbidden)
            // Removing the agent removes its token.
            try await registry.admin { try await $0.deleteAgent("cam-1") }
            let gone = try await expectClientError {
                _ = try await registry.client(token: agent.token) { try await $0.desiredState(ifNoneMatch: nil) }
            }
            #expect(gone.code == .unauthorized)
        }
    }

    @Test func deploymentsOfModelsACallerCannotReadDoNotExistForIt() async throws {
        try await withFleet { registry in
            let v1 = try await registry.admin { client in
                try await Self.push(client, model: "secret-model", files: Self.v1Files)
            }
            _ = try await registry.admin { client in
                try await client.createDeployment(
                    CreateDeploymentRequest(
                        name: "secret",
                        model: "secret-model",
                        selectorKind: "version",
                        selector: String(v1)
                    )
                )
            }
            let reader = try await registry.admin { client in
                let token = try await client.createToken(principal: "vision-reader", kind: .user)
                _ = try await client.grantRole(principal: "vision-reader", role: .promoter, pattern: "vision-*")
                return token
            }
            try await registry.client(token: reader.token) { client in
                #expect(try await client.deployments().deployments.isEmpty)
                let hidden = try await expectClientError { _ = try await client.deployment(named: "secret") }
                #expect(hidden.code == .notFound)
                let paused = try await expectClientError {
                    _ = try await client.deploymentAction(.pause, named: "secret")
                }
                #expect(paused.code == .notFound)
                let create = try await expectClientError {
                    _ = try await client.createDeployment(
                        CreateDeploymentRequest(
                            name: "mine",
                            model: "secret-model",
                            selectorKind: "version",
                            selector: String(v1)
                        )
                    )
                }
                #expect(create.code == .forbidden)
            }
            let unknownVersion = try await expectClientError {
                _ = try await registry.admin { client in
                    try await client.createDeployment(
                        CreateDeploymentRequest(
                            name: "x",
                            model: "secret-model",
                            selectorKind: "alias",
                            selector: "nobody"
                        )
                    )
                }
            }
            #expect(unknownVersion.code == .notFound && unknownVersion.message.contains("secret-model@nobody"))
            let badTarget = try await expectClientError {
                _ = try await registry.admin { client in
                    try await client.createDeployment(
                        CreateDeploymentRequest(
                            name: "y",
                            model: "secret-model",
                            selectorKind: "version",
                            selector: String(v1),
                            target: "site"
                        )
                    )
                }
            }
            #expect(badTarget.code == .invalidArgument && badTarget.message.contains("invalid target term 'site'"))
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
