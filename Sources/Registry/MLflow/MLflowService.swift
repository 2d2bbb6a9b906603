import Foundation
import NIOCore
import Packager

/// The operations behind the MLflow-compatible routes, on the same stores as the v1 API: an MLflow model version is
/// a modelctl version, and MLflow's artifact tree holds its files in the content-addressed blob store.
struct MLflowService: Sendable {
    let registry: RegistryService
    /// Shared by every request: see ``MLflowReadCache``.
    let cache: MLflowReadCache

    init(registry: RegistryService) {
        self.registry = registry
        self.cache = MLflowReadCache()
    }
    var store: any MetadataStore { registry.metadata }

    /// The top directory of the read-only view of registered versions in the artifact tree:
    /// `registry/<model>/<version>/<file>`. Experiment ids are numbers, so it never collides with run artifacts.
    static let registryRoot = "registry"

    // MARK: Model versions from sources

    /// Where a model version's files come from, once its `source` is resolved.
    struct ResolvedSource: Sendable {
        var files: [VersionFile]
        var loggedModelID: String?
        var runID: String?
    }

    /// Resolves `mlflow-artifacts:/…`, `runs:/<run>/<path>` and `models:/…` to files of our store. Anything else
    /// (local paths, `file://`, other stores, `..`) is refused: the registry never reads a path a client names.
    ///
    /// - Parameter identity: the caller, who needs reader on a registered model a source names (`models:/NAME/VERSION`).
    /// - Parameter original: the source the client sent, for messages, when `source` is derived from it.
    func resolve(
        source: String,
        runID: String?,
        modelID: String?,
        original: String? = nil,
        identity: Identity
    ) async throws -> ResolvedSource {
        let refused = { (reason: String) in
            RegistryError.invalid(
                "Invalid model version source: '\(Validation.printable(original ?? source))': \(reason); expected mlflow-artifacts:/<path>, runs:/<run_id>/<path> or models:/<model_id>|<name>/<version>|<name>@<alias> (local paths and other stores are not read)"
            )
        }
        guard let colon = source.firstIndex(of: ":") else { throw refused("it has no scheme") }
        let scheme = source[..<colon].lowercased()
        var rest = Substring(source[source.index(after: colon)...])
        switch scheme {
        case "mlflow-artifacts":
            // `mlflow-artifacts:/path` or `mlflow-artifacts://host:port/path` (the authority is this registry).
            if rest.hasPrefix("//") {
                rest = rest.dropFirst(2)
                guard let slash = rest.firstIndex(of: "/") else { throw refused("it names no path") }
                rest = rest[slash...]
            }
            let path = try Self.artifactPath(String(rest.drop { $0 == "/" }), source: source)
            let components = path.split(separator: "/").map(String.init)
            if components.first == Self.registryRoot {
                // The read-only view of a registered version (its download URI): a copy of that version's files.
                guard components.count >= 3 else { throw refused("name a version: registry/<model>/<version>") }
                var resolved = try await resolve(
                    source: "models:/\(components[1])/\(components[2])",
                    runID: runID,
                    modelID: modelID,
                    original: source,
                    identity: identity
                )
                let subpath = components.dropFirst(3).joined(separator: "/")
                if !subpath.isEmpty {
                    resolved.files = resolved.files.filter { $0.path.hasPrefix(subpath + "/") }.map { file in
                        var file = file
                        file.path = String(file.path.dropFirst(subpath.count + 1))
                        return file
                    }
                    guard !resolved.files.isEmpty else { throw refused("the version has no files under '\(subpath)'") }
                }
                return resolved
            }
            // As MLflow: with a run_id (model_id) the source must be inside that run's (logged model's) artifacts.
            func within(_ root: String) -> Bool { path == root || path.hasPrefix(root + "/") }
            if let modelID {
                let model = try await store.loggedModel(id: modelID)
                guard within(model.artifactRoot) else {
                    throw refused("it is not inside the artifacts of logged model \(model.id) (\(model.artifactRoot))")
                }
            } else if let runID {
                let run = try await store.runInfo(id: runID)
                guard within(run.artifactRoot) else {
                    throw refused("it is not inside the artifacts of run \(run.id) (\(run.artifactRoot))")
                }
            }
            return ResolvedSource(
                files: try await files(at: path, source: source),
                loggedModelID: modelID,
                runID: runID
            )
        case "runs":
            guard rest.hasPrefix("/"), !rest.hasPrefix("//") else { throw refused("runs:/ takes no host") }
            let parts = rest.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let sourceRun = String(parts.first ?? "")
            guard Self.isHexID(sourceRun) else { throw refused("'\(Validation.printable(sourceRun))' is not a run id") }
            if let runID, !runID.isEmpty, runID != sourceRun {
                throw refused("it names run \(sourceRun) but run_id is \(Validation.printable(runID))")
            }
            let run = try await store.runInfo(id: sourceRun)
            let subpath = parts.count > 1 ? String(parts[1]).trimmingTrailingSlashes : ""
            var root = run.artifactRoot
            if !subpath.isEmpty { root += "/" + (try Self.artifactPath(subpath, source: source)) }
            let found = try await store.artifacts(under: root)
            if !found.isEmpty {
                return ResolvedSource(files: try relative(found, to: root), loggedModelID: modelID, runID: run.id)
            }
            // MLflow 3 logs models outside the run's artifacts: `runs:/<run>/<name>` is the run's logged model.
            if !subpath.isEmpty, !subpath.contains("/"),
                let model = try await store.loggedModel(run: run.id, name: subpath)
            {
                try Self.requireReady(model, refused)
                return ResolvedSource(
                    files: try await files(at: model.artifactRoot, source: source),
                    loggedModelID: model.id,
                    runID: run.id
                )
            }
            throw refused("run \(run.id) has no artifacts at '\(Validation.printable(subpath))'")
        case "models":
            guard rest.hasPrefix("/"), !rest.hasPrefix("//") else { throw refused("models:/ takes no host") }
            let reference = String(rest.dropFirst()).trimmingTrailingSlashes
            if reference.hasPrefix("m-"), Self.isHexID(String(reference.dropFirst(2))) {
                if let modelID, !modelID.isEmpty, modelID != reference {
                    throw refused("it names logged model \(reference) but model_id is \(Validation.printable(modelID))")
                }
                let model = try await store.loggedModel(id: reference)
                try Self.requireReady(model, refused)
                return ResolvedSource(
                    files: try await files(at: model.artifactRoot, source: source),
                    loggedModelID: model.id,
                    runID: runID ?? model.sourceRunID
                )
            }
            // Reader on the named model before anything is looked up: otherwise 404 and 403 tell models apart.
            let name = String(reference.prefix { $0 != "@" && $0 != "/" })
            try identity.require(.reader, on: name)
            let version = try await self.version(reference: reference, source: source)
            guard version.status == .ready else {
                throw refused("version \(version.number) of model '\(version.model)' is \(version.status.rawValue)")
            }
            return ResolvedSource(
                files: version.files,
                loggedModelID: version.lineage.loggedModelID,
                runID: version.lineage.runID
            )
        default:
            throw refused("scheme '\(Validation.printable(String(scheme)))' is not accepted")
        }
    }

    /// A logged model is a source once finalized: its files are then complete.
    static func requireReady(_ model: LoggedModel, _ refused: (String) -> RegistryError) throws {
        guard model.status == "LOGGED_MODEL_READY" else {
            throw refused("logged model \(model.id) is \(model.status): finalize it (LOGGED_MODEL_READY) first")
        }
    }

    /// `NAME/VERSION`, `NAME/STAGE`, `NAME@ALIAS` or `NAME` (latest).
    func version(reference: String, source: String) async throws -> ModelVersion {
        if let at = reference.lastIndex(of: "@") {
            return try await registry.version(
                model: String(reference[..<at]),
                alias: String(reference[reference.index(after: at)...])
            )
        }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            let model = try await registry.model(named: reference)
            guard let latest = model.latestVersion else {
                throw RegistryError.notFound("model '\(reference)' has no versions")
            }
            return try await registry.version(model: reference, number: latest)
        case 2:
            let name = String(parts[0])
            if let number = Int(parts[1]), number > 0 { return try await registry.version(model: name, number: number) }
            return try await registry.version(model: name, stage: try Stage(parsing: String(parts[1])))
        default:
            throw RegistryError.invalid(
                "Invalid model version source: '\(Validation.printable(source))': expected models:/<name>/<version>, models:/<name>/<stage> or models:/<name>@<alias>"
            )
        }
    }

    /// The files at an artifact path: every file under it as a directory, or the file itself.
    func files(at path: String, source: String) async throws -> [VersionFile] {
        let found = try await store.artifacts(under: path)
        if !found.isEmpty { return try relative(found, to: path) }
        if let file = try await store.artifact(path: path) {
            let name = String(path.split(separator: "/").last ?? Substring(path))
            return [VersionFile(path: name, size: file.size, digest: file.digest, role: Self.role(of: name))]
        }
        throw RegistryError.invalid(
            "Invalid model version source: '\(Validation.printable(source))': no artifacts were uploaded at '\(path)'"
        )
    }

    func relative(_ files: [ArtifactFile], to root: String) throws -> [VersionFile] {
        guard files.count <= Validation.maxFilesPerVersion else {
            throw RegistryError.invalid(
                "'\(root)' holds \(files.count) files: a version has at most \(Validation.maxFilesPerVersion)"
            )
        }
        return files.map { file in
            let path = String(file.path.dropFirst(root.count + 1))
            return VersionFile(path: path, size: file.size, digest: file.digest, role: Self.role(of: path))
        }
    }

    /// A file's role from its name: MLflow's `MLmodel` and environment files are configuration.
    static func role(of path: String) -> FileRole {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let lower = name.lowercased()
        if name == "MLmodel" || lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json")
            || lower == "requirements.txt"
        {
            return .config
        }
        for suffix in [".onnx", ".pt", ".pth", ".pkl", ".h5", ".hdf5", ".keras", ".safetensors", ".pb", ".bin"]
        where lower.hasSuffix(suffix) {
            return .model
        }
        return .other
    }

    /// Creates a version from a resolved source, committed in the same transaction (format detected): READY at once.
    func createVersion(
        model: String,
        source: String,
        resolved: ResolvedSource,
        tags: [String: String],
        description: String,
        actor: Principal
    ) async throws -> ModelVersion {
        try await registry.createCommittedVersion(
            model: model,
            NewVersion(
                files: resolved.files,
                tags: tags,
                lineage: Lineage(runID: resolved.runID, source: source, loggedModelID: resolved.loggedModelID),
                description: description
            ),
            actor: actor
        )
    }

    // MARK: Artifact paths

    /// A relative artifact path: percent-decoded, then checked like a version's file path (no `..`, no empty or
    /// absolute components, no backslash or control character).
    static func artifactPath(_ raw: String, source: String? = nil) throws -> String {
        // Decoded until stable, so `%252e%252e` cannot smuggle a `..` past the check.
        var path = raw
        while path.contains("%"), let decoded = path.removingPercentEncoding, decoded != path { path = decoded }
        path = path.trimmingTrailingSlashes
        do {
            try Validation.filePath(path)
        } catch {
            if let source {
                throw RegistryError.invalid(
                    "Invalid model version source: '\(Validation.printable(source))': \(error.message)"
                )
            }
            throw RegistryError.invalid(error.message.replacingOccurrences(of: "file path", with: "artifact path"))
        }
        return path
    }

    static func isHexID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { Validation.isDigit($0) || (0x61...0x66).contains($0) }
    }

    // MARK: Blobs

    /// Streams an artifact upload into the blob store and records it at `path`.
    func putArtifact<Body: AsyncSequence & Sendable>(path: String, body: Body, actor: Principal) async throws
    where Body.Element == ByteBuffer {
        let stored = try await registry.putBlob(body, expected: nil)
        try await store.recordBlobHolder(stored.digest, principal: actor)
        try await store.putArtifact(ArtifactFile(path: path, digest: stored.digest, size: stored.size), actor: actor)
    }
}

extension String {
    var trimmingTrailingSlashes: String {
        var text = Substring(self)
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}
