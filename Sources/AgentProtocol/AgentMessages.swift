import Foundation

/// A step of installing a deployment's version, as an agent reports it.
public enum AgentStep: String, Codable, Sendable, CaseIterable {
    /// Blobs are coming; `bytes_done`/`bytes_total` say how far.
    case downloading
    /// Digests and the bundle signature are being checked.
    case verifying
    /// The version is being unpacked into its own directory.
    case installing
    /// The deployment's health check is running on the unpacked version.
    case healthChecking = "health_checking"
    /// The version is the one `current` points to.
    case active
    /// The version could not be installed; the previous one is still active. `error` says why.
    case failed
    /// The version was switched to and then away from again (its reload failed); the previous one is active.
    case rolledBack = "rolled_back"

    /// Whether the step ends an attempt (the registry counts these for rollout progress and failure thresholds).
    public var isFinal: Bool { self == .active || self == .failed || self == .rolledBack }
    public var isFailure: Bool { self == .failed || self == .rolledBack }
}

/// `POST /api/v1/agent/reports`: where an agent is with one deployment.
public struct AgentReport: Codable, Sendable, Equatable {
    public var deployment: String
    public var rollout: Int64
    public var model: String
    public var version: Int
    public var step: AgentStep
    public var bytesDone: Int64?
    public var bytesTotal: Int64?
    /// Why the step failed (for `failed` and `rolled_back`).
    public var error: String?
    /// The version of the model that is active on the agent after this step (nil when none is).
    public var activeVersion: Int?

    public init(
        deployment: String,
        rollout: Int64,
        model: String,
        version: Int,
        step: AgentStep,
        bytesDone: Int64? = nil,
        bytesTotal: Int64? = nil,
        error: String? = nil,
        activeVersion: Int?
    ) {
        self.deployment = deployment
        self.rollout = rollout
        self.model = model
        self.version = version
        self.step = step
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.error = error
        self.activeVersion = activeVersion
    }

    enum CodingKeys: String, CodingKey {
        case deployment, rollout, model, version, step, error
        case bytesDone = "bytes_done"
        case bytesTotal = "bytes_total"
        case activeVersion = "active_version"
    }
}

/// `POST /api/v1/agent/enroll`: a one-time enrollment token exchanged for a device token.
public struct EnrollmentRequest: Codable, Sendable, Equatable {
    public var enrollmentToken: String
    /// The agent's name, unique in the registry (the device principal is `device:<name>`).
    public var name: String
    /// Labels the agent asks for; labels fixed by the enrollment token win over these.
    public var labels: [String: String]

    public init(enrollmentToken: String, name: String, labels: [String: String]) {
        self.enrollmentToken = enrollmentToken
        self.name = name
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey {
        case name, labels
        case enrollmentToken = "enrollment_token"
    }
}

/// The answer to an enrollment: the agent's device token (shown once) and the key its desired states are signed with.
public struct EnrollmentResponse: Codable, Sendable, Equatable {
    public var agent: String
    public var labels: [String: String]
    public var token: String
    public var registryKey: RegistryPublicKey

    public init(agent: String, labels: [String: String], token: String, registryKey: RegistryPublicKey) {
        self.agent = agent
        self.labels = labels
        self.token = token
        self.registryKey = registryKey
    }

    enum CodingKeys: String, CodingKey {
        case agent, labels, token
        case registryKey = "registry_key"
    }
}
