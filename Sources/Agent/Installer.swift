import AgentProtocol
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// How installed versions are laid out for the software that serves them.
public enum InstallLayout: String, Sendable, CaseIterable {
    /// `ROOT/<model>/versions/<n>/` and the link `ROOT/<model>/current` → `versions/<n>`.
    case dir
    /// A Triton model repository: `ROOT/<model>/<n>/` and `ROOT/<model>/config.pbtxt` naming the active version,
    /// then `POST <triton>/v2/repository/models/<model>/load`.
    case triton
    /// TensorFlow Serving's base path: `ROOT/<model>/<n>/` holds only the active version (Serving loads the highest
    /// number it finds); the others wait in `ROOT/<model>/.modelctl/versions/<n>/`.
    case tfserving
}

/// What the agent records about an installed version, in `ROOT/<model>/.modelctl/<n>.json`, written before the
/// version's directory is renamed into place.
struct InstalledVersion: Codable, Sendable, Equatable {
    var version: Int
    var manifestDigest: String
    var files: [DesiredFile]

    enum CodingKeys: String, CodingKey {
        case version, files
        case manifestDigest = "manifest_digest"
    }
}

/// Installs versions from the blob cache into the layout, switches between them atomically and removes old ones.
///
/// A version's directory is assembled under a temporary name (`.tmp-<n>-<random>`), every file linked (or copied)
/// from the verified cache and checked, and only then renamed to its final name: a directory with a final name is
/// always complete. The switch is one `rename(2)` of a link (`current`, or `.modelctl/active`), so after a crash or
/// power loss the active version is either the old one or the new one, complete either way. ``recover()`` removes
/// whatever a crash left half-done.
struct Installer: Sendable {
    let root: URL
    let layout: InstallLayout
    let cache: BlobCache
    let tritonURL: URL?
    let keepVersions: Int

    func modelDirectory(_ model: String) -> URL { root.appending(path: model) }
    func metadataDirectory(_ model: String) -> URL { modelDirectory(model).appending(path: ".modelctl") }

    /// Where complete versions that are not active are kept.
    func storeDirectory(_ model: String) -> URL {
        switch layout {
        case .dir: modelDirectory(model).appending(path: "versions")
        case .triton: modelDirectory(model)
        case .tfserving: metadataDirectory(model).appending(path: "versions")
        }
    }

    /// The link whose target names the active version.
    func activeLink(_ model: String) -> URL {
        layout == .dir
            ? modelDirectory(model).appending(path: "current") : metadataDirectory(model).appending(path: "active")
    }

    /// The directory of an installed version, wherever it is now.
    func versionDirectory(_ model: String, _ version: Int) -> URL {
        if layout == .tfserving, activeVersion(model) == version {
            return modelDirectory(model).appending(path: String(version))
        }
        return storeDirectory(model).appending(path: String(version))
    }

    // MARK: State

    /// The active version of `model`, read from its link.
    func activeVersion(_ model: String) -> Int? {
        guard let target = Files.readLink(activeLink(model)) else { return nil }
        return Int(target.split(separator: "/").last ?? "")
    }

    func record(_ model: String, _ version: Int) -> InstalledVersion? {
        let file = metadataDirectory(model).appending(path: "\(version).json")
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        return try? JSONDecoder().decode(InstalledVersion.self, from: data)
    }

    /// The active version with its record, when its directory is complete.
    func active(_ model: String) -> InstalledVersion? {
        guard let version = activeVersion(model), let record = record(model, version),
            Files.isDirectory(versionDirectory(model, version))
        else { return nil }
        return record
    }

    /// Versions that were active before, most recent first.
    func history(_ model: String) -> [Int] {
        let file = metadataDirectory(model).appending(path: "history.json")
        guard let data = FileManager.default.contents(atPath: file.path) else { return [] }
        return (try? JSONDecoder().decode([Int].self, from: data)) ?? []
    }

    /// Models with something installed.
    func models() -> [String] {
        Files.names(in: root).filter { !$0.hasPrefix(".") && Files.isDirectory(metadataDirectory($0)) }.sorted()
    }

    // MARK: Installing

    /// Assembles the complete directory of `deployment`'s version from the cache (all its blobs must be cached),
    /// unless it is there already.
    func stage(_ deployment: DesiredDeployment) throws -> URL {
        let model = deployment.model
        let final = storeDirectory(model).appending(path: String(deployment.version))
        if let existing = record(model, deployment.version), existing.manifestDigest == deployment.manifestDigest,
            Files.isDirectory(versionDirectory(model, deployment.version))
        {
            return versionDirectory(model, deployment.version)
        }
        try Files.createDirectory(storeDirectory(model))
        try Files.createDirectory(metadataDirectory(model))
        // A directory of that number with other content (an older install of a deleted and re-pushed version).
        if Files.exists(final), activeVersion(model) != deployment.version { Files.remove(final) }
        let temporary = storeDirectory(model)
            .appending(path: ".tmp-\(deployment.version)-\(UInt32.random(in: .min ... .max))")
        try Files.createDirectory(temporary)
        do {
            for file in deployment.files {
                let destination = temporary.appending(path: file.path)
                try Files.createDirectory(destination.deletingLastPathComponent())
                let source = cache.path(file.digest)
                if link(source.path, destination.path) != 0 {
                    guard errno == EXDEV || errno == EMLINK else {
                        throw Files.error("cannot link \(source.path) to \(destination.path)")
                    }
                    try copy(source, to: destination)
                }
                guard Files.size(destination) == file.size else {
                    throw AgentError(.install, "\(file.path) has the wrong size after unpacking")
                }
            }
            try syncTree(temporary)
            let record = InstalledVersion(
                version: deployment.version,
                manifestDigest: deployment.manifestDigest,
                files: deployment.files
            )
            try Files.writeAtomically(
                try JSONEncoder().encode(record),
                to: metadataDirectory(model).appending(path: "\(deployment.version).json")
            )
            try Files.rename(temporary, to: final)
        } catch {
            Files.remove(temporary)
            throw error
        }
        return final
    }

    /// Makes `version` (staged) the active version of `model`.
    func activate(_ model: String, _ version: Int, configurationText: String?) async throws {
        let previous = activeVersion(model)
        switch layout {
        case .dir:
            try Files.replaceSymlink(activeLink(model), target: "versions/\(version)")
        case .triton:
            try Files.writeAtomically(
                Data(Self.tritonConfig(model: model, version: version, base: configurationText).utf8),
                to: modelDirectory(model).appending(path: "config.pbtxt")
            )
            if let tritonURL { try await Self.tritonLoad(tritonURL, model: model) }
            try Files.replaceSymlink(activeLink(model), target: String(version))
        case .tfserving:
            let staged = storeDirectory(model).appending(path: String(version))
            let served = modelDirectory(model).appending(path: String(version))
            if Files.isDirectory(staged), !Files.exists(served) { try Files.rename(staged, to: served) }
            try Files.replaceSymlink(activeLink(model), target: String(version))
            if let previous, previous != version {
                let old = modelDirectory(model).appending(path: String(previous))
                if Files.isDirectory(old) {
                    try Files.rename(old, to: storeDirectory(model).appending(path: String(previous)))
                }
            }
        }
        if let previous, previous != version {
            var history = history(model).filter { $0 != previous && $0 != version }
            history.insert(previous, at: 0)
            try Files.writeAtomically(
                try JSONEncoder().encode(history),
                to: metadataDirectory(model).appending(path: "history.json")
            )
        }
    }

    /// Removes what a crash may have left: temporary directories and links, and for TensorFlow Serving any numeric
    /// directory beside the active one.
    func recover() {
        for model in Files.names(in: root) where Files.isDirectory(modelDirectory(model)) {
            for directory in [modelDirectory(model), storeDirectory(model), metadataDirectory(model)] {
                for name in Files.names(in: directory) where name.hasPrefix(".tmp-") || name.contains(".tmp-") {
                    Files.remove(directory.appending(path: name))
                }
            }
            // A version directory without its record was never complete.
            for name in Files.names(in: storeDirectory(model)) where Int(name) != nil {
                if record(model, Int(name)!) == nil { Files.remove(storeDirectory(model).appending(path: name)) }
            }
            if layout == .tfserving {
                let active = activeVersion(model)
                for name in Files.names(in: modelDirectory(model)) {
                    guard let number = Int(name), number != active else { continue }
                    try? Files.createDirectory(storeDirectory(model))
                    try? Files.rename(
                        modelDirectory(model).appending(path: name),
                        to: storeDirectory(model).appending(path: name)
                    )
                }
            }
        }
    }

    /// Removes installed versions of `model` other than the active one and the `keepVersions` previously active.
    /// Returns the digests the kept versions use.
    @discardableResult
    func collect(_ model: String) -> Set<String> {
        let active = activeVersion(model)
        let kept = Set([active].compactMap { $0 } + history(model).prefix(keepVersions))
        for name in Files.names(in: storeDirectory(model)) {
            guard let number = Int(name), !kept.contains(number) else { continue }
            Files.remove(storeDirectory(model).appending(path: name))
        }
        for name in Files.names(in: metadataDirectory(model)) where name.hasSuffix(".json") && name != "history.json" {
            guard let number = Int(name.dropLast(5)), !kept.contains(number) else { continue }
            Files.remove(metadataDirectory(model).appending(path: name))
        }
        var digests: Set<String> = []
        for number in kept { for file in record(model, number)?.files ?? [] { digests.insert(file.digest) } }
        return digests
    }

    // MARK: Helpers

    private func copy(_ source: URL, to destination: URL) throws {
        do {
            try FileManager.default.copyItem(at: source, to: destination)
        } catch {
            throw AgentError(
                .install,
                "cannot copy \(source.path) to \(destination.path): \(error.localizedDescription)"
            )
        }
        try Files.fsyncFile(destination)
    }

    /// fsyncs every directory of a tree (the files are fsynced in the cache or when copied).
    private func syncTree(_ url: URL) throws {
        try Files.syncDirectory(url)
        for name in Files.names(in: url) where Files.isDirectory(url.appending(path: name)) {
            try syncTree(url.appending(path: name))
        }
    }

    /// The Triton configuration naming `version` as the only one to serve: the version's own `config.pbtxt` when it
    /// has one (its `version_policy` lines replaced), else a minimal one that lets Triton complete the rest.
    static func tritonConfig(model: String, version: Int, base: String?) -> String {
        let policy = "version_policy: { specific: { versions: [\(version)] } }"
        guard let base else { return "name: \"\(model)\"\n\(policy)\n" }
        let kept = base.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("version_policy") }
            .joined(separator: "\n")
        return kept.trimmingCharacters(in: .newlines) + "\n" + policy + "\n"
    }

    /// The client of Triton's load calls, for the life of the process: a refused connection fails the call at once
    /// (the install then fails and the previous version stays) instead of being retried until the timeout.
    static let tritonClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Asks Triton to (re)load a model from its repository.
    static func tritonLoad(_ base: URL, model: String) async throws {
        let name = model.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? model
        var request = HTTPClientRequest(
            url: base.absoluteString.trimmingCharacters(in: ["/"]) + "/v2/repository/models/\(name)/load"
        )
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "{}"))
        do {
            let response = try await tritonClient.execute(request, timeout: .seconds(120))
            let body = try await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else {
                throw AgentError(
                    .install,
                    "Triton at \(base.absoluteString) refused to load \(model): \(response.status.code) \(String(buffer: body).prefix(300))"
                )
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.install, "cannot reach Triton at \(base.absoluteString) to load \(model): \(error)")
        }
    }
}
