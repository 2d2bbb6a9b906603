/// What `modelctl inspect` reports about an ONNX model.
public struct ONNXModelInfo: Sendable, Equatable, Codable {
    /// One dimension of a tensor shape: a fixed size, a symbolic name such as `N`, or unknown.
    public enum Dimension: Sendable, Equatable, Codable, CustomStringConvertible {
        case value(Int64)
        case symbol(String)
        case unknown

        public var description: String {
            switch self {
            case .value(let value): String(value)
            case .symbol(let name): name
            case .unknown: "?"
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int64.self) {
                self = .value(value)
            } else if let name = try? container.decode(String.self) {
                self = .symbol(name)
            } else {
                self = .unknown
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .value(let value): try container.encode(value)
            case .symbol(let name): try container.encode(name)
            case .unknown: try container.encodeNil()
            }
        }
    }

    /// A graph input or output.
    public struct Tensor: Sendable, Equatable, Codable {
        public var name: String
        /// ONNX element type name (`float`, `uint8`, `int64`, …), or a description of a non-tensor type.
        public var elementType: String
        /// `nil` when the model declares no shape (any rank).
        public var shape: [Dimension]?

        enum CodingKeys: String, CodingKey {
            case name, shape
            case elementType = "element_type"
        }

        public init(name: String, elementType: String, shape: [Dimension]?) {
            self.name = name
            self.elementType = elementType
            self.shape = shape
        }
    }

    public struct OperatorSet: Sendable, Equatable, Codable {
        /// `""` is the default ONNX domain (`ai.onnx`).
        public var domain: String
        public var version: Int64

        public init(domain: String, version: Int64) {
            self.domain = domain
            self.version = version
        }
    }

    public var irVersion: Int64
    public var opsets: [OperatorSet]
    public var producerName: String
    public var producerVersion: String
    public var graphName: String
    /// Real inputs: graph inputs that are not initializers (weights).
    public var inputs: [Tensor]
    public var outputs: [Tensor]
    /// Number of weight elements: the product of the dims of every initializer, summed.
    public var parameterCount: Int64
    public var fileSize: Int64

    enum CodingKeys: String, CodingKey {
        case opsets, inputs, outputs
        case irVersion = "ir_version"
        case producerName = "producer_name"
        case producerVersion = "producer_version"
        case graphName = "graph_name"
        case parameterCount = "parameter_count"
        case fileSize = "file_size"
    }
}
