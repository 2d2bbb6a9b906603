import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/blobs/:digest` (HEAD, GET, PUT) and `/api/v1/uploads` (resumable uploads).
struct BlobsController {
    let service: RegistryService

    var blobEndpoints: RouteCollection<RegistryRequestContext> {
        let routes = RouteCollection(context: RegistryRequestContext.self)
        routes.head(":digest", use: download)
        routes.get(":digest", use: download)
        routes.put(":digest", use: upload)
        return routes
    }

    var uploadEndpoints: RouteCollection<RegistryRequestContext> {
        let routes = RouteCollection(context: RegistryRequestContext.self)
        routes.post(use: createUpload)
        routes.get(":id", use: uploadStatus)
        routes.head(":id", use: uploadStatus)
        routes.patch(":id", use: appendUpload)
        routes.put(":id", use: finishUpload)
        routes.delete(":id", use: cancelUpload)
        return routes
    }

    // MARK: Blobs

    @Sendable func download(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let digest = try context.digest()
        // One stat: the size tells whether the blob exists; its location follows from the digest.
        guard let size = try await service.blobSize(digest) else {
            if request.method == .head { return Response(status: .notFound) }
            throw RegistryError.notFound("blob \(digest) is not stored")
        }
        return try await BlobResponse.make(
            location: service.blobs.blobURL(digest),
            size: size,
            digest: digest,
            request: request,
            context: context
        )
    }

    /// Streams the body into the store while hashing; 201 when stored, 200 when the bytes were already there.
    @Sendable func upload(_ request: Request, context: RegistryRequestContext) async throws -> EditedResponse<BlobDTO> {
        let digest = try context.digest()
        let headers: HTTPFields = [.location: "/api/v1/blobs/\(digest)", .dockerContentDigest: digest.description]
        // Stored already: answered without reading the body only to a caller that may read it; anyone else sends
        // the bytes, which are checked against the digest, and so proves it holds them.
        if let size = try await service.blobSize(digest), try await service.metadata.mayRead(digest, context.identity) {
            return EditedResponse(
                status: .ok,
                headers: headers,
                response: BlobDTO(digest: digest.description, size: size, created: false)
            )
        }
        let stored = try await service.putBlob(request.body, expected: digest)
        try await service.metadata.recordBlobHolder(stored.digest, principal: context.principal)
        return EditedResponse(
            status: stored.created ? .created : .ok,
            headers: headers,
            response: BlobDTO(digest: stored.digest.description, size: stored.size, created: stored.created)
        )
    }

    // MARK: Uploads

    @Sendable func createUpload(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<UploadDTO> {
        let id = try await service.blobs.createUpload(owner: context.principal.id)
        let location = "/api/v1/uploads/\(id)"
        return EditedResponse(
            status: .created,
            headers: [.location: location, .uploadOffset: "0"],
            response: UploadDTO(id: id, offset: 0, location: location)
        )
    }

    @Sendable func uploadStatus(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<UploadDTO> {
        let id = try await ownedSession(context)
        let offset = try await service.blobs.uploadOffset(id)
        return Self.progress(id: id, offset: offset)
    }

    /// Appends a chunk given by `Content-Range: bytes START-END/TOTAL|*`; START must equal the acknowledged offset.
    @Sendable func appendUpload(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<UploadDTO> {
        let id = try await ownedSession(context)
        let range = try ContentRange.parse(request.headers[.contentRange])
        if let declared = request.headers[.contentLength].flatMap(Int64.init), declared != range.end - range.start + 1 {
            throw RegistryError.invalid(
                "Content-Range covers \(range.end - range.start + 1) bytes but Content-Length is \(declared)"
            )
        }
        let offset = try await service.blobs.appendUpload(
            id,
            at: range.start,
            maxLength: range.end - range.start + 1,
            request.body
        )
        return Self.progress(id: id, offset: offset)
    }

    /// Finishes an upload: `?digest=sha256:…` must match the uploaded bytes.
    @Sendable func finishUpload(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<BlobDTO> {
        let id = try await ownedSession(context)
        guard let text = request.uri.queryParameters.get("digest") else {
            throw RegistryError.invalid("missing query parameter digest: finish an upload with ?digest=sha256:<hex>")
        }
        let digest = try Digest(parsing: text)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            throw RegistryError.invalid(
                "PUT finishes an upload and takes no body: send the remaining bytes with PATCH first"
            )
        }
        let stored = try await service.finishUpload(id, expected: digest)
        try await service.metadata.recordBlobHolder(stored.digest, principal: context.principal)
        return EditedResponse(
            status: stored.created ? .created : .ok,
            headers: [.location: "/api/v1/blobs/\(digest)", .dockerContentDigest: digest.description],
            response: BlobDTO(digest: stored.digest.description, size: stored.size, created: stored.created)
        )
    }

    @Sendable func cancelUpload(_ request: Request, context: RegistryRequestContext) async throws -> HTTPResponse.Status
    {
        try await service.blobs.cancelUpload(try await ownedSession(context))
        return .noContent
    }

    /// The session id of the path, when the session belongs to the caller (or the caller administers the registry).
    /// Anyone else is told it does not exist, as for an unknown id.
    func ownedSession(_ context: RegistryRequestContext) async throws -> String {
        let id = try context.string("id")
        let owner = try await service.blobs.uploadOwner(id)
        guard let owner, owner != context.principal.id, !context.identity.isAdministrator else { return id }
        throw RegistryError.notFound(
            "upload session '\(id)' does not exist (finished, cancelled, never created, or started by another principal)"
        )
    }

    static func progress(id: String, offset: Int64) -> EditedResponse<UploadDTO> {
        var headers: HTTPFields = [.uploadOffset: String(offset), .location: "/api/v1/uploads/\(id)"]
        if offset > 0 { headers[.range] = "bytes=0-\(offset - 1)" }
        return EditedResponse(
            headers: headers,
            response: UploadDTO(id: id, offset: offset, location: "/api/v1/uploads/\(id)")
        )
    }
}
