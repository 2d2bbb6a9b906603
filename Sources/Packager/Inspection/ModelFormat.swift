/// The serialisation format of a model version's files.
public enum ModelFormat: String, Sendable, CaseIterable, Codable {
    case onnx
    case hdf5
    case savedmodel
    case torchscript
    case safetensors
    /// Anything else; the user declares what it is.
    case custom
}
