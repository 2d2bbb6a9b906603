import Foundation
import Hummingbird
import Packager

/// `/api/2.0/mlflow/registered-models/…` and `/api/2.0/mlflow/model-versions/…`: MLflow's model registry API on
/// modelctl's models and versions.
///
/// The route table requires a role somewhere; the model is named in the query or body, so each handler checks the
/// role on that model, as in the v1 API: reader to read, writer to create and edit, promoter for stages and aliases,
/// admin to delete or rename.
struct MLflowRegistryController {
    let mlflow: MLflowService
    var registry: RegistryService { mlflow.registry }

    func add(to router: Router<RegistryRequestContext>) {
        let models = router.group("/api/2.0/mlflow/registered-models")
        models.post("create", use: createModel)
        models.get("get", use: getModel)
        models.post("rename", use: renameModel)
        models.patch("update", use: updateModel)
        models.delete("delete", use: deleteModel)
        models.get("search", use: searchModels)
        models.post("set-tag", use: setModelTag)
        models.delete("delete-tag", use: deleteModelTag)
        models.post("alias", use: setAlias)
        models.delete("alias", use: deleteAlias)
        models.get("alias", use: getAlias)
        models.post("get-latest-versions", use: latestVersions)
        models.get("get-latest-versions", use: latestVersions)

        let versions = router.group("/api/2.0/mlflow/model-versions")
        versions.post("create", use: createVersion)
        versions.get("get", use: getVersion)
        versions.patch("update", use: updateVersion)
        versions.delete("delete", use: deleteVersion)
        versions.get("search", use: searchVersions)
        versions.post("set-tag", use: setVersionTag)
        versions.delete("delete-tag", use: deleteVersionTag)
        versions.post("transition-stage", use: transitionStage)
        versions.get("get-download-uri", use: downloadURI)
    }

    struct RegisteredModelResponse: ResponseEncodable {
        var registered_model: RegisteredModelJSON
    }

    struct ModelVersionResponse: ResponseEncodable {
        var model_version: ModelVersionJSON
    }

    // MARK: Registered models

    @Sendable func createModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> RegisteredModelResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        let model = try await registry.createModel(
            name: name,
            description: try parameters.string("description"),
            tags: try Self.tags(parameters),
            actor: context.principal
        )
        return RegisteredModelResponse(registered_model: RegisteredModelJSON(model, latest: []))
    }

    @Sendable func getModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> RegisteredModelResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .reader)
        return RegisteredModelResponse(registered_model: try await registeredModel(name))
    }

    @Sendable func renameModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> RegisteredModelResponse
    {
        let parameters = try await MLflowParameters.read(request, context: context)
        let name = try parameters.required("name")
        let newName = try parameters.required("new_name")
        try context.identity.require(.admin, on: name)
        // The model arrives with its stages and aliases: the same authority is needed on both names.
        try context.identity.require(.admin, on: newName)
        try Validation.modelName(name)
        try Validation.modelName(newName)
        _ = try await registry.metadata.renameModel(named: name, to: newName, actor: context.principal)
        return RegisteredModelResponse(registered_model: try await registeredModel(newName))
    }

    @Sendable func updateModel(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> RegisteredModelResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        _ = try await registry.updateModel(
            named: name,
            MetadataUpdate(description: try parameters.string("description") ?? ""),
            expectedRevision: nil,
            actor: context.principal
        )
        return RegisteredModelResponse(registered_model: try await registeredModel(name))
    }

    @Sendable func deleteModel(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .admin)
        // MLflow deletes a model whatever points into it; the audit event records that it was forced.
        try await registry.deleteModel(named: name, force: true, expectedRevision: nil, actor: context.principal)
        return EmptyJSON()
    }

    struct SearchModelsResponse: ResponseEncodable {
        var registered_models: [RegisteredModelJSON]?
        var next_page_token: String?
    }

    @Sendable func searchModels(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let parameters = try await MLflowParameters.read(request, context: context)
        let filter = try SearchFilter(parsing: try parameters.string("filter"), vocabulary: .registeredModels)
        let order = try SearchOrder(
            parsing: try parameters.strings("order_by"),
            allowed: [
                "name": "name", "attributes.name": "name", "timestamp": "last_updated_timestamp",
                "last_updated_timestamp": "last_updated_timestamp", "creation_timestamp": "creation_timestamp",
            ],
            entity: "registered model"
        )
        let size = try parameters.maxResults(default: 100, limit: 1000)
        let offset = try parameters.pageOffset()
        let identity = context.identity
        let changeCount = registry.metadata.changeCount
        // Filter, sort and page on summaries; only the page's models are read in full (or taken from the cache).
        var models = try await candidates(for: filter, visibleTo: identity, changeCount: changeCount).filter { model in
            filter.matches { operand in
                switch operand {
                case .attribute: .string(model.name)
                case .tag(let key): model.tags[key].map(FilterOperandValue.string)
                default: nil
                }
            }
        }
        models.sort { a, b in
            for key in order.keys {
                let (x, y) = key.ascending ? (a, b) : (b, a)
                switch key.field {
                case "creation_timestamp": if x.createdAt != y.createdAt { return x.createdAt < y.createdAt }
                case "last_updated_timestamp": if x.updatedAt != y.updatedAt { return x.updatedAt < y.updatedAt }
                default: if x.name != y.name { return x.name < y.name }
                }
            }
            return a.name < b.name
        }
        let page = mlflowPage(models, offset: offset, size: size)
        let fragments = try await fragments(
            page.items.map { MLflowReadCache.FragmentKey.registeredModel($0.name) },
            changeCount: changeCount
        ) { keys in
            let names = keys.compactMap { key in if case .registeredModel(let name) = key { name } else { nil } }
            return try await registry.metadata.registeredModels(named: names).map { found in
                (
                    MLflowReadCache.FragmentKey.registeredModel(found.model.name),
                    try MLflowReadCache.encode(RegisteredModelJSON(found.model, latest: found.latest), context: context)
                )
            }
        }
        return try MLflowReadCache.list("registered_models", fragments, nextPageToken: page.next)
    }

    /// The JSON fragments for `keys`, in their order: those kept in the cache, the others read together by `read`
    /// (which answers the keys it found, in any order) and kept. Keys `read` does not answer (gone since the
    /// summaries were read) are left out.
    func fragments(
        _ keys: [MLflowReadCache.FragmentKey],
        changeCount: UInt64,
        read: ([MLflowReadCache.FragmentKey]) async throws -> [(MLflowReadCache.FragmentKey, ByteBuffer)]
    ) async throws -> [ByteBuffer] {
        var found: [MLflowReadCache.FragmentKey: ByteBuffer] = [:]
        var missing: [MLflowReadCache.FragmentKey] = []
        for key in keys {
            if let kept = mlflow.cache.fragments.value(key, changeCount: changeCount) {
                found[key] = kept
            } else {
                missing.append(key)
            }
        }
        if !missing.isEmpty {
            for (key, fragment) in try await read(missing) {
                found[key] = fragment
                mlflow.cache.fragments.keep(fragment, for: key, changeCount: changeCount)
            }
        }
        return keys.compactMap { found[$0] }
    }

    @Sendable func setModelTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        let key = try parameters.required("key")
        _ = try await registry.updateModel(
            named: name,
            MetadataUpdate(setTags: [key: try parameters.string("value") ?? ""]),
            expectedRevision: nil,
            actor: context.principal
        )
        return EmptyJSON()
    }

    @Sendable func deleteModelTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        let key = try parameters.required("key")
        let model = try await registry.model(named: name)
        guard model.tags[key] != nil else {
            throw RegistryError.notFound(
                "No tag with name: \(Validation.printable(key)) in registered model '\(Validation.printable(name))'"
            )
        }
        _ = try await registry.updateModel(
            named: name,
            MetadataUpdate(removeTags: [key]),
            expectedRevision: nil,
            actor: context.principal
        )
        return EmptyJSON()
    }

    // MARK: Aliases and latest versions

    @Sendable func setAlias(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .promoter)
        _ = try await registry.setAlias(
            model: name,
            alias: try parameters.required("alias"),
            number: try Self.versionNumber(parameters),
            expectedRevision: nil,
            comment: nil,
            actor: context.principal
        )
        return EmptyJSON()
    }

    @Sendable func deleteAlias(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .promoter)
        _ = try await registry.deleteAlias(
            model: name,
            alias: try parameters.required("alias"),
            expectedRevision: nil,
            comment: nil,
            actor: context.principal
        )
        return EmptyJSON()
    }

    @Sendable func getAlias(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let (parameters, name) = try await Self.named(request, context, requiring: .reader)
        let alias = try parameters.required("alias")
        let changeCount = registry.metadata.changeCount
        do {
            let fragment = try await mlflow.cache.fragments.value(
                .alias(model: name, alias: alias),
                changeCount: changeCount
            ) {
                try MLflowReadCache.encode(
                    ModelVersionJSON(try await registry.version(model: name, alias: alias)),
                    context: context
                )
            }
            return MLflowReadCache.object("model_version", fragment)
        } catch let error as RegistryError where error.code == .notFound {
            // MLflow answers an unknown alias of an existing model as an invalid value, not as a missing resource.
            _ = try await registry.model(named: name)
            throw RegistryError.invalid(error.message)
        }
    }

    struct VersionsResponse: ResponseEncodable {
        var model_versions: [ModelVersionJSON]?
        var next_page_token: String?
    }

    @Sendable func latestVersions(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> VersionsResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .reader)
        let stages = try parameters.strings("stages").map { try Stage(parsing: $0) }
        let latest = try await registry.metadata.latestVersionPerStage(model: name)
            .filter { stages.isEmpty || stages.contains($0.stage) }
        return VersionsResponse(model_versions: latest.isEmpty ? nil : latest.map(ModelVersionJSON.init))
    }

    // MARK: Model versions

    @Sendable func createVersion(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> ModelVersionResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        try Validation.modelName(name)
        let source = try parameters.required("source")
        let identity = context.identity
        let resolved = try await mlflow.resolve(
            source: source,
            runID: try parameters.string("run_id").flatMap { $0.isEmpty ? nil : $0 },
            modelID: try parameters.string("model_id").flatMap { $0.isEmpty ? nil : $0 },
            identity: identity
        )
        let version = try await mlflow.createVersion(
            model: name,
            source: source,
            resolved: resolved,
            tags: try Self.tags(parameters),
            description: try parameters.string("description") ?? "",
            actor: context.principal
        )
        return ModelVersionResponse(model_version: ModelVersionJSON(version))
    }

    @Sendable func getVersion(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let (parameters, name) = try await Self.named(request, context, requiring: .reader)
        let number = try Self.versionNumber(parameters)
        let fragment = try await mlflow.cache.fragments.value(
            .version(model: name, number: number),
            changeCount: registry.metadata.changeCount
        ) {
            try MLflowReadCache.encode(
                ModelVersionJSON(try await registry.version(model: name, number: number)),
                context: context
            )
        }
        return MLflowReadCache.object("model_version", fragment)
    }

    @Sendable func updateVersion(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> ModelVersionResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        let version = try await registry.updateVersion(
            model: name,
            number: try Self.versionNumber(parameters),
            MetadataUpdate(description: try parameters.string("description") ?? ""),
            actor: context.principal
        )
        return ModelVersionResponse(model_version: ModelVersionJSON(version))
    }

    @Sendable func deleteVersion(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .admin)
        try Validation.modelName(name)
        try await registry.metadata.deleteVersion(
            model: name,
            number: try Self.versionNumber(parameters),
            actor: context.principal
        )
        return EmptyJSON()
    }

    @Sendable func searchVersions(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let parameters = try await MLflowParameters.read(request, context: context)
        let filter = try SearchFilter(parsing: try parameters.string("filter"), vocabulary: .modelVersions)
        let order = try SearchOrder(
            parsing: try parameters.strings("order_by"),
            allowed: [
                "name": "name", "version_number": "version_number", "creation_timestamp": "creation_timestamp",
                "timestamp": "last_updated_timestamp", "last_updated_timestamp": "last_updated_timestamp",
                "run_id": "run_id", "source_path": "source_path",
            ],
            entity: "model version"
        )
        let size = try parameters.maxResults(default: 10_000, limit: 200_000)
        let offset = try parameters.pageOffset()
        // Narrow the read to the models the filter names exactly, when it does.
        var names: [String]?
        for clause in filter.clauses where clause.operand == .attribute("name") {
            switch (clause.comparator, clause.value) {
            case (.equal, .string(let name)): names = [name]
            case (.in_, .list(let list)): names = list
            default: break
            }
        }
        // Filter, sort and page on summaries; only the page's versions are read in full (or taken from the cache).
        let identity = context.identity
        let changeCount = registry.metadata.changeCount
        let summaries = try await mlflow.cache.versionSummaries.value(names, changeCount: changeCount) {
            try await registry.metadata.versionSummaries(ofModels: names)
        }
        var versions = summaries.filter { version in
            identity.can(.reader, on: version.key.model)
                && filter.matches { operand in
                    switch operand {
                    case .attribute("name"): .string(version.key.model)
                    case .attribute("run_id"): version.runID.map(FilterOperandValue.string) ?? .string("")
                    case .attribute("source_path"): version.source.map(FilterOperandValue.string) ?? .string("")
                    case .attribute("version_number"): .number(Double(version.key.number))
                    case .tag(let key): version.tags[key].map(FilterOperandValue.string)
                    default: nil
                    }
                }
        }
        versions.sort { a, b in
            for key in order.keys {
                let (x, y) = key.ascending ? (a, b) : (b, a)
                switch key.field {
                case "name": if x.key.model != y.key.model { return x.key.model < y.key.model }
                case "version_number": if x.key.number != y.key.number { return x.key.number < y.key.number }
                case "creation_timestamp": if x.createdAt != y.createdAt { return x.createdAt < y.createdAt }
                case "last_updated_timestamp": if x.updatedAt != y.updatedAt { return x.updatedAt < y.updatedAt }
                case "run_id": if x.runID != y.runID { return (x.runID ?? "") < (y.runID ?? "") }
                default: if x.source != y.source { return (x.source ?? "") < (y.source ?? "") }
                }
            }
            return a.key.model != b.key.model ? a.key.model < b.key.model : a.key.number > b.key.number
        }
        let page = mlflowPage(versions, offset: offset, size: size)
        let fragments = try await fragments(
            page.items.map { MLflowReadCache.FragmentKey.version(model: $0.key.model, number: $0.key.number) },
            changeCount: changeCount
        ) { keys in
            let wanted = keys.compactMap { key in
                if case .version(let model, let number) = key {
                    VersionSummary.Key(model: model, number: number)
                } else {
                    nil
                }
            }
            return try await registry.metadata.versions(wanted).map { version in
                (
                    MLflowReadCache.FragmentKey.version(model: version.model, number: version.number),
                    try MLflowReadCache.encode(ModelVersionJSON(version), context: context)
                )
            }
        }
        return try MLflowReadCache.list("model_versions", fragments, nextPageToken: page.next)
    }

    @Sendable func setVersionTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        _ = try await registry.updateVersion(
            model: name,
            number: try Self.versionNumber(parameters),
            MetadataUpdate(setTags: [try parameters.required("key"): try parameters.string("value") ?? ""]),
            actor: context.principal
        )
        return EmptyJSON()
    }

    @Sendable func deleteVersionTag(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let (parameters, name) = try await Self.named(request, context, requiring: .writer)
        let number = try Self.versionNumber(parameters)
        let key = try parameters.required("key")
        let version = try await registry.version(model: name, number: number)
        guard version.tags[key] != nil else {
            throw RegistryError.notFound(
                "No tag with name: \(Validation.printable(key)) in model version '\(Validation.printable(name))' \(number)"
            )
        }
        _ = try await registry.updateVersion(
            model: name,
            number: number,
            MetadataUpdate(removeTags: [key]),
            actor: context.principal
        )
        return EmptyJSON()
    }

    @Sendable func transitionStage(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> ModelVersionResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .promoter)
        let number = try Self.versionNumber(parameters)
        _ = try await registry.setStage(
            model: name,
            number: number,
            stage: try Stage(parsing: try parameters.required("stage")),
            archiveExisting: try parameters.bool("archive_existing_versions") ?? false,
            expectedRevision: nil,
            comment: nil,
            actor: context.principal
        )
        return ModelVersionResponse(
            model_version: ModelVersionJSON(try await registry.version(model: name, number: number))
        )
    }

    struct DownloadURIResponse: ResponseEncodable {
        var artifact_uri: String
    }

    /// The read-only view of the version's files in the artifact tree: what `modelctl pull` gets.
    @Sendable func downloadURI(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> DownloadURIResponse
    {
        let (parameters, name) = try await Self.named(request, context, requiring: .reader)
        let version = try await registry.version(model: name, number: try Self.versionNumber(parameters))
        return DownloadURIResponse(
            artifact_uri: "mlflow-artifacts:/\(MLflowService.registryRoot)/\(version.model)/\(version.number)"
        )
    }

    // MARK: Helpers

    func registeredModel(_ name: String) async throws -> RegisteredModelJSON {
        let model = try await registry.model(named: name)
        return RegisteredModelJSON(model, latest: try await registry.metadata.latestVersionPerStage(model: name))
    }

    /// Every model the identity may read.
    /// The models a filter can match, read narrowly when it names the model (`name = 'x'`) or a name prefix
    /// (`name LIKE 'res%'`); the filter itself is applied afterwards.
    /// Summaries of the models a registered-model search may return: those the caller may read, narrowed to the
    /// name or name prefix the filter requires, when it does (the filter itself is applied by the caller).
    func candidates(
        for filter: SearchFilter,
        visibleTo identity: Identity,
        changeCount: UInt64
    ) async throws -> [ModelSummary] {
        var name: String?
        var prefix: String?
        for clause in filter.clauses where clause.operand == .attribute("name") {
            switch (clause.comparator, clause.value) {
            case (.equal, .string(let value)):
                guard (try? Validation.modelName(value)) != nil else { return [] }
                name = value
            case (.like, .string(let pattern)):
                let literal = pattern.prefix { $0 != "%" && $0 != "_" }
                if !literal.isEmpty, pattern.dropFirst(literal.count) == "%" { prefix = String(literal) }
            default:
                break
            }
        }
        let key = MLflowReadCache.ModelSummariesKey(prefix: name == nil ? prefix : nil, name: name)
        return try await mlflow.cache.modelSummaries.value(key, changeCount: changeCount) {
            try await registry.metadata.modelSummaries(prefix: key.prefix, name: key.name)
        }
        .filter { identity.can(.reader, on: $0.name) }
    }

    func allModels(visibleTo identity: Identity, prefix: String? = nil) async throws -> [Model] {
        var query = ModelQuery(namePrefix: prefix, limit: 1000)
        if !identity.hasEverywhere(.reader) {
            query.visibleTo = ModelQuery.Visibility(
                patterns: identity.isDevice ? [] : identity.bindings.map(\.pattern),
                names: identity.isDevice ? identity.deviceModels : []
            )
        }
        var models: [Model] = []
        while true {
            let page = try await registry.models(query)
            models += page.items
            guard let next = page.nextPageToken else { return models }
            query.pageToken = next
        }
    }

    /// The request's parameters and the model they name (`name`), once the caller's role on it is checked.
    static func named(
        _ request: Request,
        _ context: RegistryRequestContext,
        requiring role: Role
    ) async throws -> (MLflowParameters, String) {
        let parameters = try await MLflowParameters.read(request, context: context)
        let name = try parameters.required("name")
        try context.identity.require(role, on: name)
        return (parameters, name)
    }

    static func versionNumber(_ parameters: MLflowParameters) throws -> Int {
        let text = try parameters.required("version")
        guard let number = Int(text), number > 0 else {
            throw RegistryError.invalid(
                "Invalid value '\(Validation.printable(text))' for parameter 'version': expected a positive integer version number"
            )
        }
        return number
    }

    static func tags(_ parameters: MLflowParameters) throws -> [String: String] {
        Dictionary(try parameters.keyValues("tags"), uniquingKeysWith: { _, last in last })
    }
}
