import AgentProtocol
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Packager
import Synchronization
import TestSupport
import Testing

@testable import Agent

/// The agent library on a real file system, with documents signed by a test key the state directory trusts and
/// blobs already in the cache (so no registry is needed: reports go to a closed port and are kept for later).
@Suite struct DeploymentAgentTests {
    static let logger: Logger = {
        var logger = Logger(label: "modelctl.agent.test")
        logger.logLevel = .critical
        return logger
    }()

    /// A state directory enrolled with a test key, and helpers to sign documents and fill the cache.
    struct Device {
        let root: URL
        let key: RegistrySigningKey
        var state: StateDirectory { StateDirectory(root) }

        init(root: URL, key: RegistrySigningKey = .generate()) throws {
            self.root = root
            self.key = key
            if !StateDirectory(root).isEnrolled {
                try StateDirectory(root).saveEnrollment(
                    AgentIdentity(
                        registry: URL(string: "http://127.0.0.1:1")!,
                        agent: "cam-1",
                        labels: [:],
                        registryKeys: [key.publicKey]
                    ),
                    token: "mctl_0123456789abcdef_" + String(repeating: "a", count: 43)
                )
            }
        }

        func agent(
            layout: InstallLayout = .dir,
            installRoot: URL? = nil,
            tritonURL: URL? = nil,
            reload: String? = nil,
            keep: Int = 2,
            quota: Int64? = nil,
            trustedKeys: [TrustedPublicKey] = []
        ) throws -> DeploymentAgent {
            try DeploymentAgent(
                configuration: AgentConfiguration(
                    stateDirectory: root,
                    layout: layout,
                    installRoot: installRoot,
                    tritonURL: tritonURL,
                    reloadCommand: reload,
                    keepVersions: keep,
                    diskQuota: quota,
                    trustedBundleKeys: trustedKeys
                ),
                logger: DeploymentAgentTests.logger
            )
        }

        /// Puts `files` in the blob cache and returns them as desired files.
        func cache(_ files: [String: [UInt8]]) throws -> [DesiredFile] {
            let cache = BlobCache(root: state.blobs)
            try FileManager.default.createDirectory(at: cache.complete, withIntermediateDirectories: true)
            return try files.sorted { $0.key < $1.key }.map { path, bytes in
                let digest = BlobFixture(bytes: bytes).digest
                try Data(bytes).write(to: cache.path(digest))
                return DesiredFile(path: path, size: Int64(bytes.count), digest: digest)
            }
        }

        func document(
            generation: Int64,
            version: Int,
            files: [DesiredFile],
            rollout: Int64 = 1,
            health: HealthCheck? = nil,
            issued: Date = Date(),
            validity: TimeInterval = 3600,
            agent: String = "cam-1",
            signer: RegistrySigningKey? = nil
        ) throws -> SignedDesiredState {
            let state = DesiredState(
                agent: agent,
                generation: generation,
                issuedAt: issued,
                expiresAt: issued.addingTimeInterval(validity),
                deployments: [
                    DesiredDeployment(
                        deployment: "d1",
                        rollout: rollout,
                        model: "detector",
                        version: version,
                        label: nil,
                        files: files,
                        healthCheck: health
                    )
                ]
            )
            return try SignedDesiredState(signing: state, with: signer ?? key)
        }
    }

    static let v1: [String: [UInt8]] = ["model.onnx": bytes(3000, seed: 1), "labels.txt": Array("cat\n".utf8)]
    static let v2: [String: [UInt8]] = ["model.onnx": bytes(3000, seed: 2), "labels.txt": Array("cat\n".utf8)]

    // MARK: Documents

    @Test func refusedDocumentsChangeNothingAndTheGenerationFloorSurvivesARestart() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent()
            let v1 = try device.cache(Self.v1)
            let first = try await agent.consider(try device.document(generation: 5, version: 1, files: v1), etag: "a")
            #expect(first == .applied(generation: 5, results: ["detector": .installed(version: 1, bytesDownloaded: 0)]))
            #expect(currentFiles(device.root, model: "detector")?.version == 1)
            let v2 = try device.cache(Self.v2)

            // Replayed older generation, expired, wrong key, unsigned, another agent's: all refused, v1 stays.
            var refusals: [String] = []
            var unsigned = try device.document(generation: 9, version: 2, files: v2)
            unsigned.signatures = []
            let cases: [SignedDesiredState] = [
                try device.document(generation: 4, version: 2, files: v2),
                try device.document(generation: 9, version: 2, files: v2, issued: Date().addingTimeInterval(-7200)),
                try device.document(generation: 9, version: 2, files: v2, signer: .generate()),
                unsigned,
                try device.document(generation: 9, version: 2, files: v2, agent: "cam-2"),
            ]
            for envelope in cases {
                guard case .refused(let reason) = try await agent.consider(envelope, etag: "x") else {
                    Issue.record("accepted a bad document")
                    continue
                }
                refusals.append(reason)
            }
            #expect(refusals[0].contains("generation 4, older than the accepted generation 5"))
            #expect(refusals[1].contains("expired"))
            #expect(refusals[2].contains("does not trust"))
            #expect(refusals[3].contains("not signed"))
            #expect(refusals[4].contains("for agent 'cam-2'"))
            #expect(currentFiles(device.root, model: "detector")?.version == 1)
            await agent.shutdown()

            // A new process keeps the floor.
            let restarted = try device.agent()
            #expect(await restarted.acceptedGeneration == 5)
            let replay = try await restarted.consider(
                try device.document(generation: 4, version: 2, files: v2),
                etag: "y"
            )
            guard case .refused = replay else {
                Issue.record("a restarted agent accepted a replayed document: \(replay)")
                return
            }
            let newer = try await restarted.consider(
                try device.document(generation: 6, version: 2, files: v2),
                etag: "z"
            )
            #expect(newer == .applied(generation: 6, results: ["detector": .installed(version: 2, bytesDownloaded: 0)]))
            #expect(currentFiles(device.root, model: "detector")?.files == Self.v2)
            await restarted.shutdown()
        }
    }

    // MARK: Health checks, reload, signature

    @Test func aFailingOrHangingHealthCheckKeepsThePreviousVersionAndIsNotRetried() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent()
            _ = try await agent.consider(
                try device.document(
                    generation: 1,
                    version: 1,
                    files: try device.cache(Self.v1),
                    health: HealthCheck(
                        command: "test -f model.onnx && test \"$MODELCTL_VERSION\" = 1",
                        timeoutSeconds: 5
                    )
                ),
                etag: "a"
            )
            #expect(currentFiles(device.root, model: "detector")?.version == 1)
            let v2 = try device.cache(Self.v2)
            let failing = try await agent.consider(
                try device.document(
                    generation: 2,
                    version: 2,
                    files: v2,
                    rollout: 2,
                    health: HealthCheck(command: "echo 'no GPU found' >&2; exit 3", timeoutSeconds: 5)
                ),
                etag: "b"
            )
            guard case .applied(_, let results) = failing, case .failed(2, let reason) = results["detector"] else {
                Issue.record("expected a failed install, got \(failing)")
                return
            }
            #expect(reason.contains("exited with status 3") && reason.contains("no GPU found"))
            #expect(currentFiles(device.root, model: "detector")?.files == Self.v1)
            // The same rollout is not attempted again.
            let again = try await agent.consider(
                try device.document(
                    generation: 3,
                    version: 2,
                    files: v2,
                    rollout: 2,
                    health: HealthCheck(command: "exit 3", timeoutSeconds: 5)
                ),
                etag: "c"
            )
            guard case .applied(_, let skipped) = again, case .skipped = skipped["detector"] else {
                Issue.record("expected a skip, got \(again)")
                return
            }
            // A hanging check is killed at its timeout, with its children.
            let started = ContinuousClock.now
            let hanging = try await agent.consider(
                try device.document(
                    generation: 4,
                    version: 2,
                    files: v2,
                    rollout: 3,
                    health: HealthCheck(command: "sleep 30 & sleep 30", timeoutSeconds: 1)
                ),
                etag: "d"
            )
            #expect(ContinuousClock.now - started < .seconds(10))
            guard case .applied(_, let timedOut) = hanging, case .failed(_, let why) = timedOut["detector"] else {
                Issue.record("expected a timeout, got \(hanging)")
                return
            }
            #expect(why.contains("did not finish within 1 s"))
            #expect(currentFiles(device.root, model: "detector")?.version == 1)
            await agent.shutdown()
        }
    }

    @Test func aFailedReloadSwitchesBack() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let marker = directory.appending(path: "reloads")
            let agent = try device.agent(
                reload: "echo \"$MODELCTL_VERSION\" >> '\(marker.path)'; test \"$MODELCTL_VERSION\" = 1"
            )
            _ = try await agent.consider(
                try device.document(generation: 1, version: 1, files: try device.cache(Self.v1)),
                etag: "a"
            )
            let result = try await agent.consider(
                try device.document(generation: 2, version: 2, files: try device.cache(Self.v2), rollout: 2),
                etag: "b"
            )
            guard case .applied(_, let results) = result, case .rolledBack(2, let reason) = results["detector"] else {
                Issue.record("expected a rollback, got \(result)")
                return
            }
            #expect(reason.contains("the reload command exited with status 1"))
            #expect(currentFiles(device.root, model: "detector")?.files == Self.v1)
            #expect(try String(contentsOf: marker, encoding: .utf8) == "1\n2\n")
            await agent.shutdown()
        }
    }

    @Test func withTrustedKeysOnlySignedVersionsInstall() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let files = SigningKeyFiles(base: directory.appending(path: "signing"))
            _ = try files.generate()
            let publicKey = try files.loadPublicKey()
            let agent = try device.agent(trustedKeys: [publicKey])
            let result = try await agent.consider(
                try device.document(generation: 1, version: 1, files: try device.cache(Self.v1)),
                etag: "a"
            )
            guard case .applied(_, let results) = result, case .failed(1, let reason) = results["detector"] else {
                Issue.record("an unsigned version was installed: \(result)")
                return
            }
            #expect(reason.contains("not signed"))
            #expect(currentFiles(device.root, model: "detector") == nil)
            await agent.shutdown()
        }
    }

    // MARK: Disk

    @Test func aDownloadThatCannotFitIsRefusedBeforeItStarts() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent(quota: 1000)
            let missing = DesiredFile(
                path: "model.onnx",
                size: 5000,
                digest: BlobFixture(bytes: bytes(5000, seed: 9)).digest
            )
            let result = try await agent.consider(
                try device.document(generation: 1, version: 1, files: [missing]),
                etag: "a"
            )
            guard case .applied(_, let results) = result, case .failed(1, let reason) = results["detector"] else {
                Issue.record("expected a refusal, got \(result)")
                return
            }
            #expect(reason.contains("needs 5000 bytes") && reason.contains("--disk-quota 1000"))
            await agent.shutdown()
        }
    }

    @Test func oldVersionsAndTheirBlobsAreCollectedKeepingCurrentAndN() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent(keep: 1)
            var digests: [Int: String] = [:]
            for version in 1...4 {
                let files = try device.cache(["model.onnx": bytes(100, seed: UInt8(version))])
                digests[version] = files[0].digest
                _ = try await agent.consider(
                    try device.document(
                        generation: Int64(version),
                        version: version,
                        files: files,
                        rollout: Int64(version)
                    ),
                    etag: "\(version)"
                )
            }
            let versions = try FileManager.default.contentsOfDirectory(
                atPath: device.root.appending(path: "models/detector/versions").path
            )
            #expect(Set(versions) == ["3", "4"])
            let cache = BlobCache(root: device.state.blobs)
            #expect(FileManager.default.fileExists(atPath: cache.path(digests[4]!).path))
            #expect(FileManager.default.fileExists(atPath: cache.path(digests[3]!).path))
            #expect(!FileManager.default.fileExists(atPath: cache.path(digests[1]!).path))
            #expect(!FileManager.default.fileExists(atPath: cache.path(digests[2]!).path))
            await agent.shutdown()
        }
    }

    // MARK: Crash leftovers

    @Test func leftoversOfACrashAtEachStepAreCleanedAndCurrentStaysComplete() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent()
            _ = try await agent.consider(
                try device.document(generation: 1, version: 1, files: try device.cache(Self.v1)),
                etag: "a"
            )
            await agent.shutdown()
            let model = device.root.appending(path: "models/detector")
            // A crash while unpacking v2: a half-written temporary directory.
            let half = model.appending(path: "versions/.tmp-2-1234")
            try FileManager.default.createDirectory(at: half, withIntermediateDirectories: true)
            try Data([1, 2]).write(to: half.appending(path: "model.onnx"))
            // A crash while switching: the new link made under its temporary name but not renamed.
            try FileManager.default.createSymbolicLink(
                atPath: model.appending(path: ".current.tmp-99").path,
                withDestinationPath: "versions/2"
            )
            // A version directory without its record (renamed by hand, or a record lost): never trusted.
            try FileManager.default.createDirectory(
                at: model.appending(path: "versions/7"),
                withIntermediateDirectories: true
            )

            let restarted = try device.agent()
            let names = Set(try FileManager.default.contentsOfDirectory(atPath: model.appending(path: "versions").path))
            #expect(names == ["1"])
            #expect(!FileManager.default.fileExists(atPath: model.appending(path: ".current.tmp-99").path))
            #expect(currentFiles(device.root, model: "detector")?.files == Self.v1)
            #expect(await restarted.activeVersions() == ["detector": 1])
            await restarted.shutdown()
        }
    }

    // MARK: Layouts

    @Test func theTritonLayoutWritesTheRepositoryAndCallsLoad() async throws {
        try await withTemporaryDirectory { directory in
            let calls = Mutex<[String]>([])
            let router = Router()
            router.post("/v2/repository/models/:model/load") { request, _ -> HTTPResponse.Status in
                calls.withLock { $0.append(request.uri.path) }
                return .ok
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let triton = URL(string: "http://127.0.0.1:\(client.port!)")!
                let device = try Device(root: directory.appending(path: "state"))
                let repository = directory.appending(path: "model_repository")
                let agent = try device.agent(layout: .triton, installRoot: repository, tritonURL: triton)
                var files = Self.v1
                files["config.pbtxt"] = Array(
                    "platform: \"onnxruntime_onnx\"\nversion_policy: { latest: { num_versions: 2 } }\n".utf8
                )
                _ = try await agent.consider(
                    try device.document(generation: 1, version: 1, files: try device.cache(files)),
                    etag: "a"
                )
                _ = try await agent.consider(
                    try device.document(generation: 2, version: 2, files: try device.cache(Self.v2), rollout: 2),
                    etag: "b"
                )
                let model = repository.appending(path: "detector")
                #expect(try Data(contentsOf: model.appending(path: "1/model.onnx")) == Data(Self.v1["model.onnx"]!))
                #expect(try Data(contentsOf: model.appending(path: "2/model.onnx")) == Data(Self.v2["model.onnx"]!))
                let config = try String(contentsOf: model.appending(path: "config.pbtxt"), encoding: .utf8)
                #expect(config == "name: \"detector\"\nversion_policy: { specific: { versions: [2] } }\n")
                #expect(
                    calls.withLock { $0 } == [
                        "/v2/repository/models/detector/load", "/v2/repository/models/detector/load",
                    ]
                )
                #expect(await agent.activeVersions() == ["detector": 2])
                await agent.shutdown()
            }
            // The version's own config.pbtxt is the base of the repository's.
            #expect(
                Installer.tritonConfig(
                    model: "m",
                    version: 3,
                    base: "platform: \"x\"\nversion_policy: { latest: {} }\n"
                )
                    == "platform: \"x\"\nversion_policy: { specific: { versions: [3] } }\n"
            )
        }
    }

    @Test func theTritonLoadFailingKeepsThePreviousVersion() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent(
                layout: .triton,
                installRoot: directory.appending(path: "repo"),
                tritonURL: URL(string: "http://127.0.0.1:1")!
            )
            let result = try await agent.consider(
                try device.document(generation: 1, version: 1, files: try device.cache(Self.v1)),
                etag: "a"
            )
            guard case .applied(_, let results) = result, case .failed(1, let reason) = results["detector"] else {
                Issue.record("expected a failure, got \(result)")
                return
            }
            #expect(reason.contains("cannot reach Triton"))
            #expect(await agent.activeVersions()["detector"] == nil)
            await agent.shutdown()
        }
    }

    @Test func theTFServingLayoutLeavesOnlyTheActiveVersionNumbered() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let base = directory.appending(path: "serving")
            let agent = try device.agent(layout: .tfserving, installRoot: base)
            _ = try await agent.consider(
                try device.document(generation: 1, version: 1, files: try device.cache(Self.v1)),
                etag: "a"
            )
            _ = try await agent.consider(
                try device.document(generation: 2, version: 2, files: try device.cache(Self.v2), rollout: 2),
                etag: "b"
            )
            let model = base.appending(path: "detector")
            let numbered = try FileManager.default.contentsOfDirectory(atPath: model.path).filter { Int($0) != nil }
            #expect(numbered == ["2"])
            #expect(try Data(contentsOf: model.appending(path: "2/model.onnx")) == Data(Self.v2["model.onnx"]!))
            // Back to 1 (kept aside): it becomes the only numbered directory again, without a download.
            let back = try await agent.consider(
                try device.document(generation: 3, version: 1, files: try device.cache(Self.v1), rollout: 3),
                etag: "c"
            )
            #expect(back == .applied(generation: 3, results: ["detector": .installed(version: 1, bytesDownloaded: 0)]))
            #expect(try FileManager.default.contentsOfDirectory(atPath: model.path).filter { Int($0) != nil } == ["1"])
            await agent.shutdown()
        }
    }

    @Test func unsafeNamesInADocumentAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let device = try Device(root: directory.appending(path: "state"))
            let agent = try device.agent()
            var files = try device.cache(Self.v1)
            files[0].path = "../../escape"
            let result = try await agent.consider(
                try device.document(generation: 1, version: 1, files: files),
                etag: "a"
            )
            guard case .applied(_, let results) = result, case .failed(_, let reason) = results["detector"] else {
                Issue.record("expected a refusal, got \(result)")
                return
            }
            #expect(reason.contains("refusing the file path '../../escape'"))
            #expect(!FileManager.default.fileExists(atPath: directory.appending(path: "escape").path))
            await agent.shutdown()
        }
    }
}
