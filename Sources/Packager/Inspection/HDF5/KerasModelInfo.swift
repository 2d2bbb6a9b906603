/// What `modelctl inspect` reports about an HDF5 file, and about the Keras model it holds if it holds one.
///
/// For an HDF5 file without Keras's root attributes (`keras_version`, `backend`, `model_config`) every Keras field is
/// `nil`, ``inputs`` is empty, and only ``fileSize`` is set: such a file is reported as plain HDF5, not refused.
public struct KerasModelInfo: Sendable, Equatable, Codable {
    /// A fixed size, or unknown for Keras's `null` (the batch dimension, usually).
    public typealias Dimension = ONNXModelInfo.Dimension

    /// One input of the model, from an `InputLayer` (or, for a `Sequential` model, its first layer).
    public struct Input: Sendable, Equatable, Codable {
        /// The layer's name (`input_1`).
        public var name: String
        /// The layer's dtype (`float32`), when the config states one.
        public var dtype: String?
        /// `batch_input_shape` (Keras 2) or `batch_shape` (Keras 3), batch dimension included; `nil` if absent.
        public var shape: [Dimension]?

        /// Creates an input.
        public init(name: String, dtype: String?, shape: [Dimension]?) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
    }

    /// The root attribute `keras_version` (`2.15.0`).
    public var kerasVersion: String?
    /// The root attribute `backend` (`tensorflow`).
    public var backend: String?
    /// The model's `class_name` in `model_config` (`Sequential`, `Functional`, `Model`).
    public var className: String?
    /// The model's `config.name`.
    public var modelName: String?
    /// The number of entries of `config.layers`, as written (a Functional model's `InputLayer`s count).
    public var layerCount: Int?
    /// The model's inputs, in the order of `config.input_layers` when it is given.
    public var inputs: [Input]
    /// The element count of every dataset under `model_weights` (or, in a weights-only file, under the root);
    /// `nil` for plain HDF5.
    public var parameterCount: Int64?
    /// The size of the file in bytes.
    public var fileSize: Int64

    /// Whether the file carries Keras's root attributes.
    public var isKerasModel: Bool { kerasVersion != nil || className != nil }

    enum CodingKeys: String, CodingKey {
        case backend, inputs
        case kerasVersion = "keras_version"
        case className = "class_name"
        case modelName = "model_name"
        case layerCount = "layer_count"
        case parameterCount = "parameter_count"
        case fileSize = "file_size"
    }

    /// Creates a report; a plain HDF5 file needs only `fileSize`.
    public init(
        kerasVersion: String? = nil,
        backend: String? = nil,
        className: String? = nil,
        modelName: String? = nil,
        layerCount: Int? = nil,
        inputs: [Input] = [],
        parameterCount: Int64? = nil,
        fileSize: Int64
    ) {
        self.kerasVersion = kerasVersion
        self.backend = backend
        self.className = className
        self.modelName = modelName
        self.layerCount = layerCount
        self.inputs = inputs
        self.parameterCount = parameterCount
        self.fileSize = fileSize
    }
}
