public import Foundation

// Wire types of versions, stages and aliases.

/// Deployment stage of a version.
public enum RemoteStage: String, Codable, Sendable, CaseIterable {
    /// Not staged.
    case none = "None"
    /// Staging.
    case staging = "Staging"
    /// Production.
    case production = "Production"
    /// Archived.
    case archived = "Archived"
}

/// Lifecycle of a version.
public enum RemoteVersionStatus: String, Codable, Sendable, CaseIterable {
    /// Created, files may still be missing.
    case pending = "PENDING"
    /// Committed: every blob present; files never change again.
    case ready = "READY"
    /// Abandoned.
    case failed = "FAILED"
}

/// A file of a version: its path, size, digest and role.
public struct RemoteFile: Codable, Sendable, Equatable, Hashable {
    /// Relative `/`-separated path inside the version.
    public var path: String
    /// Size in bytes.
    public var size: Int64
    /// `sha256:<64 hex>`.
    public var digest: String
    /// `model`, `weights`, `config`, `preprocessing`, `labels`, `signature` or `other`; `nil` means `model`.
    public var role: String?

    /// Creates a file entry.
    ///
    /// - Parameters:
    ///   - path: relative path inside the version.
    ///   - size: size in bytes.
    ///   - digest: `sha256:<hex>`.
    ///   - role: the file's role; the registry assumes `model` when `nil`.
    public init(path: String, size: Int64, digest: String, role: String? = nil) {
        self.path = path
        self.size = size
        self.digest = digest
        self.role = role
    }
}

/// Where a version comes from.
public struct RemoteLineage: Codable, Sendable, Equatable {
    /// Training run id.
    public var runID: String?
    /// Source (script, notebook, URL).
    public var source: String?
    /// Git commit of the training code.
    public var gitCommit: String?
    /// Digest of the training data set.
    public var datasetDigest: String?

    /// Creates a lineage.
    ///
    /// - Parameters:
    ///   - runID: training run id.
    ///   - source: source of the training code.
    ///   - gitCommit: git commit of the training code.
    ///   - datasetDigest: digest of the data set.
    public init(runID: String? = nil, source: String? = nil, gitCommit: String? = nil, datasetDigest: String? = nil) {
        self.runID = runID
        self.source = source
        self.gitCommit = gitCommit
        self.datasetDigest = datasetDigest
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case source
        case gitCommit = "git_commit"
        case datasetDigest = "dataset_digest"
    }
}

/// A version of a model as the registry returns it.
public struct RemoteVersion: Codable, Sendable, Equatable {
    /// The model's name.
    public var model: String
    /// Per-model number, 1, 2, 3…
    public var version: Int
    /// Optional free label such as `1.0.0-20230801`.
    public var label: String?
    /// PENDING, READY or FAILED.
    public var status: RemoteVersionStatus
    /// Current stage.
    public var stage: RemoteStage
    /// Aliases pointing at this version.
    public var aliases: [String]
    /// Detected or declared format (`onnx`, `safetensors`…), if known.
    public var format: String?
    /// The files.
    public var files: [RemoteFile]
    /// Metrics.
    public var metrics: [String: Double]
    /// Parameters.
    public var params: [String: String]
    /// Tags.
    public var tags: [String: String]
    /// Lineage.
    public var lineage: RemoteLineage
    /// Free text.
    public var description: String
    /// Why the version was marked FAILED.
    public var failureReason: String?
    /// Who created it.
    public var createdBy: String
    /// Creation time.
    public var createdAt: Date
    /// Time of the last change.
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case model, version, label, status, stage, aliases, format, files, metrics, params, tags, lineage, description
        case failureReason = "failure_reason"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// One page of ``RemoteVersion``s.
public struct RemoteVersionPage: Codable, Sendable, Equatable {
    /// The versions of this page.
    public var versions: [RemoteVersion]
    /// Pass as `pageToken` for the next page; `nil` on the last page.
    public var nextPageToken: String?

    enum CodingKeys: String, CodingKey {
        case versions
        case nextPageToken = "next_page_token"
    }
}

/// What a new version holds: its files (uploaded as blobs before or after) and metadata.
public struct NewRemoteVersion: Encodable, Sendable, Equatable {
    /// Optional free label, unique per model.
    public var label: String?
    /// Declared format; detected at commit when `nil`.
    public var format: String?
    /// The files.
    public var files: [RemoteFile]
    /// Metrics.
    public var metrics: [String: Double]?
    /// Parameters.
    public var params: [String: String]?
    /// Tags.
    public var tags: [String: String]?
    /// Lineage.
    public var lineage: RemoteLineage?
    /// Free text.
    public var description: String?

    /// Creates a version description.
    ///
    /// - Parameters:
    ///   - files: the files, with their digests.
    ///   - label: optional free label.
    ///   - format: declared format, detected at commit when `nil`.
    ///   - metrics: metrics.
    ///   - params: parameters.
    ///   - tags: tags.
    ///   - lineage: lineage.
    ///   - description: free text.
    public init(
        files: [RemoteFile],
        label: String? = nil,
        format: String? = nil,
        metrics: [String: Double]? = nil,
        params: [String: String]? = nil,
        tags: [String: String]? = nil,
        lineage: RemoteLineage? = nil,
        description: String? = nil
    ) {
        self.files = files
        self.label = label
        self.format = format
        self.metrics = metrics
        self.params = params
        self.tags = tags
        self.lineage = lineage
        self.description = description
    }
}

/// The outcome of a promotion or stage rollback.
public struct RemoteStageChange: Codable, Sendable, Equatable {
    /// A version that moved between stages.
    public struct Move: Codable, Sendable, Equatable {
        /// The version.
        public var version: Int
        /// Its stage before.
        public var from: RemoteStage
        /// Its stage after.
        public var to: RemoteStage
    }

    /// The model.
    public var model: String
    /// The stage that changed.
    public var stage: RemoteStage
    /// Versions holding the stage before.
    public var from: [Int]
    /// Versions holding the stage after.
    public var to: [Int]
    /// Every version that moved (the promoted one, and any archived).
    public var moves: [Move]
    /// The model's revision after the change.
    public var revision: Int64
    /// The audit event recording it.
    public var eventID: Int64

    enum CodingKeys: String, CodingKey {
        case model, stage, from, to, moves, revision
        case eventID = "event_id"
    }
}

/// The outcome of setting, deleting or rolling back an alias.
public struct RemoteAliasChange: Codable, Sendable, Equatable {
    /// The model.
    public var model: String
    /// The alias.
    public var alias: String
    /// The version it pointed at before, if any.
    public var from: Int?
    /// The version it points at now, `nil` when deleted.
    public var to: Int?
    /// The model's revision after the change.
    public var revision: Int64
    /// The audit event recording it.
    public var eventID: Int64

    enum CodingKeys: String, CodingKey {
        case model, alias, from, to, revision
        case eventID = "event_id"
    }
}

/// A model's aliases.
public struct RemoteAliases: Codable, Sendable, Equatable {
    /// The model.
    public var model: String
    /// Alias name to version number.
    public var aliases: [String: Int]
    /// The model's revision.
    public var revision: Int64
}

// MARK: Requests

struct SetStageBody: Encodable {
    var stage: String
    var archiveExisting: Bool?
    var comment: String?

    enum CodingKeys: String, CodingKey {
        case stage, comment
        case archiveExisting = "archive_existing"
    }
}

struct SetAliasBody: Encodable {
    var version: Int
    var comment: String?
}

struct CommentBody: Encodable {
    var comment: String?
}

struct FailBody: Encodable {
    var reason: String
}
