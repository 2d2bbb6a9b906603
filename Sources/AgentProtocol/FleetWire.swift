public import Foundation

// JSON bodies of the fleet's administration routes (`/api/v1/deployments`, `/api/v1/fleet`, `/api/v1/agents`,
// `/api/v1/enrollment-tokens`), shared by the registry and its client so that both sides read the same fields.

/// `POST /api/v1/deployments`.
public struct CreateDeploymentRequest: Codable, Sendable, Equatable {
    public var name: String
    public var model: String
    /// `version`, `alias` or `stage`.
    public var selectorKind: String
    public var selector: String
    /// Label selector (`site=plant-3,gpu=jetson`); empty or absent: every agent.
    public var target: String?
    /// `all` (default), `canary`, `ab`.
    public var strategy: String?
    /// Canary share, or the A side's share of an A/B split (1–100).
    public var percent: Int?
    /// For `ab`: the B side's selector.
    public var otherSelectorKind: String?
    public var otherSelector: String?
    public var healthCheck: HealthCheck?
    /// Halt the rollout when more than this percentage of the agents that started it failed (0–100).
    public var failureThreshold: Int?

    public init(
        name: String,
        model: String,
        selectorKind: String,
        selector: String,
        target: String? = nil,
        strategy: String? = nil,
        percent: Int? = nil,
        otherSelectorKind: String? = nil,
        otherSelector: String? = nil,
        healthCheck: HealthCheck? = nil,
        failureThreshold: Int? = nil
    ) {
        self.name = name
        self.model = model
        self.selectorKind = selectorKind
        self.selector = selector
        self.target = target
        self.strategy = strategy
        self.percent = percent
        self.otherSelectorKind = otherSelectorKind
        self.otherSelector = otherSelector
        self.healthCheck = healthCheck
        self.failureThreshold = failureThreshold
    }

    enum CodingKeys: String, CodingKey {
        case name, model, selector, target, strategy, percent
        case selectorKind = "selector_kind"
        case otherSelectorKind = "other_selector_kind"
        case otherSelector = "other_selector"
        case healthCheck = "health_check"
        case failureThreshold = "failure_threshold"
    }
}

/// `POST /api/v1/deployments/{name}/{pause|resume|abort}` and `PATCH /api/v1/deployments/{name}` (strategy).
public struct DeploymentChangeRequest: Codable, Sendable, Equatable {
    public var reason: String?
    public var strategy: String?
    public var percent: Int?
    public var otherSelectorKind: String?
    public var otherSelector: String?

    public init(
        reason: String? = nil,
        strategy: String? = nil,
        percent: Int? = nil,
        otherSelectorKind: String? = nil,
        otherSelector: String? = nil
    ) {
        self.reason = reason
        self.strategy = strategy
        self.percent = percent
        self.otherSelectorKind = otherSelectorKind
        self.otherSelector = otherSelector
    }

    enum CodingKeys: String, CodingKey {
        case reason, strategy, percent
        case otherSelectorKind = "other_selector_kind"
        case otherSelector = "other_selector"
    }
}

/// A deployment with its rollout progress.
public struct DeploymentInfo: Codable, Sendable, Equatable {
    public var name: String
    public var model: String
    /// `:3`, `@champion`, `/Production` after the model name.
    public var selector: String
    public var target: String
    public var strategy: String
    public var percent: Int
    public var otherSelector: String?
    public var healthCheck: HealthCheck?
    public var failureThreshold: Int?
    public var status: String
    public var statusReason: String?
    public var rollout: Int64
    public var targetVersion: Int?
    public var baselineVersion: Int?
    public var otherVersion: Int?
    public var progress: RolloutProgress
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: String,
        model: String,
        selector: String,
        target: String,
        strategy: String,
        percent: Int,
        otherSelector: String?,
        healthCheck: HealthCheck?,
        failureThreshold: Int?,
        status: String,
        statusReason: String?,
        rollout: Int64,
        targetVersion: Int?,
        baselineVersion: Int?,
        otherVersion: Int?,
        progress: RolloutProgress,
        createdBy: String,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.name = name
        self.model = model
        self.selector = selector
        self.target = target
        self.strategy = strategy
        self.percent = percent
        self.otherSelector = otherSelector
        self.healthCheck = healthCheck
        self.failureThreshold = failureThreshold
        self.status = status
        self.statusReason = statusReason
        self.rollout = rollout
        self.targetVersion = targetVersion
        self.baselineVersion = baselineVersion
        self.otherVersion = otherVersion
        self.progress = progress
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case name, model, selector, target, strategy, percent, status, rollout, progress
        case otherSelector = "other_selector"
        case healthCheck = "health_check"
        case failureThreshold = "failure_threshold"
        case statusReason = "status_reason"
        case targetVersion = "target_version"
        case baselineVersion = "baseline_version"
        case otherVersion = "other_version"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// Where a rollout stands, counted over the agents its target matches.
public struct RolloutProgress: Codable, Sendable, Equatable {
    /// Agents whose labels match the deployment's target.
    public var targeted: Int
    /// Agents given the rollout's target version now.
    public var assigned: Int
    /// Agents that report the target version active.
    public var active: Int
    /// Agents whose install of the target version failed or was rolled back in this rollout.
    public var failed: Int
    /// Agents downloading, verifying, installing or health-checking the target version.
    public var inProgress: Int

    public init(targeted: Int, assigned: Int, active: Int, failed: Int, inProgress: Int) {
        self.targeted = targeted
        self.assigned = assigned
        self.active = active
        self.failed = failed
        self.inProgress = inProgress
    }

    enum CodingKeys: String, CodingKey {
        case targeted, assigned, active, failed
        case inProgress = "in_progress"
    }
}

/// `GET /api/v1/deployments`.
public struct DeploymentList: Codable, Sendable, Equatable {
    public var deployments: [DeploymentInfo]
    public init(deployments: [DeploymentInfo]) { self.deployments = deployments }
}

/// `POST /api/v1/enrollment-tokens`.
public struct CreateEnrollmentTokenRequest: Codable, Sendable, Equatable {
    public var labels: [String: String]?
    public var description: String?
    /// Seconds until the token expires unused (60 to 30 days; 24 h by default).
    public var expiresIn: Int?

    public init(labels: [String: String]? = nil, description: String? = nil, expiresIn: Int? = nil) {
        self.labels = labels
        self.description = description
        self.expiresIn = expiresIn
    }

    enum CodingKeys: String, CodingKey {
        case labels, description
        case expiresIn = "expires_in"
    }
}

/// An enrollment token as listed (never its secret).
public struct EnrollmentTokenInfo: Codable, Sendable, Equatable {
    public var id: String
    public var labels: [String: String]
    public var description: String
    /// `unused`, `used`, `expired`, `revoked`.
    public var status: String
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?
    public var usedBy: String?
    /// Only in the answer to its creation.
    public var token: String?

    public init(
        id: String,
        labels: [String: String],
        description: String,
        status: String,
        createdBy: String,
        createdAt: Date,
        expiresAt: Date,
        usedAt: Date?,
        usedBy: String?,
        token: String?
    ) {
        self.id = id
        self.labels = labels
        self.description = description
        self.status = status
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.usedBy = usedBy
        self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case id, labels, description, status, token
        case createdBy = "created_by"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case usedAt = "used_at"
        case usedBy = "used_by"
    }
}

/// `GET /api/v1/enrollment-tokens`.
public struct EnrollmentTokenList: Codable, Sendable, Equatable {
    public var tokens: [EnrollmentTokenInfo]
    public init(tokens: [EnrollmentTokenInfo]) { self.tokens = tokens }
}

/// `GET /api/v1/fleet`: agents with, per deployment that targets them, what they should run and what they report.
public struct FleetStatus: Codable, Sendable, Equatable {
    public var generation: Int64
    public var deployments: [DeploymentInfo]
    public var agents: [AgentStatus]

    public init(generation: Int64, deployments: [DeploymentInfo], agents: [AgentStatus]) {
        self.generation = generation
        self.deployments = deployments
        self.agents = agents
    }
}

/// One agent in the fleet view.
public struct AgentStatus: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var enrolledAt: Date
    public var lastSeen: Date?
    public var deployments: [AgentDeploymentStatus]

    public init(
        name: String,
        labels: [String: String],
        enrolledAt: Date,
        lastSeen: Date?,
        deployments: [AgentDeploymentStatus]
    ) {
        self.name = name
        self.labels = labels
        self.enrolledAt = enrolledAt
        self.lastSeen = lastSeen
        self.deployments = deployments
    }

    enum CodingKeys: String, CodingKey {
        case name, labels, deployments
        case enrolledAt = "enrolled_at"
        case lastSeen = "last_seen"
    }
}

/// An agent's state in one deployment.
public struct AgentDeploymentStatus: Codable, Sendable, Equatable {
    public var deployment: String
    public var model: String
    /// The version the registry wants it to run (nil: none from this deployment).
    public var desiredVersion: Int?
    /// The version of the model the agent last reported active.
    public var installedVersion: Int?
    /// The last step reported, with the version it was about (`nil` before any report).
    public var step: String?
    public var stepVersion: Int?
    public var rollout: Int64?
    public var bytesDone: Int64?
    public var bytesTotal: Int64?
    public var lastError: String?
    public var updatedAt: Date?

    public init(
        deployment: String,
        model: String,
        desiredVersion: Int?,
        installedVersion: Int?,
        step: String?,
        stepVersion: Int?,
        rollout: Int64?,
        bytesDone: Int64?,
        bytesTotal: Int64?,
        lastError: String?,
        updatedAt: Date?
    ) {
        self.deployment = deployment
        self.model = model
        self.desiredVersion = desiredVersion
        self.installedVersion = installedVersion
        self.step = step
        self.stepVersion = stepVersion
        self.rollout = rollout
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.lastError = lastError
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case deployment, model, step, rollout
        case desiredVersion = "desired_version"
        case installedVersion = "installed_version"
        case stepVersion = "step_version"
        case bytesDone = "bytes_done"
        case bytesTotal = "bytes_total"
        case lastError = "last_error"
        case updatedAt = "updated_at"
    }
}

/// `PUT /api/v1/agents/{name}/labels`.
public struct AgentLabelsRequest: Codable, Sendable, Equatable {
    public var labels: [String: String]
    public init(labels: [String: String]) { self.labels = labels }
}
