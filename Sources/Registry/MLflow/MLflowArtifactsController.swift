import Foundation
import HTTPTypes
import Hummingbird

/// `/api/2.0/mlflow-artifacts/artifacts`: MLflow's artifact proxy on the content-addressed store.
///
/// Two trees share the routes:
/// - `<experiment>/…`: what runs and logged models upload. Files are streamed into the blob store (never collected
///   in memory) and recorded by path. Reading and writing it needs writer on some model, like the rest of tracking.
/// - `registry/<model>/<version>/…`: a read-only view of a registered version's files, the download URI of every
///   model version. Reading it needs reader on that model.
struct MLflowArtifactsController {
    let mlflow: MLflowService

    func add(to router: Router<RegistryRequestContext>) {
        let artifacts = router.group("/api/2.0/mlflow-artifacts/artifacts")
        artifacts.get(use: list)
        artifacts.get("**", use: download)
        artifacts.put("**", use: upload)
        artifacts.delete("**", use: delete)
    }

    struct FileInfoJSON: Encodable {
        var path: String
        var is_dir: Bool
        var file_size: Int64?
    }

    struct ListResponse: ResponseEncodable {
        var files: [FileInfoJSON]?
    }

    /// The direct children of `path` (the tree's top when absent), directories included; `{}` when there are none.
    @Sendable func list(_ request: Request, context: RegistryRequestContext) async throws -> ListResponse {
        let parameters = try await MLflowParameters.read(request, context: context)
        let raw = try parameters.string("path") ?? ""
        let path = raw.isEmpty ? "" : try MLflowService.artifactPath(raw)
        let files: [(path: String, size: Int64)]
        if let view = try registryView(path, context: context) {
            files = try await view.files()
        } else {
            try requireTracking(context)
            files = try await mlflow.store.artifacts(under: path).map {
                (String($0.path.dropFirst(path.isEmpty ? 0 : path.count + 1)), $0.size)
            }
        }
        var entries: [FileInfoJSON] = []
        var directories = Set<String>()
        for file in files {
            if let slash = file.path.firstIndex(of: "/") {
                let name = String(file.path[..<slash])
                if directories.insert(name).inserted { entries.append(FileInfoJSON(path: name, is_dir: true)) }
            } else {
                entries.append(FileInfoJSON(path: file.path, is_dir: false, file_size: file.size))
            }
        }
        return ListResponse(files: entries.isEmpty ? nil : entries)
    }

    @Sendable func download(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let path = try Self.artifactPath(request)
        if let view = try registryView(path, context: context) {
            guard let file = try await view.file() else {
                throw RegistryError.notFound("artifact '\(Validation.printable(path))' does not exist")
            }
            return try await stream(file, request: request, context: context)
        }
        try requireTracking(context)
        guard let file = try await mlflow.store.artifact(path: path) else {
            throw RegistryError.notFound("artifact '\(Validation.printable(path))' does not exist")
        }
        return try await stream(file, request: request, context: context)
    }

    @Sendable func upload(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let path = try Self.artifactPath(request)
        try refuseRegistryView(path)
        try requireTracking(context)
        try await requireOwner(of: path, context)
        try await mlflow.putArtifact(path: path, body: request.body, actor: context.principal)
        return Response(status: .ok)
    }

    @Sendable func delete(_ request: Request, context: RegistryRequestContext) async throws -> EmptyJSON {
        let path = try Self.artifactPath(request)
        try refuseRegistryView(path)
        try requireTracking(context)
        try await requireOwner(of: path, context)
        _ = try await mlflow.store.deleteArtifacts(path: path)
        return EmptyJSON()
    }

    // MARK: Helpers

    static let prefix = "/api/2.0/mlflow-artifacts/artifacts/"

    /// The artifact path as sent (the router's catch-all drops empty components, which must be refused, not merged).
    static func artifactPath(_ request: Request) throws -> String {
        let path = request.uri.path
        guard path.hasPrefix(prefix) else {
            throw RegistryError.invalid("invalid artifact path '\(Validation.printable(path))'")
        }
        return try MLflowService.artifactPath(String(path.dropFirst(prefix.count)))
    }

    func stream(_ file: ArtifactFile, request: Request, context: RegistryRequestContext) async throws -> Response {
        guard let location = try await mlflow.registry.blobs.fileURL(of: file.digest) else {
            throw RegistryError(
                .internal,
                "the blob \(file.digest) of artifact '\(file.path)' is missing from the store"
            )
        }
        return try await BlobResponse.make(
            location: location,
            size: file.size,
            digest: file.digest,
            request: request,
            context: context
        )
    }

    func requireTracking(_ context: RegistryRequestContext) throws {
        let identity = context.identity
        guard identity.hasAnywhere(.writer) else {
            throw RegistryError(
                .forbidden,
                "\(identity.described) may not use experiment artifacts: tracking needs writer on at least one model (\(identity.heldRoles))"
            )
        }
    }

    /// Writes go inside the artifacts of an active run (`<experiment>/<run>/artifacts/…`) or logged model
    /// (`<experiment>/models/<id>/artifacts/…`), by the principal that created it or an administrator: nobody can
    /// replace the files another team's training job is about to register.
    func requireOwner(of path: String, _ context: RegistryRequestContext) async throws {
        let parts = path.split(separator: "/").map(String.init)
        let outside = RegistryError.invalid(
            "artifact path '\(Validation.printable(path))' is not inside a run's or logged model's artifacts: write to <experiment>/<run_id>/artifacts/… or <experiment>/models/<model_id>/artifacts/…"
        )
        // The experiment's directory is its id as written (`0`, not `00` or `+0`).
        guard parts.count >= 4, Int64(parts[0]).map(String.init) == parts[0], let experimentID = Int64(parts[0]) else {
            throw outside
        }
        let owner: String
        let what: String
        if parts[1] == "models", parts.count >= 5, parts[3] == "artifacts" {
            let model = try await mlflow.store.loggedModel(id: parts[2])
            guard model.experimentID == experimentID else { throw outside }
            (owner, what) = (model.createdBy, "logged model \(model.id)")
        } else if parts[2] == "artifacts", MLflowService.isHexID(parts[1]) {
            let run = try await mlflow.store.runInfo(id: parts[1])
            guard run.experimentID == experimentID else { throw outside }
            guard run.lifecycleStage == "active" else {
                throw RegistryError.invalid("run \(run.id) is deleted: its artifacts cannot change")
            }
            (owner, what) = (run.createdBy, "run \(run.id)")
        } else {
            throw outside
        }
        try MLflowTrackingController.requireOwner(owner, of: what, context)
    }

    func refuseRegistryView(_ path: String) throws {
        if path == MLflowService.registryRoot || path.hasPrefix(MLflowService.registryRoot + "/") {
            throw RegistryError.invalid(
                "artifact path '\(Validation.printable(path))' is in the read-only view of registered versions; upload to a run's or logged model's artifacts and create a model version from them"
            )
        }
    }

    /// The registered-version view a path is in, checked for the caller's role; `nil` for the tracking tree.
    func registryView(_ path: String, context: RegistryRequestContext) throws -> RegistryView? {
        let components = path.split(separator: "/").map(String.init)
        guard components.first == MLflowService.registryRoot else { return nil }
        let identity = context.identity
        if components.count >= 2 { try identity.require(.reader, on: components[1]) }
        return RegistryView(mlflow: mlflow, identity: identity, components: Array(components.dropFirst()))
    }

    /// `registry/` → readable models; `registry/<model>` → its READY versions; `registry/<model>/<n>/…` → files.
    struct RegistryView {
        let mlflow: MLflowService
        let identity: Identity
        let components: [String]

        func files() async throws -> [(path: String, size: Int64)] {
            switch components.count {
            case 0:
                return try await MLflowRegistryController(mlflow: mlflow).allModels(visibleTo: identity)
                    .map { ("\($0.name)/", 0) }
            case 1:
                let versions = try await mlflow.store.versions(ofModels: [components[0]])
                return versions.filter { $0.status == .ready }.map { ("\($0.number)/", 0) }
            default:
                let version = try await self.version()
                let prefix = components.dropFirst(2).joined(separator: "/")
                guard !prefix.isEmpty else { return version.files.map { ($0.path, $0.size) } }
                return version.files.filter { $0.path.hasPrefix(prefix + "/") }
                    .map { (String($0.path.dropFirst(prefix.count + 1)), $0.size) }
            }
        }

        func file() async throws -> ArtifactFile? {
            guard components.count >= 3 else { return nil }
            let version = try await self.version()
            let path = components.dropFirst(2).joined(separator: "/")
            return version.files.first { $0.path == path }.map {
                ArtifactFile(path: path, digest: $0.digest, size: $0.size)
            }
        }

        func version() async throws -> ModelVersion {
            guard let number = Int(components[1]), number > 0 else {
                throw RegistryError.notFound("artifact 'registry/\(components.joined(separator: "/"))' does not exist")
            }
            let version = try await mlflow.registry.version(model: components[0], number: number)
            guard version.status == .ready else {
                throw RegistryError.notFound(
                    "version \(number) of model '\(version.model)' is \(version.status.rawValue): its files are not available"
                )
            }
            return version
        }
    }
}
