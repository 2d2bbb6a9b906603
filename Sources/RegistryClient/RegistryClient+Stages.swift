import AsyncHTTPClient
import NIOHTTP1

// `/api/v1/models/{name}/…/stage`, `/stages`, `/aliases`: promotion, aliases, rollback.

extension RegistryClient {
    /// Moves a READY version to a stage (`POST /api/v1/models/{name}/versions/{version}/stage`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    ///   - stage: the target stage.
    ///   - archiveExisting: move the versions that held `stage` to Archived in the same transaction.
    ///   - comment: recorded in the audit trail.
    ///   - ifMatch: the model revision the caller read.
    /// - Returns: what moved, and the new revision.
    /// - Throws: ``RegistryClientError`` `notFound`, `preconditionFailed`, `conflict` (version not READY).
    public func setStage(
        model: String,
        version: Int,
        stage: RemoteStage,
        archiveExisting: Bool = false,
        comment: String? = nil,
        ifMatch: Int64? = nil
    ) async throws -> RemoteStageChange {
        try await json(
            RemoteStageChange.self,
            .POST,
            Self.versionPath(model, version) + "/stage",
            body: SetStageBody(stage: stage.rawValue, archiveExisting: archiveExisting, comment: comment),
            ifMatch: ifMatch
        )
    }

    /// The newest version holding a stage (`GET /api/v1/models/{name}/stages/{stage}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - stage: the stage.
    /// - Returns: the version.
    /// - Throws: ``RegistryClientError`` `notFound` when no version holds it.
    public func version(model: String, stage: RemoteStage) async throws -> RemoteVersion {
        try await json(RemoteVersion.self, .GET, Self.modelPath(model) + "/stages/\(stage.rawValue)")
    }

    /// Returns a stage to its previous holders (`POST /api/v1/models/{name}/stages/{stage}/rollback`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - stage: the stage.
    ///   - comment: recorded in the audit trail.
    ///   - ifMatch: the model revision the caller read.
    /// - Returns: what moved.
    /// - Throws: ``RegistryClientError`` `conflict` when there is nothing to roll back, `preconditionFailed`,
    ///   `notFound`.
    public func rollbackStage(
        model: String,
        stage: RemoteStage,
        comment: String? = nil,
        ifMatch: Int64? = nil
    ) async throws -> RemoteStageChange {
        try await json(
            RemoteStageChange.self,
            .POST,
            Self.modelPath(model) + "/stages/\(stage.rawValue)/rollback",
            body: CommentBody(comment: comment),
            ifMatch: ifMatch
        )
    }

    /// A model's aliases (`GET /api/v1/models/{name}/aliases`).
    ///
    /// - Parameter model: the model.
    /// - Returns: alias to version, and the model revision.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func aliases(model: String) async throws -> RemoteAliases {
        try await json(RemoteAliases.self, .GET, Self.modelPath(model) + "/aliases")
    }

    /// The version an alias points at (`GET /api/v1/models/{name}/aliases/{alias}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - alias: the alias.
    /// - Returns: the version.
    /// - Throws: ``RegistryClientError`` `notFound` (the message lists the model's aliases).
    public func version(model: String, alias: String) async throws -> RemoteVersion {
        try await json(RemoteVersion.self, .GET, Self.aliasPath(model, alias))
    }

    /// Points an alias at a version, creating or moving it (`PUT /api/v1/models/{name}/aliases/{alias}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - alias: the alias.
    ///   - version: the version number.
    ///   - comment: recorded in the audit trail.
    ///   - ifMatch: the model revision the caller read.
    /// - Returns: the change.
    /// - Throws: ``RegistryClientError`` `notFound`, `invalidArgument` (reserved or malformed alias),
    ///   `preconditionFailed`, `conflict` (version not READY).
    public func setAlias(
        model: String,
        alias: String,
        version: Int,
        comment: String? = nil,
        ifMatch: Int64? = nil
    ) async throws -> RemoteAliasChange {
        try await json(
            RemoteAliasChange.self,
            .PUT,
            Self.aliasPath(model, alias),
            body: SetAliasBody(version: version, comment: comment),
            ifMatch: ifMatch
        )
    }

    /// Deletes an alias (`DELETE /api/v1/models/{name}/aliases/{alias}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - alias: the alias.
    ///   - comment: recorded in the audit trail.
    ///   - ifMatch: the model revision the caller read.
    /// - Returns: the change (``RemoteAliasChange/to`` is `nil`).
    /// - Throws: ``RegistryClientError`` `notFound`, `preconditionFailed`.
    public func deleteAlias(
        model: String,
        alias: String,
        comment: String? = nil,
        ifMatch: Int64? = nil
    ) async throws -> RemoteAliasChange {
        let answer = try await exchange(
            .DELETE,
            Self.aliasPath(model, alias),
            query: comment.map { [("comment", $0)] } ?? [],
            ifMatch: ifMatch
        )
        return try decode(RemoteAliasChange.self, answer.body, what: "DELETE \(Self.aliasPath(model, alias))")
    }

    /// Returns an alias to its previous version (`POST /api/v1/models/{name}/aliases/{alias}/rollback`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - alias: the alias.
    ///   - comment: recorded in the audit trail.
    ///   - ifMatch: the model revision the caller read.
    /// - Returns: the change.
    /// - Throws: ``RegistryClientError`` `conflict` when there is nothing to roll back, `preconditionFailed`,
    ///   `notFound`.
    public func rollbackAlias(
        model: String,
        alias: String,
        comment: String? = nil,
        ifMatch: Int64? = nil
    ) async throws -> RemoteAliasChange {
        try await json(
            RemoteAliasChange.self,
            .POST,
            Self.aliasPath(model, alias) + "/rollback",
            body: CommentBody(comment: comment),
            ifMatch: ifMatch
        )
    }

    static func aliasPath(_ model: String, _ alias: String) -> String {
        modelPath(model) + "/aliases/\(segment(alias))"
    }
}
