import Foundation
import Hummingbird
import Packager

// JSON of the MLflow REST API (protobuf messages in their JSON form: snake_case fields, int64 times as numbers,
// version numbers and experiment ids as strings).

struct KeyValueJSON: Codable, Sendable {
    var key: String
    var value: String?
}

struct AliasJSON: Codable, Sendable {
    var alias: String
    var version: String
}

struct RegisteredModelJSON: Encodable, Sendable {
    var name: String
    var creation_timestamp: Int64
    var last_updated_timestamp: Int64
    var description: String?
    var latest_versions: [ModelVersionJSON]?
    var tags: [KeyValueJSON]?
    var aliases: [AliasJSON]?

    init(_ model: Model, latest: [ModelVersion]) {
        name = model.name
        creation_timestamp = model.createdAt.millisecondsSince1970
        last_updated_timestamp = model.updatedAt.millisecondsSince1970
        description = model.description.isEmpty ? nil : model.description
        latest_versions = latest.isEmpty ? nil : latest.map(ModelVersionJSON.init)
        tags = model.tags.isEmpty ? nil : model.tags.keyValues
        aliases =
            model.aliases.isEmpty
            ? nil : model.aliases.sorted { $0.key < $1.key }.map { AliasJSON(alias: $0.key, version: String($0.value)) }
    }
}

struct ModelVersionJSON: Encodable, Sendable {
    var name: String
    var version: String
    var creation_timestamp: Int64
    var last_updated_timestamp: Int64
    var current_stage: String
    var description: String?
    var user_id: String?
    var source: String?
    var run_id: String?
    var status: String
    var status_message: String?
    var tags: [KeyValueJSON]?
    var run_link: String?
    var aliases: [String]?
    var model_id: String?

    init(_ version: ModelVersion) {
        name = version.model
        self.version = String(version.number)
        creation_timestamp = version.createdAt.millisecondsSince1970
        last_updated_timestamp = version.updatedAt.millisecondsSince1970
        current_stage = version.stage.rawValue
        description = version.description.isEmpty ? nil : version.description
        user_id = version.createdBy
        source = version.lineage.source
        run_id = version.lineage.runID
        switch version.status {
        case .pending: status = "PENDING_REGISTRATION"
        case .ready: status = "READY"
        case .failed: status = "FAILED_REGISTRATION"
        }
        status_message = version.failureReason
        tags = version.tags.isEmpty ? nil : version.tags.keyValues
        aliases = version.aliases.isEmpty ? nil : version.aliases
        model_id = version.lineage.loggedModelID
    }
}

struct ExperimentJSON: Encodable, Sendable {
    var experiment_id: String
    var name: String
    var artifact_location: String
    var lifecycle_stage: String
    var last_update_time: Int64
    var creation_time: Int64
    var tags: [KeyValueJSON]?

    init(_ experiment: Experiment) {
        experiment_id = String(experiment.id)
        name = experiment.name
        artifact_location = "mlflow-artifacts:/\(experiment.id)"
        lifecycle_stage = experiment.lifecycleStage
        last_update_time = experiment.updatedAt
        creation_time = experiment.createdAt
        tags = experiment.tags.isEmpty ? nil : experiment.tags.keyValues
    }
}

struct RunInfoJSON: Encodable, Sendable {
    var run_uuid: String
    var run_id: String
    var experiment_id: String
    var run_name: String
    var user_id: String
    var status: String
    var start_time: Int64?
    var end_time: Int64?
    var artifact_uri: String
    var lifecycle_stage: String

    init(_ run: Run) {
        run_uuid = run.id
        run_id = run.id
        experiment_id = String(run.experimentID)
        run_name = run.name
        user_id = run.userID
        status = run.status
        start_time = run.startTime
        end_time = run.endTime
        artifact_uri = "mlflow-artifacts:/\(run.artifactRoot)"
        lifecycle_stage = run.lifecycleStage
    }
}

struct MetricJSON: Encodable, Sendable {
    var key: String
    var value: Double
    var timestamp: Int64
    var step: Int64

    enum CodingKeys: String, CodingKey { case key, value, timestamp, step }

    /// Infinities as protobuf's JSON writes them (`"Infinity"`, `"-Infinity"`): JSON numbers cannot hold them.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        if value.isFinite {
            try container.encode(value, forKey: .value)
        } else {
            try container.encode(value > 0 ? "Infinity" : "-Infinity", forKey: .value)
        }
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(step, forKey: .step)
    }
}

struct RunJSON: Encodable, Sendable {
    struct Data: Encodable, Sendable {
        var metrics: [MetricJSON]?
        var params: [KeyValueJSON]?
        var tags: [KeyValueJSON]?
    }
    struct Inputs: Encodable, Sendable {}
    struct Outputs: Encodable, Sendable {
        struct ModelOutput: Encodable, Sendable {
            var model_id: String
            var step: Int64
        }
        var model_outputs: [ModelOutput]?
    }
    var info: RunInfoJSON
    var data: Data
    var inputs = Inputs()
    var outputs: Outputs

    init(_ run: Run) {
        info = RunInfoJSON(run)
        data = Data(
            // NaN is stored as NULL; JSON has no NaN, so such a value is left out rather than sent as invalid JSON.
            metrics: run.metrics.isEmpty
                ? nil
                : run.metrics.compactMap { metric in
                    metric.value.map {
                        MetricJSON(key: metric.key, value: $0, timestamp: metric.timestamp, step: metric.step)
                    }
                },
            params: run.params.isEmpty ? nil : run.params.keyValues,
            tags: run.tags.isEmpty ? nil : run.tags.keyValues
        )
        outputs = Outputs(
            model_outputs: run.outputs.isEmpty
                ? nil : run.outputs.map { Outputs.ModelOutput(model_id: $0.modelID, step: $0.step) }
        )
    }
}

struct LoggedModelJSON: Encodable, Sendable {
    struct Info: Encodable, Sendable {
        var model_id: String
        var experiment_id: String
        var name: String
        var creation_timestamp_ms: Int64
        var last_updated_timestamp_ms: Int64
        var artifact_uri: String
        var status: String
        var status_message: String?
        var model_type: String?
        var source_run_id: String?
        var tags: [KeyValueJSON]?
    }
    struct Data: Encodable, Sendable {
        var params: [KeyValueJSON]?
    }
    var info: Info
    var data: Data

    init(_ model: LoggedModel) {
        info = Info(
            model_id: model.id,
            experiment_id: String(model.experimentID),
            name: model.name,
            creation_timestamp_ms: model.createdAt,
            last_updated_timestamp_ms: model.updatedAt,
            artifact_uri: "mlflow-artifacts:/\(model.artifactRoot)",
            status: model.status,
            status_message: model.statusMessage,
            model_type: model.modelType,
            source_run_id: model.sourceRunID,
            tags: model.tags.isEmpty ? nil : model.tags.keyValues
        )
        data = Data(params: model.params.isEmpty ? nil : model.params.keyValues)
    }
}

/// `{}`.
struct EmptyJSON: ResponseEncodable, Sendable {}

extension Dictionary where Key == String, Value == String {
    var keyValues: [KeyValueJSON] { sorted { $0.key < $1.key }.map { KeyValueJSON(key: $0.key, value: $0.value) } }
}

extension Date {
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
