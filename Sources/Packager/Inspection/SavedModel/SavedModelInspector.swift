public import Foundation

/// Reads a TensorFlow SavedModel directory: the tags, TensorFlow version and signatures of each meta graph from
/// `saved_model.pb`, and the size of `variables/`.
///
/// `saved_model.pb` is streamed with the same protobuf reader as ONNX models: the graph, the function library and the
/// object graph are skipped by seeking, so memory stays small whatever their size. Field numbers follow
/// `tensorflow/core/protobuf/saved_model.proto`, `meta_graph.proto`, `framework/tensor_shape.proto` and
/// `framework/types.proto`. Variables are not read, only their file sizes. The text form `saved_model.pbtxt` is not
/// supported.
public struct SavedModelInspector: Sendable {
    /// Most files accepted under `variables/` (sharded checkpoints have a few hundred at most).
    public static let maxVariablesFiles = 100_000

    /// Creates an inspector; it holds no state.
    public init() {}

    /// - Parameter url: The SavedModel directory (the one holding `saved_model.pb`), or its `saved_model.pb`.
    /// - Throws: ``PackagerError`` `notFound` when the directory, `saved_model.pb` or `variables/` is missing;
    ///   `unsupported` for `saved_model.pbtxt` and for links or special files under `variables/`; `invalidArgument`
    ///   when `saved_model.pb` is truncated or malformed (naming the byte offset).
    public func inspect(_ url: URL) throws -> SavedModelInfo {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw PackagerError.notFound("\(url.path) does not exist")
        }
        let directory: URL
        if isDirectory.boolValue {
            directory = url
        } else if url.lastPathComponent == "saved_model.pb" {
            directory = url.deletingLastPathComponent()
        } else {
            throw PackagerError.invalid("\(url.lastPathComponent) is not a SavedModel directory")
        }
        let name = directory.lastPathComponent
        let modelFile = directory.appending(path: "saved_model.pb")
        guard Self.isRegularFile(modelFile) else {
            if fileManager.fileExists(atPath: directory.appending(path: "saved_model.pbtxt").path) {
                throw PackagerError.unsupported(
                    "\(name) holds saved_model.pbtxt; only the binary saved_model.pb is supported"
                )
            }
            throw PackagerError.notFound("\(name) is not a SavedModel: it has no saved_model.pb file")
        }
        let variables = directory.appending(path: "variables")
        guard fileManager.fileExists(atPath: variables.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PackagerError.notFound(
                "\(name) is not a complete SavedModel: it has no variables/ directory beside saved_model.pb"
            )
        }
        let (variablesCount, variablesSize) = try Self.sizeOfFiles(under: variables, label: "\(name)/variables")

        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: modelFile)
        } catch {
            throw PackagerError.notFound("cannot open \(modelFile.path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let size = Int64(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let stream = ProtobufStream(handle: handle, size: size)
        var info = SavedModelInfo(
            schemaVersion: 0,
            metaGraphs: [],
            savedModelSize: size,
            variablesFileCount: variablesCount,
            variablesSize: variablesSize
        )
        do {
            try readSavedModel(stream, into: &info)
        } catch let failure as ProtobufStream.Failure {
            throw PackagerError.invalid(
                "\(name)/saved_model.pb is not a valid SavedModel: \(failure.reason) (at byte \(failure.offset) of \(size))"
            )
        }
        return info
    }

    // MARK: Layout

    private static func isRegularFile(_ url: URL) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType) == .typeRegular
    }

    /// Count and total size of the regular files under `directory`; links and special files are refused.
    private static func sizeOfFiles(under directory: URL, label: String) throws -> (Int, Int64) {
        var count = 0
        var total: Int64 = 0
        var pending = [(directory, label)]
        while let (current, currentLabel) = pending.popLast() {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: current.path).sorted()
            } catch {
                throw PackagerError.io("cannot list \(currentLabel): \(error.localizedDescription)")
            }
            for entry in names {
                let url = current.appending(path: entry)
                let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
                switch attributes[.type] as? FileAttributeType {
                case .typeRegular?:
                    count += 1
                    total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
                    guard count <= maxVariablesFiles else {
                        throw PackagerError.invalid("\(label) holds more than \(maxVariablesFiles) files")
                    }
                case .typeDirectory?:
                    pending.append((url, "\(currentLabel)/\(entry)"))
                default:
                    throw PackagerError.unsupported(
                        "\(currentLabel)/\(entry) is a link or special file; a SavedModel holds regular files only"
                    )
                }
            }
        }
        return (count, total)
    }

    // MARK: Protobuf

    private func readSavedModel(_ stream: ProtobufStream, into info: inout SavedModelInfo) throws {
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .varint): info.schemaVersion = Int64(bitPattern: try stream.readVarint())
            case (2, .lengthDelimited):
                info.metaGraphs.append(
                    try stream.withinMessage(length: try stream.readLength()) { try readMetaGraph(stream) }
                )
            default: try stream.skipField(wireType)
            }
        }
        // A message cut at a field boundary still parses; every SavedModel has a meta graph, and it follows the
        // schema version, so a truncated file is caught here.
        guard !info.metaGraphs.isEmpty else {
            throw ProtobufStream.Failure(reason: "it has no meta graph", offset: stream.position)
        }
    }

    private func readMetaGraph(_ stream: ProtobufStream) throws -> SavedModelInfo.MetaGraph {
        var metaGraph = SavedModelInfo.MetaGraph(
            tags: [],
            tensorflowVersion: "",
            tensorflowGitVersion: "",
            signatures: []
        )
        var signatures: [String: SavedModelInfo.Signature] = [:]
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited):
                try stream.withinMessage(length: try stream.readLength()) { try readMetaInfo(stream, into: &metaGraph) }
            case (5, .lengthDelimited):
                let (name, value) = try stream.withinMessage(length: try stream.readLength()) {
                    try readMapEntry(stream) { try readSignature(stream) }
                }
                var signature = value ?? SavedModelInfo.Signature(name: "", methodName: "", inputs: [], outputs: [])
                signature.name = name
                signatures[name] = signature
            default: try stream.skipField(wireType)
            }
        }
        metaGraph.signatures = signatures.values.sorted { $0.name < $1.name }
        return metaGraph
    }

    private func readMetaInfo(_ stream: ProtobufStream, into metaGraph: inout SavedModelInfo.MetaGraph) throws {
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (4, .lengthDelimited): metaGraph.tags.append(try stream.readString())
            case (5, .lengthDelimited): metaGraph.tensorflowVersion = try stream.readString()
            case (6, .lengthDelimited): metaGraph.tensorflowGitVersion = try stream.readString()
            default: try stream.skipField(wireType)
            }
        }
    }

    /// A `map<string, Message>` entry (key = 1, value = 2, in either order): its key, and its value read by
    /// `readValue` (`nil` when the entry has no value, which protobuf reads as an empty message).
    private func readMapEntry<T>(_ stream: ProtobufStream, readValue: () throws -> T) throws -> (String, T?) {
        var key = ""
        var value: T?
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited): key = try stream.readString()
            case (2, .lengthDelimited): value = try stream.withinMessage(length: try stream.readLength(), readValue)
            default: try stream.skipField(wireType)
            }
        }
        return (key, value)
    }

    /// A `SignatureDef`; its name is the map key, set by the caller.
    private func readSignature(_ stream: ProtobufStream) throws -> SavedModelInfo.Signature {
        var signature = SavedModelInfo.Signature(name: "", methodName: "", inputs: [], outputs: [])
        var inputs: [String: SavedModelInfo.Tensor] = [:]
        var outputs: [String: SavedModelInfo.Tensor] = [:]
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited), (2, .lengthDelimited):
                let (key, value) = try stream.withinMessage(length: try stream.readLength()) {
                    try readMapEntry(stream) { try readTensorInfo(stream) }
                }
                var tensor = value ?? Self.emptyTensorInfo
                tensor.key = key
                if field == 1 { inputs[key] = tensor } else { outputs[key] = tensor }
            case (3, .lengthDelimited): signature.methodName = try stream.readString()
            default: try stream.skipField(wireType)
            }
        }
        signature.inputs = inputs.values.sorted { $0.key < $1.key }
        signature.outputs = outputs.values.sorted { $0.key < $1.key }
        return signature
    }

    /// An empty `TensorInfo`: no name, `DT_INVALID`, and the default `TensorShapeProto`, a scalar.
    private static let emptyTensorInfo = SavedModelInfo.Tensor(key: "", name: "", dtype: dtypeName(0), shape: [])

    /// A `TensorInfo`; its key is the map key, set by the caller.
    private func readTensorInfo(_ stream: ProtobufStream) throws -> SavedModelInfo.Tensor {
        var tensor = Self.emptyTensorInfo
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited): tensor.name = try stream.readString()
            case (2, .varint): tensor.dtype = Self.dtypeName(try stream.readVarint())
            case (3, .lengthDelimited):
                tensor.shape = try stream.withinMessage(length: try stream.readLength()) { try readShape(stream) }
            default: try stream.skipField(wireType)
            }
        }
        return tensor
    }

    /// A `TensorShapeProto`, or `nil` when `unknown_rank` is set.
    private func readShape(_ stream: ProtobufStream) throws -> [SavedModelInfo.Dimension]? {
        var dims: [SavedModelInfo.Dimension] = []
        var unknownRank = false
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (2, .lengthDelimited):
                var size: Int64 = -1
                var name = ""
                try stream.withinMessage(length: try stream.readLength()) {
                    while let (inner, innerType) = try stream.nextTag() {
                        switch (inner, innerType) {
                        case (1, .varint): size = Int64(bitPattern: try stream.readVarint())
                        case (2, .lengthDelimited): name = try stream.readString()
                        default: try stream.skipField(innerType)
                        }
                    }
                }
                dims.append(size >= 0 ? .value(size) : name.isEmpty ? .unknown : .symbol(name))
            case (3, .varint): unknownRank = try stream.readVarint() != 0
            default: try stream.skipField(wireType)
            }
        }
        return unknownRank ? nil : dims
    }

    /// Names of `tensorflow.DataType` without `DT_`, lower case; reference types (100 + n) end in `_ref`.
    static func dtypeName(_ code: UInt64) -> String {
        let names: [UInt64: String] = [
            0: "invalid", 1: "float", 2: "double", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
            8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32", 14: "bfloat16",
            15: "qint16", 16: "quint16", 17: "uint16", 18: "complex128", 19: "half", 20: "resource", 21: "variant",
            22: "uint32", 23: "uint64", 24: "float8_e5m2", 25: "float8_e4m3fn", 29: "int4", 30: "uint4",
        ]
        if let name = names[code] { return name }
        if code > 100, let name = names[code - 100] { return name + "_ref" }
        return "type\(code)"
    }
}
