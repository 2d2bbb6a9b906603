import Foundation
import Hummingbird

/// The tracking subset the MLflow client needs to log a model and register it: experiments, runs, logged models and
/// `server-info`. Tracking data is not tied to a registered model: the route table requires writer on some model
/// (a training job's role) for all of it.
struct MLflowTrackingController {
    let mlflow: MLflowService
    var store: any MetadataStore { mlflow.store }

    static let maxKeyLength = 250
    static let maxParamValueLength = 6000
    static let maxTagValueLength = 8000

    func add(to router: Router<RegistryRequestContext>) {
        let experiments = router.group("/api/2.0/mlflow/experiments")
        experiments.get("get-by-name", use: experimentByName)
        experiments.post("create", use: createExperiment)
        experiments.get("get", use: getExperiment)
        experiments.post("set-experiment-tag", use: setExperimentTag)
        experiments.post("search", use: searchExperiments)
        experiments.get("search", use: searchExperiments)

        let runs = router.group("/api/2.0/mlflow/runs")
        runs.post("create", use: createRun)
        runs.get("get", use: getRun)
        runs.post("update", use: updateRun)
        runs.post("log-parameter", use: logParameter)
        runs.post("log-metric", use: logMetric)
        runs.post("log-batch", use: logBatch)
        runs.post("set-tag", use: setRunTag)
        runs.post("delete-tag", use: deleteRunTag)
        runs.post("search", use: searchRuns)
        runs.post("outputs", use: logOutputs)

        router.get("/api/2.0/mlflow/metrics/get-history", use: metricHistory)

        let models = router.group("/api/2.0/mlflow/logged-models")
        models.post(use: createLoggedModel)
        models.post("search", use: searchLoggedModels)
        models.get(":model_id", use: getLoggedModel)
        models.patch(":model_id", use: finalizeLoggedModel)
        models.patch(":model_id/tags", use: setLoggedModelTags)
        models.delete(":model_id/tags/:tag_key", use: deleteLoggedModelTag)
        models.post(":model_id/params", use: logLoggedModelParams)

        router.get("/api/3.0/mlflow/server-info", use: serverInfo)
    }

    // MARK: Experiments

    struct ExperimentResponse: ResponseEncodable {
        var experiment: ExperimentJSON
    }

    @Sendable func experimentByName(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> ExperimentResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let name = try parameters.required("experiment_name")
        do {
            return ExperimentResponse(experiment: ExperimentJSON(try await store.experiment(named: name)))
        } catch let error as RegistryError where error.code == .notFound {
            throw RegistryError.notFound("Could not find experiment with name '\(Validation.printable(name))'")
        }
    }

    struct CreateExperimentResponse: ResponseEncodable {
        var experiment_id: String
    }

    @Sendable func createExperiment(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> CreateExperimentResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let name = try parameters.required("name")
        try Self.text(name, field: "name", maxLength: 500)
        if let location = try parameters.string("artifact_location"), !location.isEmpty {
            throw RegistryError.invalid(
                "artifact_location '\(Validation.printable(location))' is not accepted: artifacts of every experiment are kept in the registry's store (mlflow-artifacts:/<experiment_id>)"
            )
        }
        let tags = try Self.tags(try parameters.keyValues("tags"))
        let experiment = try await store.createExperiment(
            name: name,
            tags: Dictionary(tags, uniquingKeysWith: { _, last in last }),
            actor: context.principal
        )
        return CreateExperimentResponse(experiment_id: String(experiment.id))
    }

    @Sendable func getExperiment(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> ExperimentResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        return ExperimentResponse(
            experiment: ExperimentJSON(try await store.experiment(id: try Self.experimentID(parameters)))
        )
    }

    @Sendable func setExperimentTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let tag = try Self.tags([(try parameters.required("key"), try parameters.string("value") ?? "")])
        try await store.setExperimentTags(id: try Self.experimentID(parameters), tags: tag)
        return EmptyJSON()
    }

    struct ExperimentsResponse: ResponseEncodable {
        var experiments: [ExperimentJSON]?
        var next_page_token: String?
    }

    /// Active experiments; the filter may compare `name` (`=`, `!=`, `LIKE`, `ILIKE`) and tags.
    @Sendable func searchExperiments(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> ExperimentsResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let filter = try SearchFilter(
            parsing: try parameters.string("filter"),
            vocabulary: FilterVocabulary(
                attributes: ["name": .string],
                tags: true,
                params: false,
                metrics: false,
                entity: "experiment"
            )
        )
        let size = try parameters.maxResults(default: 1000, limit: 50_000)
        let offset = try parameters.pageOffset()
        let experiments = try await store.experiments().filter { experiment in
            filter.matches { operand in
                switch operand {
                case .attribute: .string(experiment.name)
                case .tag(let key): experiment.tags[key].map(FilterOperandValue.string)
                default: nil
                }
            }
        }
        let page = mlflowPage(experiments, offset: offset, size: size)
        return ExperimentsResponse(
            experiments: page.items.isEmpty ? nil : page.items.map(ExperimentJSON.init),
            next_page_token: page.next
        )
    }

    // MARK: Runs

    struct RunResponse: ResponseEncodable {
        var run: RunJSON
    }

    @Sendable func createRun(_ request: Request, context: RegistryRequestContext) async throws -> RunResponse {
        let parameters = try await MLflowParameters.read(request, context: context)
        let experimentID = try parameters.has("experiment_id") ? Self.experimentID(parameters) : 0
        let tags = try Self.tags(try parameters.keyValues("tags"))
        var name = try parameters.string("run_name") ?? ""
        if name.isEmpty, let tagged = tags.last(where: { $0.0 == "mlflow.runName" })?.1 { name = tagged }
        try Self.text(name, field: "run_name", maxLength: 250)
        let userID = try parameters.string("user_id") ?? ""
        try Self.text(userID, field: "user_id", maxLength: 250)
        var tagMap = Dictionary(tags, uniquingKeysWith: { _, last in last })
        if !name.isEmpty { tagMap["mlflow.runName"] = name }
        let run = try await store.createRun(
            experimentID: experimentID,
            name: name,
            userID: userID,
            startTime: try parameters.int("start_time"),
            tags: tagMap,
            actor: context.principal
        )
        return RunResponse(run: RunJSON(run))
    }

    @Sendable func getRun(_ request: Request, context: RegistryRequestContext) async throws -> RunResponse {
        let parameters = try await MLflowParameters.read(request, context: context)
        return RunResponse(run: RunJSON(try await store.run(id: try Self.runID(parameters))))
    }

    struct RunInfoResponse: ResponseEncodable {
        var run_info: RunInfoJSON
    }

    static let runStatuses = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]

    @Sendable func updateRun(_ request: Request, context: RegistryRequestContext) async throws -> RunInfoResponse {
        let parameters = try await MLflowParameters.read(request, context: context)
        let status = try parameters.string("status")
        if let status, !Self.runStatuses.contains(status) {
            throw RegistryError.invalid(
                "Invalid value '\(Validation.printable(status))' for parameter 'status': expected one of \(Self.runStatuses.joined(separator: ", "))"
            )
        }
        let name = try parameters.string("run_name")
        if let name { try Self.text(name, field: "run_name", maxLength: 250) }
        let run = try await store.updateRun(
            id: try await ownedRun(parameters, context),
            status: status,
            endTime: try parameters.int("end_time"),
            name: name
        )
        return RunInfoResponse(run_info: RunInfoJSON(run))
    }

    @Sendable func logParameter(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let param = try Self.param(try parameters.required("key"), try parameters.string("value") ?? "")
        try await store.logBatch(runID: try await ownedRun(parameters, context), params: [param], metrics: [], tags: [])
        return EmptyJSON()
    }

    @Sendable func logMetric(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let key = try parameters.required("key")
        guard let value = try parameters.double("value") else {
            throw RegistryError.invalid("Missing value for required parameter 'value'")
        }
        let metric = try Self.metric(
            key: key,
            value: value,
            timestamp: try parameters.int("timestamp") ?? Date().millisecondsSince1970,
            step: try parameters.int("step") ?? 0
        )
        try await store.logBatch(
            runID: try await ownedRun(parameters, context),
            params: [],
            metrics: [metric],
            tags: []
        )
        return EmptyJSON()
    }

    @Sendable func logBatch(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let params = try parameters.keyValues("params").map { try Self.param($0.0, $0.1) }
        let metrics = try parameters.objects("metrics").map { object -> MetricValue in
            guard case .string(let key) = object["key"] ?? .null else {
                throw RegistryError.invalid("Invalid value for parameter 'metrics': every metric needs a 'key'")
            }
            let value: Double
            switch object["value"] ?? .null {
            case .number(let number): value = number
            case .string(let text) where Double(text) != nil: value = Double(text) ?? .nan
            default:
                throw RegistryError.invalid(
                    "Invalid value for parameter 'metrics': metric '\(Validation.printable(key))' needs a numeric 'value'"
                )
            }
            return try Self.metric(
                key: key,
                value: value,
                timestamp: object["timestamp"]?.int64 ?? Date().millisecondsSince1970,
                step: object["step"]?.int64 ?? 0
            )
        }
        guard params.count <= 100, metrics.count <= 1000, params.count + metrics.count <= 1000 else {
            throw RegistryError.invalid(
                "A batch logging request can contain at most 1000 metrics, 100 params and 1000 entries in total"
            )
        }
        try await store.logBatch(
            runID: try await ownedRun(parameters, context),
            params: params,
            metrics: metrics,
            tags: try Self.tags(try parameters.keyValues("tags"))
        )
        return EmptyJSON()
    }

    @Sendable func setRunTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let tags = try Self.tags([(try parameters.required("key"), try parameters.string("value") ?? "")])
        try await store.logBatch(runID: try await ownedRun(parameters, context), params: [], metrics: [], tags: tags)
        return EmptyJSON()
    }

    @Sendable func deleteRunTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        try await store.deleteRunTag(
            runID: try await ownedRun(parameters, context),
            key: try parameters.required("key")
        )
        return EmptyJSON()
    }

    struct RunsResponse: ResponseEncodable {
        var runs: [RunJSON]?
        var next_page_token: String?
    }

    @Sendable func searchRuns(_ request: Request, context: RegistryRequestContext) async throws -> RunsResponse {
        let parameters = try await MLflowParameters.read(request, context: context)
        let filter = try SearchFilter(parsing: try parameters.string("filter"), vocabulary: .runs)
        let order = try SearchOrder(
            parsing: try parameters.strings("order_by"),
            allowed: [
                "start_time": "start_time", "attributes.start_time": "start_time", "end_time": "end_time",
                "attributes.end_time": "end_time", "run_name": "run_name", "attributes.run_name": "run_name",
                "status": "status", "attributes.status": "status", "metrics.*": "metrics.", "params.*": "params.",
                "tags.*": "tags.",
            ],
            entity: "run"
        )
        let size = try parameters.maxResults(default: 1000, limit: 50_000)
        let offset = try parameters.pageOffset()
        let experimentIDs = try Self.experimentIDs(parameters)
        var runs = try await store.runs(experimentIDs: experimentIDs).filter { run in
            filter.matches { Self.value(of: $0, in: run) }
        }
        runs.sort { a, b in
            for key in order.keys {
                let left = Self.value(of: Self.operand(key.field), in: a)
                let right = Self.value(of: Self.operand(key.field), in: b)
                guard left != right else { continue }
                // Runs without the value sort last in both directions, as in MLflow.
                guard let left else { return false }
                guard let right else { return true }
                return key.ascending ? Self.less(left, right) : Self.less(right, left)
            }
            return (a.startTime ?? 0, a.id) > (b.startTime ?? 0, b.id)
        }
        let page = mlflowPage(runs, offset: offset, size: size)
        return RunsResponse(runs: page.items.isEmpty ? nil : page.items.map(RunJSON.init), next_page_token: page.next)
    }

    @Sendable func logOutputs(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let outputs = try parameters.objects("models").map { object -> RunOutput in
            guard case .string(let id) = object["model_id"] ?? .null, !id.isEmpty else {
                throw RegistryError.invalid("Invalid value for parameter 'models': every entry needs a 'model_id'")
            }
            return RunOutput(modelID: id, step: object["step"]?.int64 ?? 0)
        }
        try await store.recordRunOutputs(runID: try await ownedRun(parameters, context), outputs)
        return EmptyJSON()
    }

    struct MetricHistoryResponse: ResponseEncodable {
        var metrics: [MetricJSON]?
        var next_page_token: String?
    }

    @Sendable func metricHistory(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> MetricHistoryResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let size = try parameters.maxResults(default: 25_000, limit: 25_000)
        let offset = try parameters.pageOffset()
        let history = try await store.metricHistory(
            runID: try Self.runID(parameters),
            key: try parameters.required("metric_key")
        ).compactMap { metric in
            metric.value.map { MetricJSON(key: metric.key, value: $0, timestamp: metric.timestamp, step: metric.step) }
        }
        let page = mlflowPage(history, offset: offset, size: size)
        return MetricHistoryResponse(metrics: page.items.isEmpty ? nil : page.items, next_page_token: page.next)
    }

    // MARK: Logged models

    struct LoggedModelResponse: ResponseEncodable {
        var model: LoggedModelJSON
    }

    @Sendable func createLoggedModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> LoggedModelResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let name = try parameters.string("name").flatMap { $0.isEmpty ? nil : $0 } ?? "model"
        try Self.text(name, field: "name", maxLength: 250)
        let modelType = try parameters.string("model_type")
        if let modelType { try Self.text(modelType, field: "model_type", maxLength: 250) }
        let sourceRunID = try parameters.string("source_run_id").flatMap { $0.isEmpty ? nil : $0 }
        if let sourceRunID {
            // A logged model of a run resolves `runs:/<run>/<name>`: only the run's owner may add one.
            let run = try await store.run(id: sourceRunID)
            try Self.requireOwner(run.createdBy, of: "run \(run.id)", context)
        }
        let model = try await store.createLoggedModel(
            experimentID: try Self.experimentID(parameters),
            name: name,
            sourceRunID: sourceRunID,
            modelType: modelType,
            tags: Dictionary(try Self.tags(try parameters.keyValues("tags")), uniquingKeysWith: { _, last in last }),
            params: Dictionary(
                try parameters.keyValues("params").map { try Self.param($0.0, $0.1) },
                uniquingKeysWith: { _, last in last }
            ),
            actor: context.principal
        )
        return LoggedModelResponse(model: LoggedModelJSON(model))
    }

    @Sendable func getLoggedModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> LoggedModelResponse
    {
        LoggedModelResponse(model: LoggedModelJSON(try await store.loggedModel(id: try Self.modelID(context))))
    }

    @Sendable func finalizeLoggedModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> LoggedModelResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let status = try parameters.required("status")
        guard LoggedModel.statuses.contains(status) else {
            throw RegistryError.invalid(
                "Invalid value '\(Validation.printable(status))' for parameter 'status': expected one of \(LoggedModel.statuses.joined(separator: ", "))"
            )
        }
        let model = try await store.updateLoggedModel(
            id: try await ownedModel(context),
            status: status,
            setTags: [:],
            removeTags: [],
            params: [:]
        )
        return LoggedModelResponse(model: LoggedModelJSON(model))
    }

    @Sendable func setLoggedModelTags(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let parameters = try await MLflowParameters.read(request, context: context)
        let tags = try Self.tags(try parameters.keyValues("tags"))
        // `register_model` records the new version on the logged model (`mlflow.modelVersions`), also when another
        // principal logged it: that one tag any writer may set; everything else is the owner's.
        let id: String
        if !tags.isEmpty, tags.allSatisfy({ $0.0 == "mlflow.modelVersions" }) {
            id = try await store.loggedModel(id: try Self.modelID(context)).id
        } else {
            id = try await ownedModel(context)
        }
        _ = try await store.updateLoggedModel(
            id: id,
            status: nil,
            setTags: Dictionary(tags, uniquingKeysWith: { _, last in last }),
            removeTags: [],
            params: [:]
        )
        return EmptyJSON()
    }

    @Sendable func deleteLoggedModelTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let id = try await ownedModel(context)
        let key = try context.string("tag_key")
        guard try await store.loggedModel(id: id).tags[key] != nil else {
            throw RegistryError.notFound("logged model \(id) has no tag '\(Validation.printable(key))'")
        }
        _ = try await store.updateLoggedModel(id: id, status: nil, setTags: [:], removeTags: [key], params: [:])
        return EmptyJSON()
    }

    @Sendable func logLoggedModelParams(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> EmptyJSON
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let params = try parameters.keyValues("params").map { try Self.param($0.0, $0.1) }
        _ = try await store.updateLoggedModel(
            id: try await ownedModel(context),
            status: nil,
            setTags: [:],
            removeTags: [],
            params: Dictionary(params, uniquingKeysWith: { _, last in last })
        )
        return EmptyJSON()
    }

    struct LoggedModelsResponse: ResponseEncodable {
        var models: [LoggedModelJSON]?
        var next_page_token: String?
    }

    @Sendable func searchLoggedModels(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> LoggedModelsResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let filter = try SearchFilter(parsing: try parameters.string("filter"), vocabulary: .loggedModels)
        let size = try parameters.maxResults(default: 100, limit: 1000)
        let offset = try parameters.pageOffset()
        let experimentIDs = try Self.experimentIDs(parameters)
        let models = try await store.loggedModels(experimentIDs: experimentIDs).filter { model in
            filter.matches { operand in
                switch operand {
                case .attribute("name"): .string(model.name)
                case .attribute("model_id"): .string(model.id)
                case .attribute("status"): .string(model.status)
                case .attribute("source_run_id"): model.sourceRunID.map(FilterOperandValue.string)
                case .attribute("creation_timestamp"): .number(Double(model.createdAt))
                case .attribute("last_updated_timestamp"): .number(Double(model.updatedAt))
                case .tag(let key): model.tags[key].map(FilterOperandValue.string)
                case .param(let key): model.params[key].map(FilterOperandValue.string)
                default: nil
                }
            }
        }
        let page = mlflowPage(models, offset: offset, size: size)
        return LoggedModelsResponse(
            models: page.items.isEmpty ? nil : page.items.map(LoggedModelJSON.init),
            next_page_token: page.next
        )
    }

    // MARK: Server info

    struct ServerInfo: ResponseEncodable {
        struct Features: Encodable { var gateway = false }
        var store_type = "SqlStore"
        var workspaces_enabled = false
        var trace_archival_enabled = false
        var multipart_uploads_enabled = false
        var multipart_downloads_enabled = false
        var presigned_upload_run_id_supported = false
        var presigned_upload_model_id_supported = false
        var features_enabled = Features()
    }

    @Sendable func serverInfo(_ request: Request, context: RegistryRequestContext) async throws -> ServerInfo {
        ServerInfo()
    }

    // MARK: Helpers

    static func experimentID(_ parameters: MLflowParameters) throws -> Int64 {
        let text = try parameters.required("experiment_id")
        guard let id = Int64(text), id >= 0 else {
            throw RegistryError.invalid(
                "Invalid value '\(Validation.printable(text))' for parameter 'experiment_id': expected an experiment id (a number)"
            )
        }
        return id
    }

    /// Only the principal that created a run or logged model (or an administrator) may change it.
    static func requireOwner(_ owner: String, of what: String, _ context: RegistryRequestContext) throws {
        let identity = context.identity
        guard owner == identity.principal.id || identity.isAdministrator else {
            throw RegistryError(
                .forbidden,
                "\(identity.described) may not change \(what): it belongs to \(owner) (or an administrator)"
            )
        }
    }

    /// The run named by the parameters, once the caller is checked to be its owner.
    func ownedRun(_ parameters: MLflowParameters, _ context: RegistryRequestContext) async throws -> String {
        let run = try await store.run(id: try Self.runID(parameters))
        try Self.requireOwner(run.createdBy, of: "run \(run.id)", context)
        return run.id
    }

    /// The logged model named by the path, once the caller is checked to be its owner.
    func ownedModel(_ context: RegistryRequestContext) async throws -> String {
        let model = try await store.loggedModel(id: try Self.modelID(context))
        try Self.requireOwner(model.createdBy, of: "logged model \(model.id)", context)
        return model.id
    }

    static func experimentIDs(_ parameters: MLflowParameters) throws -> [Int64] {
        let texts = try parameters.strings("experiment_ids")
        guard texts.count <= 1000 else {
            throw RegistryError.invalid(
                "Invalid value for parameter 'experiment_ids': \(texts.count) ids given, at most 1000 are accepted"
            )
        }
        return try texts.map { text -> Int64 in
            guard let id = Int64(text) else {
                throw RegistryError.invalid("Invalid experiment id '\(Validation.printable(text))': expected a number")
            }
            return id
        }
    }

    /// `run_id`, or the older `run_uuid`: 32 lowercase hex digits.
    static func runID(_ parameters: MLflowParameters) throws -> String {
        let id = try parameters.string("run_id").flatMap { $0.isEmpty ? nil : $0 } ?? parameters.required("run_uuid")
        guard MLflowService.isHexID(id) else {
            throw RegistryError.notFound("Run with id=\(Validation.printable(id)) not found")
        }
        return id
    }

    static func modelID(_ context: RegistryRequestContext) throws -> String {
        let id = try context.string("model_id")
        guard id.hasPrefix("m-"), MLflowService.isHexID(String(id.dropFirst(2))) else {
            throw RegistryError.notFound("Logged model with ID '\(Validation.printable(id))' not found")
        }
        return id
    }

    static func text(_ value: String, field: String, maxLength: Int) throws {
        guard value.utf8.count <= maxLength else {
            throw RegistryError.invalid("'\(field)' is longer than \(maxLength) bytes")
        }
        guard !value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) else {
            throw RegistryError.invalid("'\(field)' '\(Validation.printable(value))' holds control characters")
        }
    }

    static func key(_ key: String, kind: String) throws {
        guard !key.isEmpty, key.utf8.count <= maxKeyLength,
            !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\u{7f}" })
        else {
            throw RegistryError.invalid(
                "Invalid \(kind) name '\(Validation.printable(key))': expected 1-\(maxKeyLength) bytes without control characters"
            )
        }
        guard !key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." }) else {
            throw RegistryError.invalid("Invalid \(kind) name '\(Validation.printable(key))': '..' is not accepted")
        }
    }

    static func param(_ key: String, _ value: String) throws -> (String, String) {
        try Self.key(key, kind: "param")
        guard value.utf8.count <= maxParamValueLength else {
            throw RegistryError.invalid(
                "Param value of '\(Validation.printable(key))' is longer than \(maxParamValueLength) bytes"
            )
        }
        return (key, value)
    }

    static func tags(_ tags: [(String, String)]) throws -> [(String, String)] {
        for (key, value) in tags {
            try Self.key(key, kind: "tag")
            guard value.utf8.count <= maxTagValueLength else {
                throw RegistryError.invalid(
                    "Tag value of '\(Validation.printable(key))' is longer than \(maxTagValueLength) bytes"
                )
            }
        }
        return tags
    }

    static func metric(key: String, value: Double, timestamp: Int64, step: Int64) throws -> MetricValue {
        try Self.key(key, kind: "metric")
        return MetricValue(key: key, value: value.isNaN ? nil : value, timestamp: timestamp, step: step)
    }

    static func operand(_ field: String) -> SearchFilter.Operand {
        if field.hasPrefix("metrics.") { return .metric(String(field.dropFirst(8))) }
        if field.hasPrefix("params.") { return .param(String(field.dropFirst(7))) }
        if field.hasPrefix("tags.") { return .tag(String(field.dropFirst(5))) }
        return .attribute(field)
    }

    static func value(of operand: SearchFilter.Operand, in run: Run) -> FilterOperandValue? {
        switch operand {
        case .attribute("run_id"): .string(run.id)
        case .attribute("run_name"): .string(run.name)
        case .attribute("status"): .string(run.status)
        case .attribute("user_id"): .string(run.userID)
        case .attribute("artifact_uri"): .string("mlflow-artifacts:/\(run.artifactRoot)")
        case .attribute("start_time"): run.startTime.map { .number(Double($0)) }
        case .attribute("end_time"): run.endTime.map { .number(Double($0)) }
        case .attribute: nil
        case .tag(let key): run.tags[key].map(FilterOperandValue.string)
        case .param(let key): run.params[key].map(FilterOperandValue.string)
        case .metric(let key): run.metrics.first { $0.key == key }?.value.map(FilterOperandValue.number)
        }
    }

    static func less(_ left: FilterOperandValue, _ right: FilterOperandValue) -> Bool {
        switch (left, right) {
        case (.number(let a), .number(let b)): a < b
        case (.string(let a), .string(let b)): a < b
        case (.number, .string): true
        case (.string, .number): false
        }
    }
}
