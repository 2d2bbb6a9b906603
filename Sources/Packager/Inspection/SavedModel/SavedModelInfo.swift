/// What `modelctl inspect` reports about a TensorFlow SavedModel directory.
public struct SavedModelInfo: Sendable, Equatable, Codable {
    /// A fixed size, unknown (`-1`), or a named dimension.
    public typealias Dimension = ONNXModelInfo.Dimension

    /// One input or output of a signature.
    public struct Tensor: Sendable, Equatable, Codable {
        /// The signature's key for the tensor (`input_1`), which serving clients use.
        public var key: String
        /// The graph tensor behind it (`serving_default_input_1:0`); empty for sparse and composite tensors.
        public var name: String
        /// TensorFlow's dtype name without `DT_`, lower case (`float`, `int64`, `half`); `invalid` when unset.
        public var dtype: String
        /// `nil` when the rank is unknown.
        public var shape: [Dimension]?

        /// Creates a tensor description.
        public init(key: String, name: String, dtype: String, shape: [Dimension]?) {
            self.key = key
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
    }

    /// A `SignatureDef` of a meta graph.
    public struct Signature: Sendable, Equatable, Codable {
        /// The signature's key (`serving_default`).
        public var name: String
        /// `tensorflow/serving/predict`, `…/classify`, `…/regress`; empty when unset.
        public var methodName: String
        /// In key order.
        public var inputs: [Tensor]
        /// In key order.
        public var outputs: [Tensor]

        enum CodingKeys: String, CodingKey {
            case name, inputs, outputs
            case methodName = "method_name"
        }

        /// Creates a signature.
        public init(name: String, methodName: String, inputs: [Tensor], outputs: [Tensor]) {
            self.name = name
            self.methodName = methodName
            self.inputs = inputs
            self.outputs = outputs
        }
    }

    /// A `MetaGraphDef`: one graph with its tags and signatures.
    public struct MetaGraph: Sendable, Equatable, Codable {
        /// Tags as written (`serve`, `gpu`, `train`).
        public var tags: [String]
        /// The TensorFlow version that wrote the graph (`2.15.0`); empty when unset.
        public var tensorflowVersion: String
        /// The git version of that TensorFlow build; empty when unset.
        public var tensorflowGitVersion: String
        /// In name order.
        public var signatures: [Signature]

        enum CodingKeys: String, CodingKey {
            case tags, signatures
            case tensorflowVersion = "tensorflow_version"
            case tensorflowGitVersion = "tensorflow_git_version"
        }

        /// Creates a meta graph description.
        public init(tags: [String], tensorflowVersion: String, tensorflowGitVersion: String, signatures: [Signature]) {
            self.tags = tags
            self.tensorflowVersion = tensorflowVersion
            self.tensorflowGitVersion = tensorflowGitVersion
            self.signatures = signatures
        }
    }

    /// `saved_model_schema_version` (TensorFlow writes 1).
    public var schemaVersion: Int64
    /// In file order.
    public var metaGraphs: [MetaGraph]
    /// The size of `saved_model.pb`.
    public var savedModelSize: Int64
    /// The number of files under `variables/`.
    public var variablesFileCount: Int
    /// The total size of the files under `variables/`.
    public var variablesSize: Int64

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case metaGraphs = "meta_graphs"
        case savedModelSize = "saved_model_size"
        case variablesFileCount = "variables_file_count"
        case variablesSize = "variables_size"
    }

    /// Creates a report.
    public init(
        schemaVersion: Int64,
        metaGraphs: [MetaGraph],
        savedModelSize: Int64,
        variablesFileCount: Int,
        variablesSize: Int64
    ) {
        self.schemaVersion = schemaVersion
        self.metaGraphs = metaGraphs
        self.savedModelSize = savedModelSize
        self.variablesFileCount = variablesFileCount
        self.variablesSize = variablesSize
    }
}
