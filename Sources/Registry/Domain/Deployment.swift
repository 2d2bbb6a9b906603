public import AgentProtocol
public import Foundation

/// Which version of its model a deployment sends: a pinned number, or whatever an alias or a stage points to (and
/// then it follows promotions and rollbacks).
public enum VersionSelector: Sendable, Equatable, CustomStringConvertible {
    case version(Int)
    case alias(String)
    case stage(Stage)

    /// Parses `3`, `@champion` or `/production` (the part of a reference after the model name: `NAME:3`,
    /// `NAME@champion`, `NAME/Production`).
    public init(kind: String, value: String) throws(RegistryError) {
        switch kind {
        case "version":
            guard let number = Int(value), number > 0 else {
                throw .invalid("invalid version '\(Validation.printable(value))': expected a positive number")
            }
            self = .version(number)
        case "alias":
            try Validation.alias(value)
            self = .alias(value)
        case "stage":
            let stage = try Stage(parsing: value)
            guard stage == .staging || stage == .production else {
                throw .invalid("a deployment follows the Staging or Production stage, not \(stage.rawValue)")
            }
            self = .stage(stage)
        default:
            throw .invalid(
                "invalid selector kind '\(Validation.printable(kind))': expected one of version, alias, stage"
            )
        }
    }

    public var kind: String {
        switch self {
        case .version: "version"
        case .alias: "alias"
        case .stage: "stage"
        }
    }

    public var value: String {
        switch self {
        case .version(let number): String(number)
        case .alias(let alias): alias
        case .stage(let stage): stage.rawValue
        }
    }

    /// `:3`, `@champion`, `/Production`: how it reads after a model name.
    public var description: String {
        switch self {
        case .version(let number): ":\(number)"
        case .alias(let alias): "@\(alias)"
        case .stage(let stage): "/\(stage.rawValue)"
        }
    }
}

/// How a deployment's version reaches the agents it targets.
public enum DeploymentStrategy: Sendable, Equatable {
    /// Every targeted agent at once.
    case all
    /// The given percentage of targeted agents (chosen by rendezvous hashing of agent and deployment names, so the
    /// same agents stay in the canary as it widens); the others keep the baseline version.
    case canary(percent: Int)
    /// `percent` of the agents run the selected version, the others the `other` selector's version.
    case ab(percent: Int, other: VersionSelector)

    public var name: String {
        switch self {
        case .all: "all"
        case .canary: "canary"
        case .ab: "ab"
        }
    }

    /// The share of agents that get the deployment's own selector.
    public var percent: Int {
        switch self {
        case .all: 100
        case .canary(let percent), .ab(let percent, _): percent
        }
    }
}

/// Where a deployment's rollout stands.
public enum DeploymentStatus: String, Sendable, Equatable, Codable, CaseIterable {
    /// Agents are given the version as the strategy says.
    case active
    /// Agents that had started the rollout keep the new version; nobody else is given it until resumed.
    case paused
    /// Every agent is sent back to the baseline version.
    case aborted
}

/// A deployment as the registry stores it.
public struct Deployment: Sendable, Equatable {
    public var name: String
    public var model: String
    public var selector: VersionSelector
    /// The agents it targets (`site=plant-3,gpu=jetson`; empty: every agent).
    public var target: LabelSelector
    public var strategy: DeploymentStrategy
    public var healthCheck: HealthCheck?
    /// Halt (pause) the rollout when more than this percentage of the agents that started it failed.
    public var failureThreshold: Int?
    public var status: DeploymentStatus
    public var statusReason: String?
    /// Grows each time the selector resolves to a new version.
    public var rollout: Int64
    /// The version the current rollout sends (nil while the selector resolves to nothing).
    public var targetVersion: Int?
    /// The version agents had before the current rollout (nil for the first rollout).
    public var baselineVersion: Int?
    /// For A/B: the version of the `other` selector.
    public var otherVersion: Int?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// What a caller asks for when creating a deployment.
public struct NewDeployment: Sendable {
    public var name: String
    public var model: String
    public var selector: VersionSelector
    public var target: LabelSelector
    public var strategy: DeploymentStrategy
    public var healthCheck: HealthCheck?
    public var failureThreshold: Int?

    public init(
        name: String,
        model: String,
        selector: VersionSelector,
        target: LabelSelector,
        strategy: DeploymentStrategy,
        healthCheck: HealthCheck?,
        failureThreshold: Int?
    ) {
        self.name = name
        self.model = model
        self.selector = selector
        self.target = target
        self.strategy = strategy
        self.healthCheck = healthCheck
        self.failureThreshold = failureThreshold
    }
}

/// A change to a deployment.
public enum DeploymentChange: Sendable, Equatable {
    case pause(reason: String?)
    case resume
    case abort(reason: String?)
    /// A new strategy (widening a canary, changing A/B weights); the rollout and its version stay.
    case strategy(DeploymentStrategy)
}

/// An enrolled agent.
public struct AgentRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var labels: [String: String]
    public var enrolledAt: Date
    public var lastSeen: Date?
}

/// A one-time enrollment token as the registry lists it (never its secret).
public struct EnrollmentTokenRecord: Sendable, Equatable {
    public var id: String
    public var labels: [String: String]
    public var description: String
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?
    public var usedBy: String?
    public var revokedAt: Date?

    public enum Status: String, Sendable {
        case unused, used, expired, revoked
    }

    public func status(at now: Date) -> Status {
        if revokedAt != nil { return .revoked }
        if usedAt != nil { return .used }
        if expiresAt <= now { return .expired }
        return .unused
    }
}

/// The last step an agent reported for a deployment.
public struct AgentDeploymentState: Sendable, Equatable {
    public var agentID: Int64
    public var deployment: String
    public var rollout: Int64
    public var version: Int
    public var step: AgentStep
    public var bytesDone: Int64?
    public var bytesTotal: Int64?
    public var error: String?
    public var activeVersion: Int?
    public var updatedAt: Date
}

/// A version's files as agents get them, with its label.
public struct DeployableVersion: Sendable, Equatable {
    public var number: Int
    public var label: String?
    public var files: [DesiredFile]
}

/// Everything desired states are computed from, read in one transaction.
public struct FleetSnapshot: Sendable {
    public var generation: Int64
    public var agents: [AgentRecord]
    /// Principal name → agent (an agent's principal has the agent's name).
    public var deployments: [Deployment]
    /// Model name → version number → files.
    public var versions: [String: [Int: DeployableVersion]]
    /// Deployment name → agent ids that had started the rollout when it was paused.
    public var members: [String: Set<Int64>]
    /// Deployment name → agent id → last report.
    public var states: [String: [Int64: AgentDeploymentState]]
}
