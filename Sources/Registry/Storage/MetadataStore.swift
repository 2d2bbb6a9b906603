public import Packager

/// Durable metadata of the registry: models, versions, stages, aliases, the audit trail and the blob index.
///
/// Every method that changes state runs as one transaction, appends its audit event(s) in that transaction and
/// raises the model's revision, so a reader never sees a change without its event. Operations that take an
/// `expectedRevision` fail with ``RegistryError/Code/conflict`` when the model's revision differs.
///
/// The embedded implementation is ``SQLiteMetadataStore``. Errors are ``RegistryError``s; constraint violations are
/// translated inside the store so that every backend raises the same codes.
public protocol MetadataStore: AuthStore, TrackingStore, FleetStore {
    /// A number that grows after every write transaction of this store has ended (committed or rolled back), and
    /// never before a commit. Something read from the store while this number stays the same is still current:
    /// caches of answers key on it. A store shared by several processes must raise it on their writes too.
    var changeCount: UInt64 { get }
    /// Calls `observer` each time ``changeCount`` has grown (on the writing task: it must return at once). Long-polls
    /// use it to notice changes without polling the database.
    func observeChanges(_ observer: @escaping @Sendable () -> Void)

    // MARK: Models
    func createModel(name: String, description: String, tags: [String: String], actor: Principal) async throws -> Model
    func model(named name: String) async throws -> Model
    func models(matching query: ModelQuery) async throws -> Page<Model>
    func updateModel(
        named name: String,
        _ update: MetadataUpdate,
        expectedRevision: Int64?,
        actor: Principal
    ) async throws
        -> Model
    /// Deletes a model with its versions and aliases. Without `force`, refuses (conflict) while an alias or the
    /// Staging/Production stage points into it.
    func deleteModel(named name: String, force: Bool, expectedRevision: Int64?, actor: Principal) async throws
    /// Gives a model a new name; its versions, aliases and history stay with it.
    func renameModel(named name: String, to newName: String, actor: Principal) async throws -> Model

    // MARK: Versions
    func createVersion(model: String, _ version: NewVersion, actor: Principal) async throws -> ModelVersion
    /// Creates a version and, with a format, commits it (READY) in the same transaction: for versions whose blobs
    /// are known to be stored. Its events are `version.created` then `version.committed`.
    func createVersion(
        model: String,
        _ version: NewVersion,
        committedAs format: ModelFormat?,
        actor: Principal
    ) async throws -> ModelVersion
    func version(model: String, number: Int) async throws -> ModelVersion
    func version(model: String, label: String) async throws -> ModelVersion
    func version(model: String, alias: String) async throws -> ModelVersion
    /// The newest version holding `stage`.
    func version(model: String, stage: Stage) async throws -> ModelVersion
    func versions(matching query: VersionQuery) async throws -> Page<ModelVersion>
    func updateVersion(
        model: String,
        number: Int,
        _ update: MetadataUpdate,
        actor: Principal
    ) async throws
        -> ModelVersion
    /// PENDING → READY with the given format. Committing a READY version again returns it unchanged.
    func commitVersion(model: String, number: Int, format: ModelFormat, actor: Principal) async throws -> ModelVersion
    /// Deletes one version with its files' entries, metadata and the aliases pointing to it (the number is not
    /// reused). The blobs stay in the store.
    func deleteVersion(model: String, number: Int, actor: Principal) async throws
    /// PENDING → FAILED with a reason.
    func failVersion(model: String, number: Int, reason: String, actor: Principal) async throws -> ModelVersion

    // MARK: Stages and aliases
    func setStage(
        model: String,
        number: Int,
        stage: Stage,
        archiveExisting: Bool,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    ) async throws -> StageChange
    func rollbackStage(
        model: String,
        stage: Stage,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> StageChange
    func setAlias(
        model: String,
        alias: String,
        number: Int,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    ) async throws -> AliasChange
    func deleteAlias(
        model: String,
        alias: String,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> AliasChange
    func rollbackAlias(
        model: String,
        alias: String,
        expectedRevision: Int64?,
        comment: String?,
        actor: Principal
    )
        async throws -> AliasChange

    // MARK: Audit
    /// Events of every model that had this name (a deleted model's included), newest first, optionally only those
    /// older than `beforeID`. `notFound` when no model of that name ever existed.
    func history(model: String, limit: Int, beforeID: Int64?) async throws -> [AuditEvent]

    // MARK: Blob index
    func recordBlob(_ digest: Digest, size: Int64) async throws
    func blobStatistics() async throws -> (count: Int, bytes: Int64)
}
