import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/models`: create, list, get, update, delete models; their audit history.
struct ModelsController {
    let service: RegistryService

    var endpoints: RouteCollection<RegistryRequestContext> {
        let routes = RouteCollection(context: RegistryRequestContext.self)
        routes.post(use: create)
        routes.get(use: list)
        routes.get(":name", use: get)
        routes.patch(":name", use: update)
        routes.delete(":name", use: delete)
        routes.get(":name/history", use: history)
        return routes
    }

    @Sendable func create(_ request: Request, context: RegistryRequestContext) async throws -> EditedResponse<ModelDTO>
    {
        let body = try await request.decode(as: CreateModelRequest.self, context: context)
        // The route needs writer somewhere; the name is in the body.
        try context.identity.require(.writer, on: body.name)
        let model = try await service.createModel(
            name: body.name,
            description: body.description,
            tags: body.tags,
            actor: context.principal
        )
        return EditedResponse(
            status: .created,
            headers: [.location: "/api/v1/models/\(model.name)", .eTag: "\"\(model.revision)\""],
            response: ModelDTO(model)
        )
    }

    @Sendable func list(_ request: Request, context: RegistryRequestContext) async throws -> ModelListDTO {
        var query = ModelQuery(
            namePrefix: request.uri.queryParameters.get("prefix"),
            tags: try request.queryAll("tag").map { try TagFilter(parsing: $0) },
            limit: try request.queryInt("limit", default: 100),
            pageToken: request.uri.queryParameters.get("page_token")
        )
        let identity = context.identity
        if !identity.hasEverywhere(.reader) {
            query.visibleTo = ModelQuery.Visibility(
                patterns: identity.isDevice ? [] : identity.bindings.map(\.pattern),
                names: identity.isDevice ? identity.deviceModels : []
            )
        }
        let page = try await service.models(query)
        return ModelListDTO(models: page.items.map(ModelDTO.init), nextPageToken: page.nextPageToken)
    }

    @Sendable func get(_ request: Request, context: RegistryRequestContext) async throws -> EditedResponse<ModelDTO> {
        let model = try await service.model(named: try context.string("name"))
        return EditedResponse(headers: [.eTag: "\"\(model.revision)\""], response: ModelDTO(model))
    }

    @Sendable func update(_ request: Request, context: RegistryRequestContext) async throws -> EditedResponse<ModelDTO>
    {
        let body = try await request.decode(as: UpdateModelRequest.self, context: context)
        let model = try await service.updateModel(
            named: try context.string("name"),
            MetadataUpdate(description: body.description, setTags: body.tags ?? [:], removeTags: body.removeTags ?? []),
            expectedRevision: try request.expectedRevision(),
            actor: context.principal
        )
        return EditedResponse(headers: [.eTag: "\"\(model.revision)\""], response: ModelDTO(model))
    }

    @Sendable func delete(_ request: Request, context: RegistryRequestContext) async throws -> HTTPResponse.Status {
        try await service.deleteModel(
            named: try context.string("name"),
            force: try request.queryBool("force"),
            expectedRevision: try request.expectedRevision(),
            actor: context.principal
        )
        return .noContent
    }

    @Sendable func history(_ request: Request, context: RegistryRequestContext) async throws -> HistoryDTO {
        let limit = try request.queryInt("limit", default: 100)
        let before = try request.uri.queryParameters.get("before").map { text -> Int64 in
            guard let id = Int64(text), id > 0 else {
                throw RegistryError.invalid("invalid before '\(Validation.printable(text))': expected an event id")
            }
            return id
        }
        let history = try await service.history(model: try context.string("name"), limit: limit, beforeID: before)
        return HistoryDTO(events: history.events.map(AuditEventDTO.init), nextBefore: history.nextBefore)
    }
}
