public import Foundation

/// Reads the metadata of an ONNX model (`ModelProto`) straight from the protobuf wire format.
///
/// Field numbers follow `onnx/onnx.proto` (ModelProto, GraphProto, TensorProto, ValueInfoProto, TypeProto,
/// TensorShapeProto). The file is streamed: tensor data is skipped by seeking, so memory stays small whatever the
/// model's size, and nothing is loaded twice. Truncated or malformed files are refused with the byte offset.
public struct ONNXInspector: Sendable {
    public init() {}

    /// - Throws: ``PackagerError`` `notFound` when the file cannot be opened, `invalidArgument` when it is not a
    ///   valid ONNX model (naming the offset and what was wrong).
    public func inspect(_ url: URL) throws -> ONNXModelInfo {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw PackagerError.notFound("cannot open \(url.path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let size = Int64(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let stream = ProtobufStream(handle: handle, size: size)
        do {
            return try readModel(stream, size: size)
        } catch let failure as ProtobufStream.Failure {
            throw PackagerError.invalid(
                "\(url.lastPathComponent) is not a valid ONNX model: \(failure.reason) (at byte \(failure.offset) of \(size))"
            )
        }
    }

    private func readModel(_ stream: ProtobufStream, size: Int64) throws -> ONNXModelInfo {
        var info = ONNXModelInfo(
            irVersion: 0,
            opsets: [],
            producerName: "",
            producerVersion: "",
            graphName: "",
            inputs: [],
            outputs: [],
            parameterCount: 0,
            fileSize: size
        )
        var sawGraph = false
        var graphInputs: [ONNXModelInfo.Tensor] = []
        var initializers = Set<String>()
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .varint): info.irVersion = Int64(bitPattern: try stream.readVarint())
            case (2, .lengthDelimited): info.producerName = try stream.readString()
            case (3, .lengthDelimited): info.producerVersion = try stream.readString()
            case (7, .lengthDelimited):
                sawGraph = true
                try stream.withinMessage(length: try stream.readLength()) {
                    try readGraph(stream, info: &info, inputs: &graphInputs, initializers: &initializers)
                }
            case (8, .lengthDelimited):
                info.opsets.append(try stream.withinMessage(length: try stream.readLength()) { try readOpset(stream) })
            default: try stream.skipField(wireType)
            }
        }
        // A protobuf message cut at a field boundary still parses; a model always has these three fields, and the
        // opset imports come last in what exporters write, so a truncated file is caught here.
        guard info.irVersion > 0, sawGraph, !info.opsets.isEmpty else {
            throw ProtobufStream.Failure(
                reason: "it lacks ir_version, the graph or the opset imports",
                offset: stream.position
            )
        }
        info.inputs = graphInputs.filter { !initializers.contains($0.name) }
        return info
    }

    private func readOpset(_ stream: ProtobufStream) throws -> ONNXModelInfo.OperatorSet {
        var opset = ONNXModelInfo.OperatorSet(domain: "", version: 0)
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited): opset.domain = try stream.readString()
            case (2, .varint): opset.version = Int64(bitPattern: try stream.readVarint())
            default: try stream.skipField(wireType)
            }
        }
        return opset
    }

    private func readGraph(
        _ stream: ProtobufStream,
        info: inout ONNXModelInfo,
        inputs: inout [ONNXModelInfo.Tensor],
        initializers: inout Set<String>
    ) throws {
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (2, .lengthDelimited): info.graphName = try stream.readString()
            case (5, .lengthDelimited):
                let (name, count) = try stream.withinMessage(length: try stream.readLength()) {
                    try readInitializer(stream)
                }
                initializers.insert(name)
                info.parameterCount += count
            case (11, .lengthDelimited):
                inputs.append(try stream.withinMessage(length: try stream.readLength()) { try readValueInfo(stream) })
            case (12, .lengthDelimited):
                info.outputs.append(
                    try stream.withinMessage(length: try stream.readLength()) { try readValueInfo(stream) }
                )
            default: try stream.skipField(wireType)
            }
        }
    }

    /// Name and element count of a `TensorProto`; its data is skipped.
    private func readInitializer(_ stream: ProtobufStream) throws -> (String, Int64) {
        var name = ""
        var dims: [Int64] = []
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .varint): dims.append(Int64(bitPattern: try stream.readVarint()))
            case (1, .lengthDelimited):
                try stream.withinMessage(length: try stream.readLength()) {
                    while !stream.atEnd { dims.append(Int64(bitPattern: try stream.readVarint())) }
                }
            case (8, .lengthDelimited): name = try stream.readString()
            default: try stream.skipField(wireType)
            }
        }
        let count = dims.reduce(Int64(1)) { product, dim in
            product.multipliedReportingOverflow(by: max(dim, 0)).partialValue
        }
        return (name, count)
    }

    private func readValueInfo(_ stream: ProtobufStream) throws -> ONNXModelInfo.Tensor {
        var tensor = ONNXModelInfo.Tensor(name: "", elementType: "undefined", shape: nil)
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited): tensor.name = try stream.readString()
            case (2, .lengthDelimited):
                try stream.withinMessage(length: try stream.readLength()) { try readType(stream, into: &tensor) }
            default: try stream.skipField(wireType)
            }
        }
        return tensor
    }

    private func readType(_ stream: ProtobufStream, into tensor: inout ONNXModelInfo.Tensor) throws {
        while let (field, wireType) = try stream.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited):
                try stream.withinMessage(length: try stream.readLength()) {
                    while let (inner, innerType) = try stream.nextTag() {
                        switch (inner, innerType) {
                        case (1, .varint): tensor.elementType = Self.elementType(try stream.readVarint())
                        case (2, .lengthDelimited):
                            tensor.shape = try stream.withinMessage(length: try stream.readLength()) {
                                try readShape(stream)
                            }
                        default: try stream.skipField(innerType)
                        }
                    }
                }
            case (4, .lengthDelimited):
                tensor.elementType = "sequence"
                try stream.skipField(wireType)
            case (5, .lengthDelimited):
                tensor.elementType = "map"
                try stream.skipField(wireType)
            case (8, .lengthDelimited):
                tensor.elementType = "sparse_tensor"
                try stream.skipField(wireType)
            case (9, .lengthDelimited):
                tensor.elementType = "optional"
                try stream.skipField(wireType)
            default: try stream.skipField(wireType)
            }
        }
    }

    private func readShape(_ stream: ProtobufStream) throws -> [ONNXModelInfo.Dimension] {
        var dims: [ONNXModelInfo.Dimension] = []
        while let (field, wireType) = try stream.nextTag() {
            guard field == 1, wireType == .lengthDelimited else {
                try stream.skipField(wireType)
                continue
            }
            var dim = ONNXModelInfo.Dimension.unknown
            try stream.withinMessage(length: try stream.readLength()) {
                while let (inner, innerType) = try stream.nextTag() {
                    switch (inner, innerType) {
                    case (1, .varint): dim = .value(Int64(bitPattern: try stream.readVarint()))
                    case (2, .lengthDelimited): dim = .symbol(try stream.readString())
                    default: try stream.skipField(innerType)
                    }
                }
            }
            dims.append(dim)
        }
        return dims
    }

    /// Names of `TensorProto.DataType`.
    static func elementType(_ code: UInt64) -> String {
        let names = [
            "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool", "float16",
            "double", "uint32", "uint64", "complex64", "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
            "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
        ]
        return code < names.count ? names[Int(code)] : "type\(code)"
    }
}
