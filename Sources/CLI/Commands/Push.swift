import ArgumentParser
import Foundation
import Packager
import Registry
import RegistryClient
import Synchronization

extension Modelctl {
    /// `modelctl push PATH --model NAME …`: uploads a model and registers it as a new version.
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a model file, directory or bundle and register it as a new version.",
            discussion: """
                The version holds the files of an unpacked bundle: the model files plus manifest.json (every \
                file's size and SHA-256), preprocessing.json when a spec is given, and model.sig when signed, so \
                'modelctl pull' can verify it. Only blobs the registry lacks are sent (asked with HEAD first), \
                several files at a time; files from 64 MiB go through resumable upload sessions that survive a \
                dropped connection, an interrupted push or a restarted registry: run the same push again. The \
                model is created when it does not exist. Prints NAME:VERSION and the manifest's digest.
                """
        )

        @Argument(help: ArgumentHelp("A model file, a directory, or a bundle (.tar.zst, .tar).", valueName: "PATH"))
        var path: String

        @Option(help: ArgumentHelp("The model's name.", valueName: "NAME"))
        var model: String

        @Option(help: ArgumentHelp("A version label, such as 1.4.0.", valueName: "L"))
        var label: String?

        @Option(help: ArgumentHelp("The format, when detection is not wanted.", valueName: "F"))
        var format: String?

        @Option(help: ArgumentHelp("The preprocessing spec, JSON or YAML.", valueName: "SPEC"))
        var preprocessing: String?

        @Option(name: .customLong("metric"), help: ArgumentHelp("A metric; repeatable.", valueName: "K=V"))
        var metrics: [String] = []

        @Option(name: .customLong("param"), help: ArgumentHelp("A training parameter; repeatable.", valueName: "K=V"))
        var params: [String] = []

        @Option(name: .customLong("tag"), help: ArgumentHelp("A tag; repeatable.", valueName: "K=V"))
        var tags: [String] = []

        @Option(help: ArgumentHelp("A description of the version.", valueName: "TEXT"))
        var description: String?

        @Option(help: ArgumentHelp("The training run that produced it.", valueName: "ID"))
        var runId: String?

        @Option(help: ArgumentHelp("Sign the version with this private key.", valueName: "KEY.pem"))
        var signKey: String?

        @Option(help: ArgumentHelp("Files uploaded at the same time (1-16).", valueName: "N"))
        var jobs: Int = 4

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        static let resumableThreshold: Int64 = 64 << 20

        func validate() throws {
            do {
                try Validation.modelName(model)
                if let label { try Validation.label(label) }
                for (key, _) in try Self.pairs(tags, "--tag") { try Validation.key(key) }
                for (key, _) in try Self.pairs(params, "--param") { try Validation.key(key, kind: "parameter name") }
                for (key, _) in try Self.pairs(metrics, "--metric") { try Validation.key(key, kind: "metric name") }
            } catch let error as RegistryError {
                throw ValidationError(error.message)
            }
            _ = try parsedMetrics()
            if let format, ModelFormat(rawValue: format.lowercased()) == nil {
                throw ValidationError(
                    "invalid format '\(format)': expected one of \(ModelFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            guard (1...16).contains(jobs) else { throw ValidationError("invalid --jobs \(jobs): expected 1 to 16") }
        }

        static func pairs(_ values: [String], _ option: String) throws -> [(String, String)] {
            var seen = Set<String>()
            return try values.map { value in
                guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
                    throw ValidationError("invalid \(option) '\(value)': expected KEY=VALUE")
                }
                let key = String(value[..<equals])
                guard seen.insert(key).inserted else { throw ValidationError("\(option) '\(key)' is given twice") }
                return (key, String(value[value.index(after: equals)...]))
            }
        }

        func parsedMetrics() throws -> [String: Double] {
            var result: [String: Double] = [:]
            for (key, text) in try Self.pairs(metrics, "--metric") {
                guard let value = Double(text), value.isFinite else {
                    throw ValidationError("invalid --metric '\(key)=\(text)': the value must be a finite number")
                }
                result[key] = value
            }
            return result
        }

        /// A file to send: where it is, its path in the version, size, digest and role.
        struct Upload: Sendable {
            var location: URL
            var file: RemoteFile
        }

        func run() async throws {
            try await withExitCodes {
                let staging = FileManager.default.temporaryDirectory.appending(
                    path: "modelctl-push-\(UUID().uuidString)"
                )
                defer { try? FileManager.default.removeItem(at: staging) }
                try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
                let (uploads, detectedFormat, manifestDigest) = try prepare(staging: staging)
                let inspection = inspectionTags()

                try await withRegistry(registryOptions) { client, resolved in
                    try await ensureModel(client)
                    let bar = ProgressBar(enabled: outputOptions.showsProgress)
                    let sent = try await upload(uploads, client: client, registry: resolved.url, bar: bar)
                    bar.finish()
                    var allTags = Dictionary(uniqueKeysWithValues: try Self.pairs(tags, "--tag"))
                    for (key, value) in inspection where allTags[key] == nil { allTags[key] = value }
                    let created = try await client.createVersion(
                        model: model,
                        NewRemoteVersion(
                            files: uploads.map(\.file),
                            label: label,
                            format: detectedFormat,
                            metrics: try parsedMetrics(),
                            params: Dictionary(uniqueKeysWithValues: try Self.pairs(params, "--param")),
                            tags: allTags,
                            lineage: runId.map { RemoteLineage(runID: $0) },
                            description: description
                        )
                    )
                    let committed = try await client.commitVersion(model: model, version: created.version)
                    let output = PushOutput(
                        model: model,
                        version: committed.version,
                        label: committed.label,
                        status: committed.status.rawValue,
                        manifestDigest: manifestDigest,
                        files: uploads.count,
                        bytes: uploads.reduce(0) { $0 + $1.file.size },
                        uploadedBytes: sent.uploaded,
                        skippedFiles: sent.skipped
                    )
                    if outputOptions.isJSON {
                        try Terminal.printJSON(output)
                    } else if !outputOptions.quiet {
                        Terminal.print("\(model):\(committed.version)")
                        Terminal.note(
                            "manifest \(manifestDigest); \(uploads.count) file(s), \(Units.bytes(output.bytes)); sent \(Units.bytes(sent.uploaded)), \(sent.skipped) file(s) already in the registry"
                        )
                    }
                }
            }
        }

        /// Hashes, describes and signs the model (or unpacks and checks a bundle) and lists the files to send.
        func prepare(staging: URL) throws -> ([Upload], String, String) {
            let source = URL(fileURLWithPath: path)
            let isBundle =
                (path.hasSuffix(".tar.zst") || path.hasSuffix(".tar"))
                && (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType)
                    == .typeRegular
            if isBundle {
                if preprocessing != nil || signKey != nil {
                    throw CommandFailure(
                        "a bundle already carries its spec and signature: drop --preprocessing and --sign-key"
                    )
                }
                let unpacked = staging.appending(path: "bundle")
                let contents = try BundleReader().extract(source, to: unpacked)
                var uploads = contents.manifest.files.map { file in
                    Upload(
                        location: unpacked.appending(path: file.path),
                        file: RemoteFile(
                            path: file.path,
                            size: file.size,
                            digest: "sha256:\(file.sha256)",
                            role: file.role
                        )
                    )
                }
                uploads += Self.small(BundleManifest.manifestName, contents.manifestData, "config", in: unpacked)
                if let data = contents.preprocessing {
                    uploads += Self.small(BundleManifest.preprocessingName, data, "preprocessing", in: unpacked)
                }
                if let data = contents.signature {
                    uploads += Self.small(BundleManifest.signatureName, data, "signature", in: unpacked)
                }
                return (uploads, format ?? contents.manifest.format.rawValue, Self.digest(contents.manifestData))
            }
            var options = PackageOptions(
                modelName: model,
                label: label,
                format: format.flatMap { ModelFormat(rawValue: $0.lowercased()) }
            )
            if let preprocessing {
                options.preprocessing = try PreprocessingSpec.load(from: URL(fileURLWithPath: preprocessing))
            }
            if let signKey {
                options.signingKey = try SigningKeyFiles.loadPrivateKey(at: URL(fileURLWithPath: signKey))
            }
            let bar = ProgressBar(enabled: outputOptions.showsProgress)
            let prepared = try ModelPackager().prepare(source, options: options) { progress in
                bar.update("hashing", completed: progress.completedBytes, total: progress.totalBytes)
            }
            bar.finish()
            var uploads = prepared.manifest.files.map { file in
                Upload(
                    location: prepared.root.appending(path: file.path),
                    file: RemoteFile(path: file.path, size: file.size, digest: "sha256:\(file.sha256)", role: file.role)
                )
            }
            try FileManager.default.createDirectory(
                at: staging.appending(path: "meta"),
                withIntermediateDirectories: true
            )
            let meta = staging.appending(path: "meta")
            uploads += Self.small(BundleManifest.manifestName, prepared.manifestData, "config", in: meta)
            if let data = prepared.preprocessing {
                uploads += Self.small(BundleManifest.preprocessingName, data, "preprocessing", in: meta)
            }
            if let data = prepared.signature {
                uploads += Self.small(BundleManifest.signatureName, data, "signature", in: meta)
            }
            return (uploads, prepared.manifest.format.rawValue, Self.digest(prepared.manifestData))
        }

        /// Writes one of the bundle's own small files into `directory` (when not already there) and describes it.
        static func small(_ name: String, _ data: Data, _ role: String, in directory: URL) -> [Upload] {
            let location = directory.appending(path: name)
            if !FileManager.default.fileExists(atPath: location.path) { try? data.write(to: location) }
            return [
                Upload(
                    location: location,
                    file: RemoteFile(path: name, size: Int64(data.count), digest: digest(data), role: role)
                )
            ]
        }

        static func digest(_ data: Data) -> String {
            "sha256:" + SHA256Hex.of(data)
        }

        /// What `modelctl inspect` reads, kept as `inspect.*` tags (user tags win); empty when it cannot be read.
        func inspectionTags() -> [String: String] {
            guard !(path.hasSuffix(".tar.zst") || path.hasSuffix(".tar")),
                let report = try? ModelInspector().inspect(
                    URL(fileURLWithPath: path),
                    declaredFormat: format.flatMap { ModelFormat(rawValue: $0.lowercased()) }
                )
            else { return [:] }
            var tags: [String: String] = [:]
            func describe(_ name: String, _ type: String, _ shape: [ONNXModelInfo.Dimension]?) -> String {
                "\(name) \(type) [" + (shape?.map(\.description).joined(separator: ",") ?? "?") + "]"
            }
            if let onnx = report.onnx {
                tags["inspect.inputs"] = onnx.inputs.map { describe($0.name, $0.elementType, $0.shape) }.joined(
                    separator: "; "
                )
                tags["inspect.outputs"] = onnx.outputs.map { describe($0.name, $0.elementType, $0.shape) }.joined(
                    separator: "; "
                )
                tags["inspect.parameters"] = String(onnx.parameterCount)
                tags["inspect.opset"] = onnx.opsets.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain):\($0.version)" }
                    .joined(separator: ",")
            }
            if let keras = report.keras {
                tags["inspect.inputs"] = keras.inputs.map { describe($0.name, $0.dtype ?? "?", $0.shape) }.joined(
                    separator: "; "
                )
                if let count = keras.parameterCount { tags["inspect.parameters"] = String(count) }
                if let version = keras.kerasVersion { tags["inspect.keras_version"] = version }
            }
            if let saved = report.savedModel,
                let signature = saved.metaGraphs.first?.signatures.first(where: { $0.name == "serving_default" })
            {
                tags["inspect.inputs"] = signature.inputs.map { describe($0.key, $0.dtype, $0.shape) }.joined(
                    separator: "; "
                )
                tags["inspect.outputs"] = signature.outputs.map { describe($0.key, $0.dtype, $0.shape) }.joined(
                    separator: "; "
                )
            }
            if let safetensors = report.safetensors { tags["inspect.parameters"] = String(safetensors.parameterCount) }
            return tags.filter { !$0.value.isEmpty }.mapValues { String($0.prefix(1000)) }
        }

        func ensureModel(_ client: RegistryClient) async throws {
            do {
                _ = try await client.model(named: model)
            } catch let error as RegistryClientError where error.code == .notFound {
                do {
                    _ = try await client.createModel(name: model)
                    if !outputOptions.quiet, !outputOptions.isJSON { Terminal.note("created model '\(model)'") }
                } catch let error as RegistryClientError where error.code == .conflict {
                    // Created by a concurrent push in between: fine.
                }
            } catch var error as RegistryClientError where error.code == .forbidden {
                // The first request is a read; say what a push needs.
                error.message =
                    "cannot push to model '\(model)': pushing needs the writer role on it (\(error.message))"
                throw error
            }
        }

        /// Sends every blob the registry lacks, `jobs` at a time; returns the bytes sent and the files skipped.
        func upload(
            _ uploads: [Upload],
            client: RegistryClient,
            registry: URL,
            bar: ProgressBar
        ) async throws -> (uploaded: Int64, skipped: Int) {
            let total = uploads.reduce(Int64(0)) { $0 + $1.file.size }
            let counters = TransferCounters()
            let state = UploadState()
            // One upload per distinct digest: identical files are stored once.
            var seen = Set<String>()
            let distinct = uploads.filter { seen.insert($0.file.digest).inserted }
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = distinct[...]
                func next() {
                    guard let item = pending.popFirst() else { return }
                    group.addTask { [client, bar, counters, state, registry] in
                        let report: TransferProgress = { completed, _ in
                            bar.update(
                                "upload",
                                completed: counters.progress(item.file.digest, completed),
                                total: total
                            )
                        }
                        if try await client.blobExists(digest: item.file.digest) {
                            counters.skip()
                            report(item.file.size, item.file.size)
                            return
                        }
                        let sent: Int64
                        if item.file.size >= Self.resumableThreshold {
                            sent = try await Self.resumable(
                                item,
                                client: client,
                                registry: registry,
                                state: state,
                                progress: report
                            )
                        } else {
                            _ = try await client.uploadBlob(
                                digest: item.file.digest,
                                from: item.location,
                                skipIfPresent: false,
                                progress: report
                            )
                            sent = item.file.size
                        }
                        counters.sent(sent)
                    }
                }
                for _ in 0..<jobs { next() }
                while try await group.next() != nil { next() }
            }
            return counters.totals
        }

        /// Uploads through a session, continuing a saved one when the registry still has it; returns the bytes sent.
        static func resumable(
            _ item: Upload,
            client: RegistryClient,
            registry: URL,
            state: UploadState,
            progress: @escaping TransferProgress
        ) async throws -> Int64 {
            var session: UploadSession?
            if let saved = state.session(registry: registry, digest: item.file.digest) {
                session = try? await client.uploadSession(id: saved)
            }
            let current: UploadSession
            if let session {
                current = session
            } else {
                current = try await client.startUpload()
            }
            state.save(current.id, registry: registry, digest: item.file.digest)
            let blob = try await client.uploadBlobResumably(
                digest: item.file.digest,
                from: item.location,
                sessionID: current.id,
                progress: progress
            )
            state.forget(registry: registry, digest: item.file.digest)
            _ = blob
            return item.file.size - current.offset
        }
    }

    /// Bytes per file for the progress bar, bytes sent and files skipped, shared by the upload tasks.
    final class TransferCounters: Sendable {
        private let state = Mutex<(done: [String: Int64], sent: Int64, skipped: Int)>(([:], 0, 0))

        /// Records a file's progress and returns the sum over all files.
        func progress(_ key: String, _ completed: Int64) -> Int64 {
            state.withLock { state in
                state.done[key] = completed
                return state.done.values.reduce(0, +)
            }
        }

        func skip() { state.withLock { $0.skipped += 1 } }
        func sent(_ bytes: Int64) { state.withLock { $0.sent += bytes } }
        var totals: (uploaded: Int64, skipped: Int) { state.withLock { ($0.sent, $0.skipped) } }
    }

    struct PushOutput: Encodable {
        var model: String
        var version: Int
        var label: String?
        var status: String
        var manifestDigest: String
        var files: Int
        var bytes: Int64
        var uploadedBytes: Int64
        var skippedFiles: Int

        enum CodingKeys: String, CodingKey {
            case model, version, label, status, files, bytes
            case manifestDigest = "manifest_digest"
            case uploadedBytes = "uploaded_bytes"
            case skippedFiles = "skipped_files"
        }
    }
}
