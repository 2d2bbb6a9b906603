public import Crypto
public import Foundation

/// What ``ModelPackager`` puts into a bundle besides the files.
public struct PackageOptions: Sendable {
    /// The model's name: 1–128 of `A–Z a–z 0–9 . _ -`, starting with a letter or digit (the registry's rule).
    public var modelName: String
    /// The registry version number, when the bundle is made from a registered version.
    public var version: Int?
    /// A version label such as `1.4.0`.
    public var label: String?
    /// The format; detected from the files when `nil`.
    public var format: ModelFormat?
    /// The preprocessing spec, checked against the model's input when the model declares one.
    public var preprocessing: PreprocessingSpec.Document?
    /// Signs the bundle when set.
    public var signingKey: P256.Signing.PrivateKey?
    public var compression: BundleWriter.Compression
    /// Free-form key/value pairs recorded in the manifest.
    public var annotations: [String: String]

    public init(
        modelName: String,
        version: Int? = nil,
        label: String? = nil,
        format: ModelFormat? = nil,
        preprocessing: PreprocessingSpec.Document? = nil,
        signingKey: P256.Signing.PrivateKey? = nil,
        compression: BundleWriter.Compression = .zstd,
        annotations: [String: String] = [:]
    ) {
        self.modelName = modelName
        self.version = version
        self.label = label
        self.format = format
        self.preprocessing = preprocessing
        self.signingKey = signingKey
        self.compression = compression
        self.annotations = annotations
    }
}

extension PackageOptions {
    /// Checks the name, label and version against the registry's rules.
    ///
    /// - Throws: ``PackagerError`` `invalidArgument` naming the bad value and what is accepted.
    public func validate() throws {
        func isToken(_ text: String, extra: String) -> Bool {
            guard let first = text.unicodeScalars.first, text.utf8.count <= 128 else { return false }
            let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            return allowed.contains(first)
                && text.unicodeScalars.allSatisfy {
                    $0.isASCII && (allowed.contains($0) || extra.unicodeScalars.contains($0))
                }
        }
        guard isToken(modelName, extra: "._-") else {
            throw PackagerError.invalid(
                "invalid model name '\(modelName)': use 1-128 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
            )
        }
        if let label = label, !isToken(label, extra: "._-+") || label.allSatisfy(\.isNumber) {
            throw PackagerError.invalid(
                "invalid label '\(label)': use 1-128 characters from A-Z a-z 0-9 . _ - +, starting with a letter or digit, not only digits"
            )
        }
        if let version = version, version < 1 {
            throw PackagerError.invalid("invalid version \(version): versions are numbered from 1")
        }
    }

}

/// Where packaging is, for progress displays.
public struct PackagingProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Reading every file once to compute its SHA-256 for the manifest.
        case hashing
        /// Writing the archive.
        case writing
    }

    public var phase: Phase
    /// Bytes of model files processed in this phase so far.
    public var completedBytes: Int64
    /// Bytes of model files in total.
    public var totalBytes: Int64
}

/// What ``ModelPackager/package(_:options:to:progress:)`` made.
public struct PackageResult: Sendable, Equatable {
    public var manifest: BundleManifest
    /// The size of the bundle file.
    public var bundleSize: Int64
    /// The hint (SHA-256 of the PEM) of the key that signed the bundle, when signed.
    public var signingKeyHint: String?
}

/// A model hashed, described and signed, ready to be archived or sent: what ``ModelPackager/prepare(_:options:excluding:progress:)``
/// returns.
public struct PreparedModel: Sendable {
    /// The directory the manifest's file paths are relative to.
    public var root: URL
    public var manifest: BundleManifest
    /// The exact bytes of `manifest.json`.
    public var manifestData: Data
    /// The bytes of `preprocessing.json`, when there is a spec.
    public var preprocessing: Data?
    /// The bytes of `model.sig`, when signed.
    public var signature: Data?
    public var signingKeyHint: String?
}

/// Turns a model file or directory into a bundle: checks the preprocessing spec against the model, hashes every
/// file, writes the manifest, signs manifest, spec and files in the OpenSSF model-signing format, and writes a
/// reproducible archive.
///
/// Every file is read twice — once to hash it (the manifest, which holds the digests, is the first entry), once to
/// archive it — and never held in memory whole. The signature is made from the digests, so nothing is staged. In a
/// directory, the top-level git paths (`.git`, `.gitignore`, …) are left out, as the model-signing tool does;
/// symbolic links and special files are refused. Nothing is written to `output` unless the whole bundle is
/// complete.
public struct ModelPackager: Sendable {
    public init() {}

    /// Packages `source` (a model file or directory) into the bundle `output`.
    ///
    /// - Parameters:
    ///   - source: A model file (bundled under its file name) or a directory (bundled with its relative paths).
    ///   - options: The manifest's model information, the spec, the key and the compression.
    ///   - output: The bundle to create; an existing file is replaced atomically. It must not lie inside `source`.
    ///   - progress: Called after each chunk of each phase.
    /// - Returns: The manifest, the bundle's size and the signing key's hint.
    /// - Throws: ``PackagerError``: `invalidArgument` for a bad name, label, empty model, reserved file name, a spec
    ///   that does not fit the model (naming both sides) or a labels file that is not in the model; `notFound` if
    ///   `source` does not exist; `unsupported` for links and special files; `io` for read and write failures.
    public func package(
        _ source: URL,
        options: PackageOptions,
        to output: URL,
        progress: (@Sendable (PackagingProgress) -> Void)? = nil
    ) throws -> PackageResult {
        let prepared = try prepare(source, options: options, excluding: output, progress: progress)
        let manifest = prepared.manifest
        let signature = prepared.signature
        let hint = prepared.signingKeyHint
        let root = prepared.root
        let total = prepared.manifest.files.reduce(Int64(0)) { $0 + $1.size }
        var done: Int64 = 0
        try BundleWriter(compression: options.compression).write(
            manifest: manifest,
            preprocessing: options.preprocessing?.json,
            sourceDirectory: root,
            signature: signature,
            to: output
        ) { count in
            done += count
            progress?(PackagingProgress(phase: .writing, completedBytes: done, totalBytes: total))
        }
        let bundleSize = try FileSize.of(output)
        return PackageResult(manifest: manifest, bundleSize: bundleSize, signingKeyHint: hint)
    }

    /// Does everything ``package(_:options:to:progress:)`` does except writing the archive: validates, detects the
    /// format, checks the spec, hashes every file once, builds the manifest and signs it.
    ///
    /// `modelctl push` uses it to send a model as the files of an unpacked bundle (the model files plus
    /// `manifest.json`, `preprocessing.json` and `model.sig`) without building an archive.
    ///
    /// - Parameters:
    ///   - excluding: a path that must not be inside `source` (the bundle about to be written), if any.
    /// - Throws: ``PackagerError`` as ``package(_:options:to:progress:)`` does.
    public func prepare(
        _ source: URL,
        options: PackageOptions,
        excluding output: URL? = nil,
        progress: (@Sendable (PackagingProgress) -> Void)? = nil
    ) throws -> PreparedModel {
        try options.validate()
        let (root, files) = try Self.collect(source, output: output)
        let format = options.format ?? FormatDetector().detect(files.map { .init(path: $0.name, location: $0.url) })
        if let document = options.preprocessing {
            try Self.check(document.spec, format: format, files: files)
        }

        let sizes = try files.map { try FileSize.of($0.url) }
        let total = sizes.reduce(0, +)
        var done: Int64 = 0
        var entries: [BundleManifest.File] = []
        for (file, size) in zip(files, sizes) {
            let digest = try FileDigester.sha256(of: file.url, name: file.name) { count in
                done += count
                progress?(PackagingProgress(phase: .hashing, completedBytes: done, totalBytes: total))
            }
            let role = Self.role(of: file.name, format: format, labels: options.preprocessing?.spec.labels)
            entries.append(.init(path: file.name, size: size, sha256: Hex.encode(digest), role: role.rawValue))
        }

        var preprocessingValue: JSONValue?
        if let json = options.preprocessing?.json {
            preprocessingValue = try JSONDecoder().decode(JSONValue.self, from: json)
        }
        let manifest = BundleManifest(
            model: .init(name: options.modelName, version: options.version, label: options.label),
            format: format,
            files: entries,
            preprocessing: preprocessingValue,
            annotations: options.annotations
        )
        let manifestData = try manifest.encoded()

        var signature: Data?
        var hint: String?
        if let key = options.signingKey {
            let contents = BundleReader.Contents(
                manifest: manifest,
                manifestData: manifestData,
                preprocessing: options.preprocessing?.json,
                signature: nil
            )
            signature = try ModelSigner(privateKey: key).signature(
                for: contents.signedFiles,
                modelName: options.modelName,
                ignorePaths: ModelManifest.gitPaths + [BundleManifest.signatureName]
            )
            hint = TrustedPublicKey(key.publicKey).hint
        }
        return PreparedModel(
            root: root,
            manifest: manifest,
            manifestData: manifestData,
            preprocessing: options.preprocessing?.json,
            signature: signature,
            signingKeyHint: hint
        )
    }

    // MARK: Steps

    /// The directory the bundle paths are relative to, and the files to bundle.
    static func collect(_ source: URL, output: URL?) throws -> (URL, [(name: String, url: URL)]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw PackagerError.notFound("model path \(source.path) does not exist")
        }
        let root: URL
        let files: [(name: String, url: URL)]
        if isDirectory.boolValue {
            root = source
            files = try ModelManifest.regularFiles(in: source, ignoring: ModelManifest.gitPaths)
            if let output, let inside = ModelSigner.relativePath(of: output, inside: source) {
                throw PackagerError.invalid(
                    "the bundle \(output.path) would be written inside the model directory (as '\(inside)'); write it elsewhere"
                )
            }
        } else {
            let attributes = try? FileManager.default.attributesOfItem(atPath: source.path)
            guard attributes?[.type] as? FileAttributeType == .typeRegular else {
                throw PackagerError.unsupported("model path \(source.path) is not a regular file or directory")
            }
            root = source.deletingLastPathComponent()
            files = [(source.lastPathComponent, source)]
            if let output,
                source.resolvingSymlinksInPath().standardizedFileURL.path
                    == output.resolvingSymlinksInPath().standardizedFileURL.path
            {
                throw PackagerError.invalid(
                    "the bundle \(output.path) would replace the model file itself; write it elsewhere"
                )
            }
            if ModelManifest.gitPaths.contains(source.lastPathComponent) {
                throw PackagerError.invalid(
                    "model file '\(source.lastPathComponent)' has a name signatures leave out (\(ModelManifest.gitPaths.joined(separator: ", "))); rename it"
                )
            }
        }
        guard !files.isEmpty else { throw PackagerError.invalid("model directory \(source.path) holds no files") }
        let reserved: Set = [
            BundleManifest.manifestName, BundleManifest.preprocessingName, BundleManifest.signatureName,
        ]
        for file in files {
            if reserved.contains(file.name) {
                throw PackagerError.invalid(
                    "model file '\(file.name)' has a name the bundle format reserves (\(reserved.sorted().joined(separator: ", "))); rename it"
                )
            }
            if let problem = BundlePath.problem(with: file.name) {
                throw PackagerError.invalid("model file '\(file.name)' cannot be bundled: \(problem)")
            }
        }
        return (root, files)
    }

    /// Checks the spec against the model's declared input where the format lets us read it, and that the labels
    /// file it names is one of the model's files.
    static func check(_ spec: PreprocessingSpec, format: ModelFormat, files: [(name: String, url: URL)]) throws {
        if let labels = spec.labels, !files.contains(where: { $0.name == labels }) {
            throw PackagerError.invalid(
                "the preprocessing spec names the labels file '\(labels)', which is not among the model's files (\(files.prefix(10).map(\.name).joined(separator: ", ")))"
            )
        }
        guard format == .onnx else { return }
        let models = files.filter { $0.name.lowercased().hasSuffix(".onnx") }
        for model in models {
            let info = try ONNXInspector().inspect(model.url)
            do {
                try spec.check(against: info)
            } catch let error as PackagerError where models.count > 1 {
                throw PackagerError(error.code, "\(model.name): \(error.message)")
            }
        }
    }

    /// The role a file plays, recorded in the manifest and used by the registry.
    static func role(of path: String, format: ModelFormat, labels: String?) -> BundleFileRole {
        if path == labels { return .labels }
        let name = (path as NSString).lastPathComponent.lowercased()
        let ext = (name as NSString).pathExtension
        switch format {
        case .onnx where ext == "onnx": return .model
        case .onnx where ext == "data" || name.hasSuffix(".onnx_data"): return .weights
        case .hdf5 where ["h5", "hdf5", "keras"].contains(ext): return .model
        case .savedmodel where name == "saved_model.pb": return .model
        case .savedmodel where path.split(separator: "/").contains("variables"): return .weights
        case .torchscript where ["pt", "pth", "zip", "ptl"].contains(ext): return .model
        case .safetensors where ext == "safetensors": return .weights
        default: break
        }
        if ["json", "yaml", "yml", "pbtxt", "cfg", "ini", "toml"].contains(ext) { return .config }
        if ["txt", "labels", "names"].contains(ext), name.contains("label") || name.contains("class") {
            return .labels
        }
        return format == .custom ? .model : .other
    }
}

/// The role of a file in a bundle manifest; the registry's file roles use the same names.
public enum BundleFileRole: String, Sendable, CaseIterable {
    case model, weights, config, preprocessing, labels, signature, other
}
