import AsyncHTTPClient
import NIOHTTP1

// `/api/v1/models`: create, list, get, update, delete; audit history.

extension RegistryClient {
    /// Creates a model at revision 1 (`POST /api/v1/models`).
    ///
    /// - Parameters:
    ///   - name: unique model name.
    ///   - description: free text.
    ///   - tags: tags, key to value.
    /// - Returns: the new model.
    /// - Throws: ``RegistryClientError`` `conflict` (server code `already_exists`) when the name is taken,
    ///   `invalidArgument` for a malformed name or tag.
    public func createModel(
        name: String,
        description: String? = nil,
        tags: [String: String]? = nil
    ) async throws -> RemoteModel {
        try await json(
            RemoteModel.self,
            .POST,
            "/api/v1/models",
            body: CreateModelBody(name: name, description: description, tags: tags)
        )
    }

    /// Lists models by name, one page at a time (`GET /api/v1/models`).
    ///
    /// - Parameters:
    ///   - prefix: only names starting with this.
    ///   - tags: conditions `key` (present) or `key=value`, all of which must hold.
    ///   - limit: page size, 1–1000 (the registry's default is 100).
    ///   - pageToken: ``RemoteModelPage/nextPageToken`` of the previous page.
    /// - Returns: one page.
    /// - Throws: ``RegistryClientError`` `invalidArgument` for a malformed filter or token.
    public func listModels(
        prefix: String? = nil,
        tags: [String] = [],
        limit: Int? = nil,
        pageToken: String? = nil
    ) async throws -> RemoteModelPage {
        var query: [(String, String)] = []
        if let prefix { query.append(("prefix", prefix)) }
        query += tags.map { ("tag", $0) }
        if let limit { query.append(("limit", String(limit))) }
        if let pageToken { query.append(("page_token", pageToken)) }
        return try await json(RemoteModelPage.self, .GET, "/api/v1/models", query: query)
    }

    /// Reads a model (`GET /api/v1/models/{name}`).
    ///
    /// - Parameter name: the model.
    /// - Returns: the model, with its current ``RemoteModel/revision``.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func model(named name: String) async throws -> RemoteModel {
        try await json(RemoteModel.self, .GET, Self.modelPath(name))
    }

    /// Changes a model's description and tags (`PATCH /api/v1/models/{name}`).
    ///
    /// - Parameters:
    ///   - name: the model.
    ///   - description: new description, unchanged when `nil`.
    ///   - tags: tags to set.
    ///   - removeTags: tag keys to remove.
    ///   - ifMatch: the revision the caller read; the update fails if the model changed since.
    /// - Returns: the updated model.
    /// - Throws: ``RegistryClientError`` `notFound`, `preconditionFailed` on a stale `ifMatch`, `invalidArgument`
    ///   when nothing would change.
    public func updateModel(
        named name: String,
        description: String? = nil,
        tags: [String: String]? = nil,
        removeTags: [String]? = nil,
        ifMatch: Int64? = nil
    ) async throws -> RemoteModel {
        try await json(
            RemoteModel.self,
            .PATCH,
            Self.modelPath(name),
            body: UpdateMetadataBody(description: description, tags: tags, removeTags: removeTags),
            ifMatch: ifMatch
        )
    }

    /// Deletes a model with its versions and aliases; blobs stay (`DELETE /api/v1/models/{name}`).
    ///
    /// - Parameters:
    ///   - name: the model.
    ///   - force: delete even when aliases or versions in Staging/Production remain.
    ///   - ifMatch: the revision the caller read.
    /// - Throws: ``RegistryClientError`` `notFound`, `preconditionFailed`, `conflict` when still in use.
    public func deleteModel(named name: String, force: Bool = false, ifMatch: Int64? = nil) async throws {
        _ = try await exchange(
            .DELETE,
            Self.modelPath(name),
            query: force ? [("force", "true")] : [],
            ifMatch: ifMatch
        )
    }

    /// A model's audit trail, newest first (`GET /api/v1/models/{name}/history`).
    ///
    /// The trail outlives a deleted model.
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - limit: page size, 1–1000.
    ///   - before: ``AuditPage/nextBefore`` of the previous page.
    /// - Returns: one page of events.
    /// - Throws: ``RegistryClientError`` `notFound` for a model that never existed.
    public func history(model: String, limit: Int? = nil, before: Int64? = nil) async throws -> AuditPage {
        var query: [(String, String)] = []
        if let limit { query.append(("limit", String(limit))) }
        if let before { query.append(("before", String(before))) }
        return try await json(AuditPage.self, .GET, Self.modelPath(model) + "/history", query: query)
    }
}
