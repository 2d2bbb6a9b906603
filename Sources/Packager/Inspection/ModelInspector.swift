public import Foundation

/// Everything `modelctl inspect` learns about a model file or directory: its files, its format, and what the deep
/// inspection of its main file found.
///
/// Exactly one of the per-format fields is set, the one of ``format`` (none for `custom`). Arrays are in a fixed order,
/// so encoding with ``encodedJSON()`` (sorted keys) gives the same bytes for the same input.
public struct InspectionReport: Sendable, Equatable, Codable {
    /// A regular file of the inspected model.
    public struct File: Sendable, Equatable, Codable {
        /// Relative to the inspected directory, `/`-separated; the file's name when a single file was inspected.
        public var path: String
        /// In bytes.
        public var size: Int64

        /// Creates a file entry.
        public init(path: String, size: Int64) {
            self.path = path
            self.size = size
        }
    }

    /// The declared format, or the detected one when none was declared.
    public var format: ModelFormat
    /// Every regular file, sorted component-wise (by the UTF-8 bytes of each path component in turn).
    public var files: [File]
    /// The sum of the files' sizes.
    public var totalSize: Int64
    /// The paths (as in ``files``) that deep inspection read: the main file, every safetensors shard, or the
    /// SavedModel's `saved_model.pb`. Empty for `custom`.
    public var inspectedPaths: [String]
    /// Set for `onnx`.
    public var onnx: ONNXModelInfo?
    /// Set for `safetensors` (shards merged).
    public var safetensors: SafetensorsInfo?
    /// Set for `hdf5`, Keras model or not.
    public var keras: KerasModelInfo?
    /// Set for `savedmodel`.
    public var savedModel: SavedModelInfo?
    /// Set for `torchscript`.
    public var torchScript: TorchScriptInfo?

    enum CodingKeys: String, CodingKey {
        case format, files, onnx, safetensors, keras
        case totalSize = "total_size"
        case inspectedPaths = "inspected_paths"
        case savedModel = "saved_model"
        case torchScript = "torch_script"
    }

    /// Creates a report.
    public init(
        format: ModelFormat,
        files: [File],
        totalSize: Int64,
        inspectedPaths: [String] = [],
        onnx: ONNXModelInfo? = nil,
        safetensors: SafetensorsInfo? = nil,
        keras: KerasModelInfo? = nil,
        savedModel: SavedModelInfo? = nil,
        torchScript: TorchScriptInfo? = nil
    ) {
        self.format = format
        self.files = files
        self.totalSize = totalSize
        self.inspectedPaths = inspectedPaths
        self.onnx = onnx
        self.safetensors = safetensors
        self.keras = keras
        self.savedModel = savedModel
        self.torchScript = torchScript
    }

    /// The report as JSON with sorted keys and without escaped slashes: the same report always gives the same bytes.
    ///
    /// - Parameter prettyPrinted: Indent the output for people (the default) or keep it on one line.
    public func encodedJSON(prettyPrinted: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if prettyPrinted { encoder.outputFormatting.insert(.prettyPrinted) }
        return try encoder.encode(self)
    }
}

/// Inspects a model file or directory: lists its files, detects its format with ``FormatDetector`` and reads the
/// main file with the format's inspector (``ONNXInspector``, ``SafetensorsInspector``, ``KerasInspector``,
/// ``SavedModelInspector``, ``TorchScriptInspector``).
///
/// Which file is the main one:
/// - **onnx**: the `.onnx` file; among several (an encoder and a decoder, a model and its quantised copy) the
///   largest, ties broken by path order. ``InspectionReport/inspectedPaths`` names it.
/// - **safetensors**: every `.safetensors` file (the shards of one checkpoint), merged into one
///   ``SafetensorsInfo``: tensors of all shards in name order, parameter counts and file sizes summed, metadata of
///   all shards with the first shard's value (in path order) kept when two disagree.
/// - **hdf5**: the HDF5 file named `.h5`, `.keras` or `.hdf5` (any HDF5 file if none is so named); the largest among
///   several.
/// - **savedmodel**: the directory of the shallowest `saved_model.pb` that has `variables/` beside it.
/// - **torchscript**: the TorchScript zip; the largest among several.
/// - **custom**: nothing is read.
///
/// The walk of a directory takes regular files and directories only: a symbolic link or special file anywhere below
/// it is refused with an error naming it (a top-level `.git` is skipped whole). The given path itself may be a link.
/// The inspection reads headers and directories, never whole weight files, so its memory does not grow with model
/// size.
public struct ModelInspector: Sendable {
    /// Most files a directory may hold.
    public static let maxFiles = 100_000

    /// Creates an inspector; it holds no state.
    public init() {}

    /// Inspects a model.
    ///
    /// - Parameters:
    ///   - url: A model file or a directory holding a model's files.
    ///   - declaredFormat: The format the caller states, which overrides detection: `custom` is always accepted and
    ///     skips deep inspection; any other format must be found among the files and must parse.
    /// - Returns: The files, the format and the main file's details.
    /// - Throws: ``PackagerError`` `notFound` when `url` does not exist; `unsupported` for a link or special file
    ///   inside a directory; `invalidArgument` for an empty directory, a `declaredFormat` the files contradict
    ///   (naming the declared format and what was found), or a main file its inspector refuses (naming the file).
    public func inspect(_ url: URL, declaredFormat: ModelFormat? = nil) throws -> InspectionReport {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw PackagerError.notFound("\(url.path) does not exist")
        }
        let files: [InspectionReport.File]
        let base: URL
        if isDirectory.boolValue {
            base = url.resolvingSymlinksInPath()
            files = try Self.walk(base)
            guard !files.isEmpty else {
                throw PackagerError.invalid("\(url.lastPathComponent) holds no files to inspect")
            }
        } else {
            // A link given as the model file is followed; it keeps its own name in the report.
            let attributes: [FileAttributeKey: Any]
            do {
                attributes = try fileManager.attributesOfItem(atPath: url.resolvingSymlinksInPath().path)
            } catch {
                throw PackagerError.io("cannot read \(url.path): \(error.localizedDescription)")
            }
            guard attributes[.type] as? FileAttributeType == .typeRegular else {
                throw PackagerError.unsupported("\(url.lastPathComponent) is a special file, not a model file")
            }
            files = [.init(path: url.lastPathComponent, size: (attributes[.size] as? NSNumber)?.int64Value ?? 0)]
            base = url.deletingLastPathComponent()
        }
        var report = InspectionReport(format: .custom, files: files, totalSize: files.reduce(0) { $0 + $1.size })

        let detector = FormatDetector()
        let candidates = files.map { FormatDetector.Candidate(path: $0.path, location: base.appending(path: $0.path)) }
        let detected = detector.detect(candidates)
        let format = declaredFormat ?? detected
        report.format = format
        guard format != .custom else { return report }

        let sizes = Dictionary(files.map { ($0.path, $0.size) }, uniquingKeysWith: { first, _ in first })
        let main = Self.mainFiles(of: format, among: candidates, sizes: sizes, detector: detector)
        guard !main.isEmpty else {
            let what = "no \(Self.label(format)) was found among its files (they look like \(detected.rawValue))"
            throw PackagerError.invalid(
                declaredFormat == nil
                    ? "\(url.lastPathComponent): \(what)"
                    : "declared format '\(format.rawValue)' does not match \(url.lastPathComponent): \(what)"
            )
        }
        report.inspectedPaths = main.map(\.path)
        do {
            try Self.deepInspect(format, main, into: &report)
        } catch let error as PackagerError
            where declaredFormat != nil && declaredFormat != detected
            && error.code == .invalidArgument
        {
            throw PackagerError(
                .invalidArgument,
                "declared format '\(format.rawValue)' does not match \(url.lastPathComponent) (the files look like \(detected.rawValue)): \(error.message)",
                cause: error
            )
        }
        return report
    }

    // MARK: Deep inspection

    private static func deepInspect(
        _ format: ModelFormat,
        _ main: [FormatDetector.Candidate],
        into report: inout InspectionReport
    ) throws {
        switch format {
        case .onnx: report.onnx = try ONNXInspector().inspect(main[0].location)
        case .hdf5: report.keras = try KerasInspector().inspect(main[0].location)
        case .torchscript: report.torchScript = try TorchScriptInspector().inspect(main[0].location)
        case .savedmodel:
            report.savedModel = try SavedModelInspector().inspect(main[0].location.deletingLastPathComponent())
        case .safetensors: report.safetensors = try merge(main.map { try SafetensorsInspector().inspect($0.location) })
        case .custom: break
        }
    }

    /// Shards merged: tensors in name order, counts and sizes summed, the first shard's metadata value kept.
    private static func merge(_ shards: [SafetensorsInfo]) -> SafetensorsInfo {
        var metadata: [String: String] = [:]
        for shard in shards {
            metadata.merge(shard.metadata) { first, _ in first }
        }
        return SafetensorsInfo(
            tensors: shards.flatMap(\.tensors).sorted { $0.name < $1.name },
            metadata: metadata,
            parameterCount: shards.reduce(0) { $0 + $1.parameterCount },
            fileSize: shards.reduce(0) { $0 + $1.fileSize }
        )
    }

    /// The files deep inspection reads for `format` (see the type's documentation); empty when there is none.
    private static func mainFiles(
        of format: ModelFormat,
        among candidates: [FormatDetector.Candidate],
        sizes: [String: Int64],
        detector: FormatDetector
    ) -> [FormatDetector.Candidate] {
        let largest = { (files: [FormatDetector.Candidate]) -> [FormatDetector.Candidate] in
            // `max` keeps the last of equal elements; reversing the path-ordered list makes ties go to the first path.
            files.reversed().max { sizes[$0.path, default: 0] < sizes[$1.path, default: 0] }.map { [$0] } ?? []
        }
        switch format {
        case .onnx, .torchscript:
            return largest(candidates.filter { detector.detect($0) == format })
        case .hdf5:
            let files = candidates.filter { detector.detect($0) == .hdf5 }
            let named = files.filter {
                ["h5", "hdf5", "keras"].contains(($0.path as NSString).pathExtension.lowercased())
            }
            return largest(named.isEmpty ? files : named)
        case .safetensors:
            return candidates.filter { detector.detect($0) == .safetensors }
        case .savedmodel:
            let models = candidates.filter { ($0.path as NSString).lastPathComponent == "saved_model.pb" }
                .sorted { $0.path.split(separator: "/").count < $1.path.split(separator: "/").count }
            let complete = models.first { model in
                var isDirectory: ObjCBool = false
                let variables = model.location.deletingLastPathComponent().appending(path: "variables").path
                return FileManager.default.fileExists(atPath: variables, isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }
            // Without a complete one, the first is inspected so that its inspector names what is missing.
            return (complete ?? models.first).map { [$0] } ?? []
        case .custom:
            return []
        }
    }

    private static func label(_ format: ModelFormat) -> String {
        switch format {
        case .onnx: "ONNX model (a .onnx protobuf file)"
        case .hdf5: "HDF5 file"
        case .savedmodel: "SavedModel (saved_model.pb)"
        case .torchscript: "TorchScript archive"
        case .safetensors: "safetensors file"
        case .custom: "file"
        }
    }

    // MARK: Walking a directory

    /// The regular files under `root`, sorted component-wise; refuses links and special files.
    private static func walk(_ root: URL) throws -> [InspectionReport.File] {
        let fileManager = FileManager.default
        var files: [InspectionReport.File] = []
        var pending: [[String]] = [[]]
        while let components = pending.popLast() {
            let directory = components.reduce(root) { $0.appending(path: $1) }
            let names: [String]
            do {
                names = try fileManager.contentsOfDirectory(atPath: directory.path)
            } catch {
                let label = components.isEmpty ? root.lastPathComponent : components.joined(separator: "/")
                throw PackagerError.io("cannot list \(label): \(error.localizedDescription)")
            }
            for name in names where !(components.isEmpty && name == ".git") {
                let path = components + [name]
                let attributes: [FileAttributeKey: Any]
                do {
                    attributes = try fileManager.attributesOfItem(atPath: directory.appending(path: name).path)
                } catch {
                    throw PackagerError.io(
                        "cannot read \(path.joined(separator: "/")): \(error.localizedDescription)"
                    )
                }
                switch attributes[.type] as? FileAttributeType {
                case .typeRegular?:
                    files.append(
                        .init(
                            path: path.joined(separator: "/"),
                            size: (attributes[.size] as? NSNumber)?.int64Value ?? 0
                        )
                    )
                    guard files.count <= maxFiles else {
                        throw PackagerError.invalid("\(root.lastPathComponent) holds more than \(maxFiles) files")
                    }
                case .typeDirectory?:
                    pending.append(path)
                case .typeSymbolicLink?:
                    throw PackagerError.unsupported(
                        "\(path.joined(separator: "/")) is a symbolic link; a model's files must be regular files"
                    )
                default:
                    throw PackagerError.unsupported(
                        "\(path.joined(separator: "/")) is a special file; a model's files must be regular files"
                    )
                }
            }
        }
        return files.sorted { precedesComponentWise($0.path, $1.path) }
    }

    /// Orders paths by their components in turn, each compared by its UTF-8 bytes (so `a/b` precedes `a.b`).
    static func precedesComponentWise(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(separator: "/", omittingEmptySubsequences: false)
        let right = rhs.split(separator: "/", omittingEmptySubsequences: false)
        for (a, b) in zip(left, right) where a != b {
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        return left.count < right.count
    }
}
