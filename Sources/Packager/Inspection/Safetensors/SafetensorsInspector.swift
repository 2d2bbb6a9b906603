public import Foundation

/// What `modelctl inspect` reports about a safetensors file.
public struct SafetensorsInfo: Sendable, Equatable, Codable {
    public struct Tensor: Sendable, Equatable, Codable {
        public var name: String
        /// `F32`, `F16`, `BF16`, `I64`, … as written in the header.
        public var dtype: String
        public var shape: [Int64]

        public init(name: String, dtype: String, shape: [Int64]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
    }

    /// Tensors in name order.
    public var tensors: [Tensor]
    /// The header's `__metadata__` strings.
    public var metadata: [String: String]
    /// Sum over the tensors of the product of their shapes.
    public var parameterCount: Int64
    public var fileSize: Int64

    enum CodingKeys: String, CodingKey {
        case tensors, metadata
        case parameterCount = "parameter_count"
        case fileSize = "file_size"
    }
}

/// Reads the header of a safetensors file: an 8-byte little-endian length, then that many bytes of JSON mapping
/// tensor names to `dtype`, `shape` and `data_offsets`. Only the header is read; each tensor's byte range is checked
/// against its dtype and shape and against the file size.
public struct SafetensorsInspector: Sendable {
    /// Largest header accepted (the format's own reference implementation uses 100 MB).
    public static let maxHeaderBytes: UInt64 = 100_000_000

    static let dtypeSizes: [String: Int64] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4,
        "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
    ]

    public init() {}

    /// - Throws: ``PackagerError`` `notFound` or `invalidArgument`, naming the file and the tensor at fault.
    public func inspect(_ url: URL) throws -> SafetensorsInfo {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw PackagerError.notFound("cannot open \(url.path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let name = url.lastPathComponent
        let size = Int64(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let prefix = try handle.read(upToCount: 8) ?? Data()
        guard prefix.count == 8 else {
            throw PackagerError.invalid("\(name) is not a safetensors file: shorter than 8 bytes")
        }
        let length = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= Self.maxHeaderBytes, Int64(length) <= size - 8 else {
            throw PackagerError.invalid(
                "\(name) is not a safetensors file: its header length \(length) exceeds the file"
            )
        }
        let header = try handle.read(upToCount: Int(length)) ?? Data()
        guard let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw PackagerError.invalid("\(name) is not a safetensors file: its header is not a JSON object")
        }
        let dataSize = size - 8 - Int64(length)
        var tensors: [SafetensorsInfo.Tensor] = []
        var metadata: [String: String] = [:]
        var parameters: Int64 = 0
        for (key, value) in object {
            if key == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [NSNumber])?.map({ $0.int64Value }),
                let offsets = (entry["data_offsets"] as? [NSNumber])?.map({ $0.int64Value }), offsets.count == 2
            else {
                throw PackagerError.invalid("\(name): tensor '\(key)' lacks dtype, shape or data_offsets")
            }
            guard let elementSize = Self.dtypeSizes[dtype] else {
                throw PackagerError.invalid("\(name): tensor '\(key)' has unknown dtype '\(dtype)'")
            }
            let count = shape.reduce(Int64(1)) { $0.multipliedReportingOverflow(by: max($1, 0)).partialValue }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize,
                offsets[1] - offsets[0] == count * elementSize
            else {
                throw PackagerError.invalid(
                    "\(name): tensor '\(key)' (\(dtype) \(shape)) does not fit its data_offsets \(offsets) in \(dataSize) bytes of data"
                )
            }
            parameters += count
            tensors.append(.init(name: key, dtype: dtype, shape: shape))
        }
        return SafetensorsInfo(
            tensors: tensors.sorted { $0.name < $1.name },
            metadata: metadata,
            parameterCount: parameters,
            fileSize: size
        )
    }
}
