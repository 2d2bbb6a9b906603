public import Foundation

/// What the registry wants one agent to run: the payload of a signed desired-state document.
///
/// The registry computes it per agent from the deployments whose target selector matches the agent's labels, signs
/// it (``SignedDesiredState``) and serves it at `GET /api/v1/agent/desired-state`. An agent accepts a document only
/// when the signature verifies with the registry key it got at enrollment, `expiresAt` is in the future and
/// `generation` is not lower than that of a document it accepted before.
public struct DesiredState: Codable, Sendable, Equatable {
    /// The payload type named in the envelope and bound into the signature.
    public static let payloadType = "application/vnd.modelctl.desired-state+json"
    public static let currentSchema = 1

    public var schema: Int
    /// The agent's name: a document for another agent is refused.
    public var agent: String
    /// The registry's fleet generation when the document was computed. It grows with every change that can alter
    /// any agent's desired state and never goes down: a lower generation than one already accepted is a replay.
    public var generation: Int64
    public var issuedAt: Date
    /// After this instant the document must not be acted on (freeze attacks: a withheld update cannot be hidden
    /// for longer than the validity).
    public var expiresAt: Date
    /// One entry per model; models absent from the list are left as they are.
    public var deployments: [DesiredDeployment]

    public init(
        agent: String,
        generation: Int64,
        issuedAt: Date,
        expiresAt: Date,
        deployments: [DesiredDeployment]
    ) {
        self.schema = Self.currentSchema
        self.agent = agent
        self.generation = generation
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.deployments = deployments
    }

    /// An identifier of what the agent is asked to run, independent of generation and times: the registry's
    /// `ETag`. Two documents with the same content tag ask for the same thing.
    public var contentTag: String {
        var hasher = ContentHasher()
        for deployment in deployments.sorted(by: { $0.model < $1.model }) {
            hasher.add(deployment.deployment)
            hasher.add(deployment.model)
            hasher.add(String(deployment.rollout))
            hasher.add(String(deployment.version))
            hasher.add(deployment.manifestDigest)
            hasher.add(deployment.healthCheck.map { "\($0.timeoutSeconds) \($0.command)" } ?? "")
        }
        return hasher.hex
    }

    enum CodingKeys: String, CodingKey {
        case schema, agent, generation, deployments
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
    }
}

/// One model the agent should run, at one version.
public struct DesiredDeployment: Codable, Sendable, Equatable {
    /// The deployment's name.
    public var deployment: String
    /// Grows each time the deployment's target version changes; reports name it so that the registry counts a
    /// report only for the rollout it belongs to.
    public var rollout: Int64
    public var model: String
    public var version: Int
    public var label: String?
    /// ``ManifestDigest`` of the files: what the agent compares with what it has installed.
    public var manifestDigest: String
    public var files: [DesiredFile]
    public var healthCheck: HealthCheck?

    public init(
        deployment: String,
        rollout: Int64,
        model: String,
        version: Int,
        label: String?,
        files: [DesiredFile],
        healthCheck: HealthCheck?
    ) {
        self.deployment = deployment
        self.rollout = rollout
        self.model = model
        self.version = version
        self.label = label
        self.files = files.sorted { $0.path < $1.path }
        self.manifestDigest = ManifestDigest.of(self.files)
        self.healthCheck = healthCheck
    }

    /// The sum of the files' sizes.
    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    enum CodingKeys: String, CodingKey {
        case deployment, rollout, model, version, label, files
        case manifestDigest = "manifest_digest"
        case healthCheck = "health_check"
    }
}

/// A file of a desired version: where it goes inside the version's directory, its size and `sha256:<hex>` digest.
public struct DesiredFile: Codable, Sendable, Equatable, Hashable {
    public var path: String
    public var size: Int64
    public var digest: String

    public init(path: String, size: Int64, digest: String) {
        self.path = path
        self.size = size
        self.digest = digest
    }
}

/// A command the agent runs in the unpacked version's directory before switching to it. Exit status 0 within
/// `timeoutSeconds` passes.
public struct HealthCheck: Codable, Sendable, Equatable {
    public var command: String
    public var timeoutSeconds: Int

    public init(command: String, timeoutSeconds: Int) {
        self.command = command
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case command
        case timeoutSeconds = "timeout_seconds"
    }
}

/// The digest of a version's file list: `sha256:` of the lines `<digest> <size> <path>\n` sorted by path. Equal
/// digests mean the same files with the same bytes at the same paths.
public enum ManifestDigest {
    public static func of(_ files: [DesiredFile]) -> String {
        var hasher = ContentHasher()
        for file in files.sorted(by: { $0.path < $1.path }) {
            hasher.add("\(file.digest) \(file.size) \(file.path)")
        }
        return "sha256:" + hasher.hex
    }
}
