import Foundation

/// Any JSON value, decoded without Foundation's untyped `JSONSerialization` (so numbers stay numbers on every
/// platform).
enum KerasJSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([KerasJSON])
    case object([String: KerasJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([KerasJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: KerasJSON].self))
        }
    }

    subscript(key: String) -> KerasJSON? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    var string: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    var array: [KerasJSON]? {
        guard case .array(let value) = self else { return nil }
        return value
    }
}

/// The parts of Keras's `model_config` JSON that inspection reports.
///
/// Keras 2 (`tf.keras`) and Keras 3 write the same outline: `{"class_name": …, "config": {"name": …, "layers": [
/// {"class_name": "InputLayer", "config": {"batch_input_shape" | "batch_shape": […], "dtype": …, "name": …}}, …],
/// "input_layers": [[name, 0, 0], …]}}`. Keras 3 writes a dtype as a `DTypePolicy` object and a single input layer
/// reference as a flat `[name, 0, 0]`.
struct KerasModelConfig {
    var className: String?
    var modelName: String?
    var layerCount: Int?
    var inputs: [KerasModelInfo.Input]

    init(json: String) throws {
        let root = try JSONDecoder().decode(KerasJSON.self, from: Data(json.utf8))
        guard case .object = root else {
            throw DecodingError.typeMismatch(
                [String: KerasJSON].self,
                .init(codingPath: [], debugDescription: "model_config is not a JSON object")
            )
        }
        className = root["class_name"]?.string
        let config = root["config"]
        modelName = config?["name"]?.string
        let layers = config?["layers"]?.array
        layerCount = layers?.count
        inputs = []
        guard let layers else { return }

        let inputLayers = layers.filter { $0["class_name"]?.string == "InputLayer" }
        if !inputLayers.isEmpty {
            inputs = Self.ordered(inputLayers, by: config?["input_layers"]).map { Self.input(from: $0["config"]) }
        } else if let first = layers.first, let input = Self.declaredInput(of: first["config"]) {
            // A Sequential model whose first layer carries the input shape itself.
            inputs = [input]
        } else if className == "Sequential", let shape = config?["build_input_shape"] {
            inputs = [KerasModelInfo.Input(name: modelName ?? "input", dtype: nil, shape: Self.shape(shape))]
        }
    }

    /// Input layers in the order of `input_layers` (`[[name, node, tensor], …]` or Keras 3's flat
    /// `[name, node, tensor]`); layers it does not name keep their order after the named ones.
    private static func ordered(_ layers: [KerasJSON], by references: KerasJSON?) -> [KerasJSON] {
        guard let references = references?.array, !references.isEmpty else { return layers }
        let names: [String]
        if let single = references.first?.string {
            names = [single]
        } else {
            names = references.compactMap { $0.array?.first?.string }
        }
        let named = names.compactMap { name in layers.first { layerName($0) == name } }
        let rest = layers.filter { layer in !names.contains(layerName(layer) ?? "") }
        return named + rest
    }

    private static func layerName(_ layer: KerasJSON) -> String? {
        layer["config"]?["name"]?.string ?? layer["name"]?.string
    }

    private static func input(from config: KerasJSON?) -> KerasModelInfo.Input {
        declaredInput(of: config)
            ?? KerasModelInfo.Input(name: config?["name"]?.string ?? "", dtype: dtype(config?["dtype"]), shape: nil)
    }

    /// The input a layer's config declares through `batch_input_shape` or `batch_shape`, if it declares one.
    private static func declaredInput(of config: KerasJSON?) -> KerasModelInfo.Input? {
        guard let shape = config?["batch_input_shape"] ?? config?["batch_shape"], shape != .null else { return nil }
        return KerasModelInfo.Input(
            name: config?["name"]?.string ?? "",
            dtype: dtype(config?["dtype"]),
            shape: Self.shape(shape)
        )
    }

    /// `"float32"`, or Keras 3's `{"class_name": "DTypePolicy", "config": {"name": "float32"}}`.
    private static func dtype(_ value: KerasJSON?) -> String? {
        value?.string ?? value?["config"]?["name"]?.string
    }

    private static func shape(_ value: KerasJSON) -> [KerasModelInfo.Dimension]? {
        value.array?.map { dimension in
            if case .integer(let size) = dimension { .value(size) } else { .unknown }
        }
    }
}
