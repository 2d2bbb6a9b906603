public import Foundation
public import Packager

// The tracking data of the MLflow-compatible API: just what the MLflow client needs to log a model and register it.
// Times are milliseconds since the epoch, as MLflow exchanges them.

/// An MLflow experiment: a named group of runs. Experiment 0, `Default`, always exists.
public struct Experiment: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var lifecycleStage: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var tags: [String: String]
}

/// One value of a metric at a step.
public struct MetricValue: Sendable, Equatable {
    public var key: String
    /// `nil` for NaN (SQLite stores NaN as NULL).
    public var value: Double?
    public var timestamp: Int64
    public var step: Int64

    public init(key: String, value: Double?, timestamp: Int64, step: Int64) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step
    }
}

/// A training run: parameters, metrics, tags and the models it produced.
public struct Run: Sendable, Equatable {
    public var id: String
    public var experimentID: Int64
    public var name: String
    public var userID: String
    public var status: String
    public var startTime: Int64?
    public var endTime: Int64?
    public var lifecycleStage: String
    public var params: [String: String]
    /// The latest value of each metric (highest step, then latest timestamp).
    public var metrics: [MetricValue]
    public var tags: [String: String]
    /// Logged models the run produced, with the step they were logged at.
    public var outputs: [RunOutput]
    /// The principal that created the run: only it (or an administrator) may change it or its artifacts.
    public var createdBy: String

    /// `<experiment>/<run>/artifacts`: where the run's artifacts live in the artifact tree.
    public var artifactRoot: String { "\(experimentID)/\(id)/artifacts" }
}

public struct RunOutput: Sendable, Equatable {
    public var modelID: String
    public var step: Int64

    public init(modelID: String, step: Int64) {
        self.modelID = modelID
        self.step = step
    }
}

/// An MLflow 3 logged model: a model's files and metadata, logged from a run, that a model version can be made of.
public struct LoggedModel: Sendable, Equatable {
    public var id: String
    public var experimentID: Int64
    public var name: String
    public var sourceRunID: String?
    public var modelType: String?
    public var status: String
    public var statusMessage: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    public var tags: [String: String]
    public var params: [String: String]
    /// The principal that created it: only it (or an administrator) may change it or its artifacts.
    public var createdBy: String

    /// `<experiment>/models/<id>/artifacts`.
    public var artifactRoot: String { "\(experimentID)/models/\(id)/artifacts" }

    public static let statuses = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"]
}

/// A file of the artifact tree.
public struct ArtifactFile: Sendable, Equatable {
    public var path: String
    public var digest: Digest
    public var size: Int64

    public init(path: String, digest: Digest, size: Int64) {
        self.path = path
        self.digest = digest
        self.size = size
    }
}

/// Durable tracking data and the artifact tree of the MLflow-compatible API.
///
/// Like ``MetadataStore``, every change is one transaction and errors are ``RegistryError``s.
public protocol TrackingStore: Sendable {
    // MARK: Experiments
    func createExperiment(name: String, tags: [String: String], actor: Principal) async throws -> Experiment
    func experiment(id: Int64) async throws -> Experiment
    func experiment(named name: String) async throws -> Experiment
    func setExperimentTags(id: Int64, tags: [(String, String)]) async throws
    /// Active experiments, oldest first.
    func experiments() async throws -> [Experiment]

    // MARK: Runs
    func createRun(
        experimentID: Int64,
        name: String,
        userID: String,
        startTime: Int64?,
        tags: [String: String],
        actor: Principal
    ) async throws -> Run
    func run(id: String) async throws -> Run
    /// The run without its params, metrics, tags and outputs (which stay empty): for checks of its experiment,
    /// creator and state.
    func runInfo(id: String) async throws -> Run
    func updateRun(id: String, status: String?, endTime: Int64?, name: String?) async throws -> Run
    /// Logs params (refusing a changed value of a logged key), metric values and tags in one transaction.
    func logBatch(
        runID: String,
        params: [(String, String)],
        metrics: [MetricValue],
        tags: [(String, String)]
    ) async throws
    func deleteRunTag(runID: String, key: String) async throws
    /// Every logged value of a metric, in logging order.
    func metricHistory(runID: String, key: String) async throws -> [MetricValue]
    /// Active runs of the given experiments.
    func runs(experimentIDs: [Int64]) async throws -> [Run]
    func recordRunOutputs(runID: String, _ outputs: [RunOutput]) async throws

    // MARK: Logged models
    func createLoggedModel(
        experimentID: Int64,
        name: String,
        sourceRunID: String?,
        modelType: String?,
        tags: [String: String],
        params: [String: String],
        actor: Principal
    ) async throws -> LoggedModel
    func loggedModel(id: String) async throws -> LoggedModel
    func updateLoggedModel(
        id: String,
        status: String?,
        setTags: [String: String],
        removeTags: [String],
        params: [String: String]
    ) async throws -> LoggedModel
    /// Logged models of the given experiments, newest first.
    func loggedModels(experimentIDs: [Int64]) async throws -> [LoggedModel]
    /// The newest logged model of that name produced by a run (how `runs:/<run>/<name>` is resolved in MLflow 3).
    func loggedModel(run: String, name: String) async throws -> LoggedModel?

    // MARK: Artifact tree
    /// Adds or replaces the file at `path`.
    func putArtifact(_ file: ArtifactFile, actor: Principal) async throws
    func artifact(path: String) async throws -> ArtifactFile?
    /// Every file under the directory `path` (recursively), sorted by path; `path` empty for the whole tree.
    func artifacts(under path: String) async throws -> [ArtifactFile]
    /// Deletes the file at `path`, or every file under it when it is a directory; returns how many were deleted.
    func deleteArtifacts(path: String) async throws -> Int

    // MARK: Model registry views
    /// Versions of the named models (every model when `nil`), with their files and metadata.
    func versions(ofModels names: [String]?) async throws -> [ModelVersion]
    /// For each stage, the highest-numbered version that holds it (MLflow's "latest versions").
    func latestVersionPerStage(model: String) async throws -> [ModelVersion]
    /// What a registered-model search filters and sorts on, for every model (or those whose name starts with
    /// `prefix`, or the one named `name`), sorted by name. One read, however many models there are.
    func modelSummaries(prefix: String?, name: String?) async throws -> [ModelSummary]
    /// The named models with, for each, its latest version per stage; names that no longer exist are left out. One
    /// read, so a page of a search is consistent.
    func registeredModels(named names: [String]) async throws -> [(model: Model, latest: [ModelVersion])]
    /// What a model-version search filters and sorts on, for every version of the named models (every model when
    /// `nil`). One read.
    func versionSummaries(ofModels names: [String]?) async throws -> [VersionSummary]
    /// The given versions, in the order given; versions that no longer exist are left out. One read.
    func versions(_ keys: [VersionSummary.Key]) async throws -> [ModelVersion]
}

/// A registered model as a search sees it: what it filters and sorts on, without versions or aliases.
public struct ModelSummary: Sendable, Equatable {
    public var name: String
    public var tags: [String: String]
    public var createdAt: Date
    public var updatedAt: Date
}

/// A model version as a search sees it: what it filters and sorts on, without files or details.
public struct VersionSummary: Sendable, Equatable {
    public struct Key: Sendable, Hashable {
        public var model: String
        public var number: Int
    }
    public var key: Key
    public var runID: String?
    public var source: String?
    public var tags: [String: String]
    public var createdAt: Date
    public var updatedAt: Date
}
