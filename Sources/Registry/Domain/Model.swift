public import Foundation
public import Packager

/// A named model: the unit that owns versions, stages, aliases and an audit trail.
public struct Model: Sendable, Equatable {
    public var name: String
    public var description: String
    public var tags: [String: String]
    /// Increases by one with every change to the model, its versions, stages or aliases; clients send it back in
    /// `If-Match` so that a concurrent change is reported instead of overwritten.
    public var revision: Int64
    /// Highest version number created so far (0 when there is none).
    public var latestVersion: Int?
    /// Alias name → version number.
    public var aliases: [String: Int]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        name: String,
        description: String = "",
        tags: [String: String] = [:],
        revision: Int64 = 1,
        latestVersion: Int? = nil,
        aliases: [String: Int] = [:],
        createdAt: Date,
        updatedAt: Date
    ) {
        self.name = name
        self.description = description
        self.tags = tags
        self.revision = revision
        self.latestVersion = latestVersion
        self.aliases = aliases
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Lifecycle of a version: created `PENDING`, then `READY` (immutable content) or `FAILED`.
public enum VersionStatus: String, Sendable, CaseIterable, Codable {
    case pending = "PENDING"
    case ready = "READY"
    case failed = "FAILED"
}

/// Deployment stage of a version. Several versions may share a stage; promotion can archive the others.
public enum Stage: String, Sendable, CaseIterable, Codable {
    case none = "None"
    case staging = "Staging"
    case production = "Production"
    case archived = "Archived"

    /// Parses a stage name case-insensitively (`production`, `PRODUCTION`, `Production`).
    ///
    /// - Throws: ``RegistryError`` `invalidArgument` listing the accepted names.
    public init(parsing text: String) throws(RegistryError) {
        guard let stage = Stage.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw .invalid(
                "invalid stage '\(Validation.printable(text))': expected one of \(Stage.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self = stage
    }
}

/// What a file of a version is for.
public enum FileRole: String, Sendable, CaseIterable, Codable {
    case model, weights, config, preprocessing, labels, signature, other

    public init(parsing text: String) throws(RegistryError) {
        guard let role = FileRole(rawValue: text) else {
            throw .invalid(
                "invalid file role '\(Validation.printable(text))': expected one of \(FileRole.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self = role
    }
}

/// One file of a version: its relative path, size, content digest and role.
public struct VersionFile: Sendable, Equatable {
    public var path: String
    public var size: Int64
    public var digest: Digest
    public var role: FileRole

    public init(path: String, size: Int64, digest: Digest, role: FileRole) {
        self.path = path
        self.size = size
        self.digest = digest
        self.role = role
    }
}

/// Where a version came from.
public struct Lineage: Sendable, Equatable {
    public var runID: String?
    public var source: String?
    public var gitCommit: String?
    public var datasetDigest: String?
    /// The MLflow logged model (`m-…`) the version was registered from, when it was.
    public var loggedModelID: String?

    public init(
        runID: String? = nil,
        source: String? = nil,
        gitCommit: String? = nil,
        datasetDigest: String? = nil,
        loggedModelID: String? = nil
    ) {
        self.runID = runID
        self.source = source
        self.gitCommit = gitCommit
        self.datasetDigest = datasetDigest
        self.loggedModelID = loggedModelID
    }
}

/// A version of a model.
public struct ModelVersion: Sendable, Equatable {
    public var model: String
    public var number: Int
    public var label: String?
    public var status: VersionStatus
    public var stage: Stage
    /// Aliases of the model that point to this version, sorted.
    public var aliases: [String]
    /// Declared at creation or detected when the version is committed; `nil` while PENDING and undeclared.
    public var format: ModelFormat?
    public var files: [VersionFile]
    public var metrics: [String: Double]
    public var params: [String: String]
    public var tags: [String: String]
    public var lineage: Lineage
    public var description: String
    public var failureReason: String?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        model: String,
        number: Int,
        label: String? = nil,
        status: VersionStatus,
        stage: Stage = .none,
        aliases: [String] = [],
        format: ModelFormat? = nil,
        files: [VersionFile],
        metrics: [String: Double] = [:],
        params: [String: String] = [:],
        tags: [String: String] = [:],
        lineage: Lineage = Lineage(),
        description: String = "",
        failureReason: String? = nil,
        createdBy: String,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.model = model
        self.number = number
        self.label = label
        self.status = status
        self.stage = stage
        self.aliases = aliases
        self.format = format
        self.files = files
        self.metrics = metrics
        self.params = params
        self.tags = tags
        self.lineage = lineage
        self.description = description
        self.failureReason = failureReason
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An entry of a model's append-only audit trail.
public struct AuditEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case modelCreated = "model.created"
        case modelUpdated = "model.updated"
        case modelDeleted = "model.deleted"
        /// Renamed through the MLflow-compatible API; `from` and `to` are the names.
        case modelRenamed = "model.renamed"
        case versionCreated = "version.created"
        case versionCommitted = "version.committed"
        case versionFailed = "version.failed"
        case versionUpdated = "version.updated"
        /// Deleted through the MLflow-compatible API, with its aliases.
        case versionDeleted = "version.deleted"
        case stageChanged = "stage.changed"
        case stageRolledBack = "stage.rolled_back"
        case aliasSet = "alias.set"
        case aliasDeleted = "alias.deleted"
        case aliasRolledBack = "alias.rolled_back"
        /// `subject` is the deployment's name; `to` summarises it.
        case deploymentCreated = "deployment.created"
        /// The strategy changed (`from` → `to`).
        case deploymentUpdated = "deployment.updated"
        case deploymentPaused = "deployment.paused"
        /// Paused by the registry because the failed share passed the threshold; `comment` has the counts.
        case deploymentHalted = "deployment.halted"
        case deploymentResumed = "deployment.resumed"
        case deploymentAborted = "deployment.aborted"
        /// The selector moved: a new rollout from version `from` to `to`.
        case deploymentRollout = "deployment.rollout"
        case deploymentDeleted = "deployment.deleted"
    }

    public var id: Int64
    public var model: String
    public var kind: Kind
    /// The version concerned, when there is one.
    public var version: Int?
    /// The stage or alias name for stage and alias events.
    public var subject: String?
    /// Value before the change (a stage name, a version number, or a summary), `nil` when there was none.
    public var from: String?
    /// Value after the change, `nil` when it was removed.
    public var to: String?
    public var actor: String
    public var comment: String?
    /// For rollback events, the id of the event they undo.
    public var revertsEventID: Int64?
    /// Model revision after the change.
    public var revision: Int64
    public var at: Date

    public init(
        id: Int64,
        model: String,
        kind: Kind,
        version: Int? = nil,
        subject: String? = nil,
        from: String? = nil,
        to: String? = nil,
        actor: String,
        comment: String? = nil,
        revertsEventID: Int64? = nil,
        revision: Int64,
        at: Date
    ) {
        self.id = id
        self.model = model
        self.kind = kind
        self.version = version
        self.subject = subject
        self.from = from
        self.to = to
        self.actor = actor
        self.comment = comment
        self.revertsEventID = revertsEventID
        self.revision = revision
        self.at = at
    }
}

/// The outcome of a stage change (promotion or rollback): which versions held the stage before and after.
public struct StageChange: Sendable, Equatable {
    public var model: String
    public var stage: Stage
    /// Versions holding ``stage`` before the change, ascending.
    public var holdersBefore: [Int]
    /// Versions holding ``stage`` after the change, ascending.
    public var holdersAfter: [Int]
    /// Every version whose stage changed, with its stage before and after.
    public var moves: [StageMove]
    public var revision: Int64
    public var eventID: Int64

    public init(
        model: String,
        stage: Stage,
        holdersBefore: [Int],
        holdersAfter: [Int],
        moves: [StageMove],
        revision: Int64,
        eventID: Int64
    ) {
        self.model = model
        self.stage = stage
        self.holdersBefore = holdersBefore
        self.holdersAfter = holdersAfter
        self.moves = moves
        self.revision = revision
        self.eventID = eventID
    }
}

/// One version moving from one stage to another.
public struct StageMove: Sendable, Equatable, Codable {
    public var version: Int
    public var from: Stage
    public var to: Stage

    public init(version: Int, from: Stage, to: Stage) {
        self.version = version
        self.from = from
        self.to = to
    }
}

/// The outcome of an alias change: the version it pointed to before and after (`nil` for none).
public struct AliasChange: Sendable, Equatable {
    public var model: String
    public var alias: String
    public var from: Int?
    public var to: Int?
    public var revision: Int64
    public var eventID: Int64

    public init(model: String, alias: String, from: Int?, to: Int?, revision: Int64, eventID: Int64) {
        self.model = model
        self.alias = alias
        self.from = from
        self.to = to
        self.revision = revision
        self.eventID = eventID
    }
}
