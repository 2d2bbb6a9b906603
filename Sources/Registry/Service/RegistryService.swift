public import Foundation
public import NIOCore
public import Packager

/// The registry's operations: validation of everything that comes from outside, then one call to the stores.
///
/// HTTP handlers call exactly one method of this type per request; they hold no rules of their own. Every method that
/// changes state takes the ``Principal`` that asked for it, recorded in the audit trail.
public struct RegistryService: Sendable {
    public let metadata: any MetadataStore
    public let blobs: FileBlobStore
    let detector = FormatDetector()

    public init(metadata: any MetadataStore, blobs: FileBlobStore) {
        self.metadata = metadata
        self.blobs = blobs
    }

    // MARK: Models

    public func createModel(
        name: String,
        description: String?,
        tags: [String: String]?,
        actor: Principal
    ) async throws
        -> Model
    {
        try Validation.modelName(name)
        try Validation.text(description ?? "", field: "description", maxLength: Validation.maxDescriptionLength)
        try Validation.tags(tags ?? [:])
        return try await metadata.createModel(
            name: name,
            description: description ?? "",
            tags: tags ?? [:],
            actor: actor
        )
    }

    public func model(named name: String) async throws -> Model {
        try Validation.modelName(name)
        return try await metadata.model(named: name)
    }

    public func models(_ query: ModelQuery) async throws -> Page<Model> {
        try Self.checkLimit(query.limit)
        if let prefix = query.namePrefix {
            try Validation.text(prefix, field: "prefix", maxLength: Validation.maxNameLength)
        }
        return try await metadata.models(matching: query)
    }

    public func updateModel(
        named name: String,
        _ update: MetadataUpdate,
        expectedRevision: Int64?,
        actor: Principal
    )
        async throws -> Model
    {
        try Validation.modelName(name)
        try Self.validate(update, allowMetrics: false)
        return try await metadata.updateModel(named: name, update, expectedRevision: expectedRevision, actor: actor)
    }

    public func deleteModel(named name: String, force: Bool, expectedRevision: Int64?, actor: Principal) async throws {
        try Validation.modelName(name)
        try await metadata.deleteModel(named: name, force: force, expectedRevision: expectedRevision, actor: actor)
    }

    /// Audit events newest first; `nextBefore` is the id to pass as `beforeID` for the next (older) page, `nil` on the
    /// last page.
    public func history(
        model: String,
        limit: Int,
        beforeID: Int64?
    ) async throws -> (
        events: [AuditEvent], nextBefore: Int64?
    ) {
        try Validation.modelName(model)
        try Self.checkLimit(limit)
        let events = try await metadata.history(model: model, limit: limit + 1, beforeID: beforeID)
        let page = Array(events.prefix(limit))
        return (page, events.count > limit ? page.last?.id : nil)
    }

    // MARK: Versions

    public func createVersion(model: String, _ version: NewVersion, actor: Principal) async throws -> ModelVersion {
        try Self.validate(model: model, version)
        return try await metadata.createVersion(model: model, version, actor: actor)
    }

    /// Creates a version from blobs already in the store and commits it in one transaction (the MLflow API's
    /// `model-versions/create`, whose files are uploaded before): READY at once, format detected as on commit.
    ///
    /// - Throws: `blobsMissing` or `integrityFailure` as ``commitVersion(model:number:actor:)`` would.
    public func createCommittedVersion(
        model: String,
        _ version: NewVersion,
        actor: Principal
    ) async throws
        -> ModelVersion
    {
        try Self.validate(model: model, version)
        let format = try await detectFormat(
            of: version.files,
            declared: version.format.flatMap(ModelFormat.init(rawValue:)),
            describing: "the new version of model '\(model)'"
        )
        return try await metadata.createVersion(model: model, version, committedAs: format, actor: actor)
    }

    static func validate(model: String, _ version: NewVersion) throws {
        try Validation.modelName(model)
        if let label = version.label { try Validation.label(label) }
        if let format = version.format, ModelFormat(rawValue: format) == nil {
            throw RegistryError.invalid(
                "invalid format '\(Validation.printable(format))': expected one of \(ModelFormat.allCases.map(\.rawValue).joined(separator: ", ")), or omit it to detect the format"
            )
        }
        try Validation.files(version.files)
        try Validation.metrics(version.metrics)
        try Validation.tags(version.params, field: "param")
        try Validation.tags(version.tags)
        try Validation.text(version.description, field: "description", maxLength: Validation.maxDescriptionLength)
        for (field, value) in [
            ("run_id", version.lineage.runID), ("source", version.lineage.source),
            ("git_commit", version.lineage.gitCommit), ("dataset_digest", version.lineage.datasetDigest),
        ] {
            if let value { try Validation.text(value, field: field, maxLength: 1024) }
        }
    }

    public func version(model: String, number: Int) async throws -> ModelVersion {
        try Validation.modelName(model)
        return try await metadata.version(model: model, number: number)
    }

    public func version(model: String, label: String) async throws -> ModelVersion {
        try Validation.modelName(model)
        try Validation.label(label)
        return try await metadata.version(model: model, label: label)
    }

    public func version(model: String, alias: String) async throws -> ModelVersion {
        try Validation.modelName(model)
        try Validation.alias(alias)
        return try await metadata.version(model: model, alias: alias)
    }

    public func version(model: String, stage: Stage) async throws -> ModelVersion {
        try Validation.modelName(model)
        return try await metadata.version(model: model, stage: stage)
    }

    public func versions(_ query: VersionQuery) async throws -> Page<ModelVersion> {
        try Validation.modelName(query.model)
        try Self.checkLimit(query.limit)
        if let label = query.label { try Validation.label(label) }
        return try await metadata.versions(matching: query)
    }

    public func updateVersion(
        model: String,
        number: Int,
        _ update: MetadataUpdate,
        actor: Principal
    ) async throws
        -> ModelVersion
    {
        try Validation.modelName(model)
        try Self.validate(update, allowMetrics: true)
        return try await metadata.updateVersion(model: model, number: number, update, actor: actor)
    }

    /// Makes a PENDING version READY once every file's blob is stored with the declared size; detects the format.
    ///
    /// - Throws: `blobsMissing` listing the files whose blobs were not uploaded (the version stays PENDING, so the
    ///   client can upload them and commit again); `integrityFailure` when a blob's size differs from the declared
    ///   size; `invalidArgument` when a declared format contradicts what the files are.
    public func commitVersion(model: String, number: Int, actor: Principal) async throws -> ModelVersion {
        let version = try await self.version(model: model, number: number)
        guard version.status == .pending else {
            return try await metadata.commitVersion(
                model: model,
                number: number,
                format: version.format ?? .custom,
                actor: actor
            )
        }
        let format = try await detectFormat(
            of: version.files,
            declared: version.format,
            describing: "version \(number) of model '\(model)'"
        )
        return try await metadata.commitVersion(model: model, number: number, format: format, actor: actor)
    }

    /// Checks that every file's blob is stored with its size and detects the format of the files.
    func detectFormat(
        of files: [VersionFile],
        declared: ModelFormat?,
        describing subject: String
    ) async throws
        -> ModelFormat
    {
        var missing: [VersionFile] = []
        var candidates: [FormatDetector.Candidate] = []
        for file in files {
            guard let size = try await blobs.size(of: file.digest) else {
                missing.append(file)
                continue
            }
            guard size == file.size else {
                throw RegistryError(
                    .integrityFailure,
                    "file '\(file.path)' of \(subject) declares \(file.size) bytes but blob \(file.digest) has \(size)"
                )
            }
            candidates.append(.init(path: file.path, location: blobs.blobURL(file.digest)))
        }
        if !missing.isEmpty {
            let list = missing.prefix(20).map { "\($0.path) (\($0.digest))" }.joined(separator: ", ")
            throw RegistryError(
                .blobsMissing,
                "\(subject) cannot be committed: \(missing.count) file(s) have no uploaded blob: \(list)\(missing.count > 20 ? ", …" : ""); upload them and commit again",
                details: ["missing": missing.map(\.digest.description).joined(separator: ",")]
            )
        }
        let detected = detector.detect(candidates)
        var format = detected
        if let declared {
            if declared != .custom, detected != .custom, declared != detected {
                throw RegistryError.invalid(
                    "\(subject) declares format \(declared.rawValue) but its files are \(detected.rawValue); create the version with format \(detected.rawValue) or custom"
                )
            }
            format = declared
        }
        return format
    }

    public func failVersion(model: String, number: Int, reason: String, actor: Principal) async throws -> ModelVersion {
        try Validation.modelName(model)
        try Validation.text(reason, field: "reason")
        return try await metadata.failVersion(model: model, number: number, reason: reason, actor: actor)
    }

    /// Where the bytes of one file of a version are.
    public func file(model: String, number: Int, path: String) async throws -> (file: VersionFile, location: URL) {
        try Validation.filePath(path)
        let version = try await self.version(model: model, number: number)
        guard let file = version.files.first(where: { $0.path == path }) else {
            throw RegistryError.notFound(
                "version \(number) of model '\(model)' has no file '\(Validation.printable(path))'"
            )
        }
        guard version.status == .ready, let location = try await blobs.fileURL(of: file.digest) else {
            throw RegistryError.notFound(
                "file '\(path)' of version \(number) of model '\(model)' is not available: the version is \(version.status.rawValue)"
            )
        }
        return (file, location)
    }

    // MARK: Stages and aliases

    public func setStage(
        model: String,
        number: Int,
        stage: Stage,
        archiveExisting: Bool,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    ) async throws -> StageChange {
        try Validation.modelName(model)
        try comment.map { try Validation.text($0, field: "comment") }
        return try await metadata.setStage(
            model: model,
            number: number,
            stage: stage,
            archiveExisting: archiveExisting,
            expectedRevision: expectedRevision,
            comment: comment,
            actor: actor
        )
    }

    public func rollbackStage(
        model: String,
        stage: Stage,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> StageChange
    {
        try Validation.modelName(model)
        try comment.map { try Validation.text($0, field: "comment") }
        return try await metadata.rollbackStage(
            model: model,
            stage: stage,
            expectedRevision: expectedRevision,
            comment: comment,
            actor: actor
        )
    }

    public func setAlias(
        model: String,
        alias: String,
        number: Int,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    ) async throws -> AliasChange {
        try Validation.modelName(model)
        try Validation.alias(alias)
        try comment.map { try Validation.text($0, field: "comment") }
        return try await metadata.setAlias(
            model: model,
            alias: alias,
            number: number,
            expectedRevision: expectedRevision,
            comment: comment,
            actor: actor
        )
    }

    public func deleteAlias(
        model: String,
        alias: String,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> AliasChange
    {
        try Validation.modelName(model)
        try Validation.alias(alias)
        try comment.map { try Validation.text($0, field: "comment") }
        return try await metadata.deleteAlias(
            model: model,
            alias: alias,
            expectedRevision: expectedRevision,
            comment: comment,
            actor: actor
        )
    }

    public func rollbackAlias(
        model: String,
        alias: String,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> AliasChange
    {
        try Validation.modelName(model)
        try Validation.alias(alias)
        try comment.map { try Validation.text($0, field: "comment") }
        return try await metadata.rollbackAlias(
            model: model,
            alias: alias,
            expectedRevision: expectedRevision,
            comment: comment,
            actor: actor
        )
    }

    // MARK: Blobs

    public func blobSize(_ digest: Digest) async throws -> Int64? {
        try await blobs.size(of: digest)
    }

    /// Streams a blob into the store; with `expected`, content of another digest is refused.
    public func putBlob<Body: AsyncSequence & Sendable>(_ body: Body, expected: Digest?) async throws -> StoredBlob
    where Body.Element == ByteBuffer {
        let stored = try await blobs.write(body, expected: expected)
        try await metadata.recordBlob(stored.digest, size: stored.size)
        return stored
    }

    public func finishUpload(_ id: String, expected: Digest) async throws -> StoredBlob {
        let stored = try await blobs.finishUpload(id, expected: expected)
        try await metadata.recordBlob(stored.digest, size: stored.size)
        return stored
    }

    // MARK: Validation helpers

    static func checkLimit(_ limit: Int) throws {
        guard (1...1000).contains(limit) else {
            throw RegistryError.invalid("invalid limit \(limit): expected a number from 1 to 1000")
        }
    }

    static func validate(_ update: MetadataUpdate, allowMetrics: Bool) throws {
        guard !update.isEmpty else {
            throw RegistryError.invalid(
                "nothing to update: give description, tags, remove_tags\(allowMetrics ? " or metrics" : "")"
            )
        }
        if let description = update.description {
            try Validation.text(description, field: "description", maxLength: Validation.maxDescriptionLength)
        }
        try Validation.tags(update.setTags)
        for key in update.removeTags { try Validation.key(key) }
        if !allowMetrics, !update.setMetrics.isEmpty {
            throw RegistryError.invalid("models have no metrics: set metrics on a version")
        }
        try Validation.metrics(update.setMetrics)
    }
}
