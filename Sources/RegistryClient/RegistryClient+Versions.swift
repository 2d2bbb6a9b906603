import AsyncHTTPClient
import NIOHTTP1

// `/api/v1/models/{name}/versions`, `/labels`: versions and their lifecycle.

extension RegistryClient {
    /// Creates a PENDING version with the given files (`POST /api/v1/models/{name}/versions`).
    ///
    /// Blobs may be uploaded before or after; ``commitVersion(model:version:)`` checks that all are present.
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: files and metadata.
    /// - Returns: the new version, with its number.
    /// - Throws: ``RegistryClientError`` `notFound` (model), `conflict` (label taken), `invalidArgument`.
    public func createVersion(model: String, _ version: NewRemoteVersion) async throws -> RemoteVersion {
        try await json(RemoteVersion.self, .POST, Self.modelPath(model) + "/versions", body: version)
    }

    /// Lists a model's versions (`GET /api/v1/models/{name}/versions`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - stage: only versions in this stage.
    ///   - status: only versions with this status.
    ///   - label: only the version with this label.
    ///   - tags: tag conditions, `key` or `key=value`.
    ///   - metrics: metric conditions such as `accuracy>=0.9`.
    ///   - ascending: oldest first; newest first by default.
    ///   - limit: page size, 1–1000.
    ///   - pageToken: ``RemoteVersionPage/nextPageToken`` of the previous page.
    /// - Returns: one page.
    /// - Throws: ``RegistryClientError`` `notFound`, `invalidArgument`.
    public func listVersions(
        model: String,
        stage: RemoteStage? = nil,
        status: RemoteVersionStatus? = nil,
        label: String? = nil,
        tags: [String] = [],
        metrics: [String] = [],
        ascending: Bool = false,
        limit: Int? = nil,
        pageToken: String? = nil
    ) async throws -> RemoteVersionPage {
        var query: [(String, String)] = []
        if let stage { query.append(("stage", stage.rawValue)) }
        if let status { query.append(("status", status.rawValue)) }
        if let label { query.append(("label", label)) }
        query += tags.map { ("tag", $0) }
        query += metrics.map { ("metric", $0) }
        if ascending { query.append(("order", "asc")) }
        if let limit { query.append(("limit", String(limit))) }
        if let pageToken { query.append(("page_token", pageToken)) }
        return try await json(RemoteVersionPage.self, .GET, Self.modelPath(model) + "/versions", query: query)
    }

    /// Reads a version by number (`GET /api/v1/models/{name}/versions/{version}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    /// - Returns: the version.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func version(model: String, number version: Int) async throws -> RemoteVersion {
        try await json(RemoteVersion.self, .GET, Self.versionPath(model, version))
    }

    /// Reads a version by label (`GET /api/v1/models/{name}/labels/{label}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - label: the version's label.
    /// - Returns: the version.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func version(model: String, label: String) async throws -> RemoteVersion {
        try await json(RemoteVersion.self, .GET, Self.modelPath(model) + "/labels/\(Self.segment(label))")
    }

    /// The files of a version: path, size, digest and role (read from the version).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    /// - Returns: the files.
    /// - Throws: ``RegistryClientError`` `notFound`.
    public func files(model: String, version: Int) async throws -> [RemoteFile] {
        try await self.version(model: model, number: version).files
    }

    /// Changes a version's description, tags or metrics; files never change
    /// (`PATCH /api/v1/models/{name}/versions/{version}`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    ///   - description: new description, unchanged when `nil`.
    ///   - tags: tags to set.
    ///   - removeTags: tag keys to remove.
    ///   - metrics: metrics to set.
    /// - Returns: the updated version.
    /// - Throws: ``RegistryClientError`` `notFound`, `invalidArgument` when nothing would change.
    public func updateVersion(
        model: String,
        version: Int,
        description: String? = nil,
        tags: [String: String]? = nil,
        removeTags: [String]? = nil,
        metrics: [String: Double]? = nil
    ) async throws -> RemoteVersion {
        try await json(
            RemoteVersion.self,
            .PATCH,
            Self.versionPath(model, version),
            body: UpdateMetadataBody(description: description, tags: tags, removeTags: removeTags, metrics: metrics)
        )
    }

    /// Commits a PENDING version: READY when every blob is present
    /// (`POST /api/v1/models/{name}/versions/{version}/commit`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    /// - Returns: the READY version, with its detected format.
    /// - Throws: ``RegistryClientError`` `blobsMissing` (``RegistryClientError/details`` `missing` lists them),
    ///   `conflict` when the version is not PENDING, `notFound`.
    public func commitVersion(model: String, version: Int) async throws -> RemoteVersion {
        try await json(RemoteVersion.self, .POST, Self.versionPath(model, version) + "/commit")
    }

    /// Marks a PENDING version FAILED (`POST /api/v1/models/{name}/versions/{version}/fail`).
    ///
    /// - Parameters:
    ///   - model: the model.
    ///   - version: the version number.
    ///   - reason: why, recorded on the version.
    /// - Returns: the FAILED version.
    /// - Throws: ``RegistryClientError`` `conflict` when the version is not PENDING, `notFound`.
    public func failVersion(model: String, version: Int, reason: String) async throws -> RemoteVersion {
        try await json(
            RemoteVersion.self,
            .POST,
            Self.versionPath(model, version) + "/fail",
            body: FailBody(reason: reason)
        )
    }

    /// `/api/v1/models/{name}/versions/{version}`.
    static func versionPath(_ model: String, _ version: Int) -> String {
        modelPath(model) + "/versions/\(version)"
    }

    /// `/api/v1/models/{name}/versions/{version}/files/{path}`, each path segment encoded.
    static func filePath(_ model: String, _ version: Int, _ path: String) -> String {
        let encoded = path.split(separator: "/", omittingEmptySubsequences: false).map { segment(String($0)) }
        return versionPath(model, version) + "/files/" + encoded.joined(separator: "/")
    }
}
