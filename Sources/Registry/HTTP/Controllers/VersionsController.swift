import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/models/:name/versions`, `/labels`, `/stages`, `/aliases`: versions, their files, stages and aliases.
struct VersionsController {
    let service: RegistryService

    var endpoints: RouteCollection<RegistryRequestContext> {
        let routes = RouteCollection(context: RegistryRequestContext.self)
        routes.post(":name/versions", use: create)
        routes.get(":name/versions", use: list)
        routes.get(":name/versions/:version", use: get)
        routes.patch(":name/versions/:version", use: update)
        routes.post(":name/versions/:version/commit", use: commit)
        routes.post(":name/versions/:version/fail", use: fail)
        routes.post(":name/versions/:version/stage", use: setStage)
        routes.get(":name/versions/:version/files/**", use: downloadFile)
        routes.head(":name/versions/:version/files/**", use: downloadFile)
        routes.get(":name/labels/:label", use: getByLabel)
        routes.get(":name/stages/:stage", use: getByStage)
        routes.post(":name/stages/:stage/rollback", use: rollbackStage)
        routes.get(":name/aliases", use: aliases)
        routes.get(":name/aliases/:alias", use: getByAlias)
        routes.put(":name/aliases/:alias", use: setAlias)
        routes.delete(":name/aliases/:alias", use: deleteAlias)
        routes.post(":name/aliases/:alias/rollback", use: rollbackAlias)
        return routes
    }

    // MARK: Versions

    @Sendable func create(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<VersionDTO> {
        let body = try await request.decode(as: CreateVersionRequest.self, context: context)
        let model = try context.string("name")
        let version = try await service.createVersion(model: model, try body.domain(), actor: context.principal)
        return EditedResponse(
            status: .created,
            headers: [.location: "/api/v1/models/\(model)/versions/\(version.number)"],
            response: VersionDTO(version)
        )
    }

    @Sendable func list(_ request: Request, context: RegistryRequestContext) async throws -> VersionListDTO {
        let order = request.uri.queryParameters.get("order") ?? "desc"
        guard order == "asc" || order == "desc" else {
            throw RegistryError.invalid("invalid order '\(Validation.printable(order))': expected asc or desc")
        }
        let query = VersionQuery(
            model: try context.string("name"),
            stage: try request.uri.queryParameters.get("stage").map { try Stage(parsing: $0) },
            status: try request.uri.queryParameters.get("status").map { text in
                guard let status = VersionStatus(rawValue: text.uppercased()) else {
                    throw RegistryError.invalid(
                        "invalid status '\(Validation.printable(text))': expected PENDING, READY or FAILED"
                    )
                }
                return status
            },
            label: request.uri.queryParameters.get("label"),
            tags: try request.queryAll("tag").map { try TagFilter(parsing: $0) },
            metrics: try request.queryAll("metric").map { try MetricFilter(parsing: $0) },
            ascending: order == "asc",
            limit: try request.queryInt("limit", default: 100),
            pageToken: request.uri.queryParameters.get("page_token")
        )
        let page = try await service.versions(query)
        return VersionListDTO(versions: page.items.map(VersionDTO.init), nextPageToken: page.nextPageToken)
    }

    @Sendable func get(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        VersionDTO(try await service.version(model: try context.string("name"), number: try context.versionNumber()))
    }

    @Sendable func update(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        let body = try await request.decode(as: UpdateVersionRequest.self, context: context)
        let update = MetadataUpdate(
            description: body.description,
            setTags: body.tags ?? [:],
            removeTags: body.removeTags ?? [],
            setMetrics: body.metrics ?? [:]
        )
        return VersionDTO(
            try await service.updateVersion(
                model: try context.string("name"),
                number: try context.versionNumber(),
                update,
                actor: context.principal
            )
        )
    }

    @Sendable func commit(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        let model = try context.string("name")
        let number = try context.versionNumber()
        try await checkBlobsReadable(model: model, number: number, context.identity)
        return VersionDTO(try await service.commitVersion(model: model, number: number, actor: context.principal))
    }

    /// A committed version makes its blobs readable to the model's readers, so the committer must be able to read
    /// each of them already (uploaded it, or reads a model that has it). Knowing a digest is not enough: the
    /// registry stores one copy of each content for everyone.
    private func checkBlobsReadable(model: String, number: Int, _ identity: Identity) async throws {
        guard !identity.hasEverywhere(.reader) else { return }
        let version = try await service.version(model: model, number: number)
        guard version.status == .pending else { return }
        var foreign: [VersionFile] = []
        for file in version.files where try await service.blobSize(file.digest) != nil {
            if try await !service.metadata.mayRead(file.digest, identity) { foreign.append(file) }
        }
        guard !foreign.isEmpty else { return }
        let list = foreign.prefix(20).map { "\($0.path) (\($0.digest))" }.joined(separator: ", ")
        throw RegistryError(
            .blobsMissing,
            "version \(number) of model '\(model)' cannot be committed by \(identity.principal.id): \(foreign.count) file(s) use content it has not uploaded and may not read: \(list); upload those files (PUT /api/v1/blobs/{digest} with their bytes) and commit again",
            details: ["missing": foreign.map(\.digest.description).joined(separator: ",")]
        )
    }

    @Sendable func fail(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        let body = try await request.decode(as: FailVersionRequest.self, context: context)
        return VersionDTO(
            try await service.failVersion(
                model: try context.string("name"),
                number: try context.versionNumber(),
                reason: body.reason,
                actor: context.principal
            )
        )
    }

    @Sendable func downloadFile(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let path = context.parameters.getCatchAll().map { $0.removingPercentEncoding ?? String($0) }.joined(
            separator: "/"
        )
        let (file, location) = try await service.file(
            model: try context.string("name"),
            number: try context.versionNumber(),
            path: path
        )
        return try await BlobResponse.make(
            location: location,
            size: file.size,
            digest: file.digest,
            request: request,
            context: context
        )
    }

    @Sendable func getByLabel(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        VersionDTO(try await service.version(model: try context.string("name"), label: try context.string("label")))
    }

    // MARK: Stages

    @Sendable func setStage(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<
        StageChangeDTO
    > {
        let body = try await request.decode(as: SetStageRequest.self, context: context)
        let change = try await service.setStage(
            model: try context.string("name"),
            number: try context.versionNumber(),
            stage: try Stage(parsing: body.stage),
            archiveExisting: body.archiveExisting ?? false,
            expectedRevision: try request.expectedRevision(),
            comment: body.comment,
            actor: context.principal
        )
        return EditedResponse(headers: [.eTag: "\"\(change.revision)\""], response: StageChangeDTO(change))
    }

    @Sendable func getByStage(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        VersionDTO(
            try await service.version(
                model: try context.string("name"),
                stage: try Stage(parsing: try context.string("stage"))
            )
        )
    }

    @Sendable func rollbackStage(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<
        StageChangeDTO
    > {
        let body = try await Self.optionalBody(RollbackRequest.self, request, context)
        let change = try await service.rollbackStage(
            model: try context.string("name"),
            stage: try Stage(parsing: try context.string("stage")),
            expectedRevision: try request.expectedRevision(),
            comment: body?.comment,
            actor: context.principal
        )
        return EditedResponse(headers: [.eTag: "\"\(change.revision)\""], response: StageChangeDTO(change))
    }

    // MARK: Aliases

    @Sendable func aliases(_ request: Request, context: RegistryRequestContext) async throws -> AliasesDTO {
        let model = try await service.model(named: try context.string("name"))
        return AliasesDTO(model: model.name, aliases: model.aliases, revision: model.revision)
    }

    @Sendable func getByAlias(_ request: Request, context: RegistryRequestContext) async throws -> VersionDTO {
        VersionDTO(try await service.version(model: try context.string("name"), alias: try context.string("alias")))
    }

    @Sendable func setAlias(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<
        AliasChangeDTO
    > {
        let body = try await request.decode(as: SetAliasRequest.self, context: context)
        let change = try await service.setAlias(
            model: try context.string("name"),
            alias: try context.string("alias"),
            number: body.version,
            expectedRevision: try request.expectedRevision(),
            comment: body.comment,
            actor: context.principal
        )
        return EditedResponse(headers: [.eTag: "\"\(change.revision)\""], response: AliasChangeDTO(change))
    }

    @Sendable func deleteAlias(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<
        AliasChangeDTO
    > {
        let change = try await service.deleteAlias(
            model: try context.string("name"),
            alias: try context.string("alias"),
            expectedRevision: try request.expectedRevision(),
            comment: request.uri.queryParameters.get("comment"),
            actor: context.principal
        )
        return EditedResponse(headers: [.eTag: "\"\(change.revision)\""], response: AliasChangeDTO(change))
    }

    @Sendable func rollbackAlias(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<
        AliasChangeDTO
    > {
        let body = try await Self.optionalBody(RollbackRequest.self, request, context)
        let change = try await service.rollbackAlias(
            model: try context.string("name"),
            alias: try context.string("alias"),
            expectedRevision: try request.expectedRevision(),
            comment: body?.comment,
            actor: context.principal
        )
        return EditedResponse(headers: [.eTag: "\"\(change.revision)\""], response: AliasChangeDTO(change))
    }

    /// Decodes a JSON body that may be absent (empty).
    static func optionalBody<T: Decodable>(
        _ type: T.Type,
        _ request: Request,
        _ context: RegistryRequestContext
    )
        async throws -> T?
    {
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { return nil }
        return try await request.decode(as: type, context: context)
    }
}
