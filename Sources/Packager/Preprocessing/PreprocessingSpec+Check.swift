extension PreprocessingSpec {
    /// The element type name ONNX uses for the spec's dtype.
    var onnxElementType: String {
        switch dtype {
        case .float32: "float"
        case .float16: "float16"
        case .uint8: "uint8"
        case .int8: "int8"
        }
    }

    /// Checks that the tensor this spec produces is what the model's input expects: same rank, layout, channels,
    /// height, width and element type. The batch dimension may be symbolic or any fixed size; other symbolic
    /// dimensions accept any size.
    ///
    /// - Throws: ``PackagerError`` `invalidArgument` naming both sides: the model's input name, element type and
    ///   shape, and the spec's layout, colour order, size and dtype.
    public func check(against model: ONNXModelInfo) throws {
        let input: ONNXModelInfo.Tensor
        if let inputName {
            guard let named = model.inputs.first(where: { $0.name == inputName }) else {
                throw PackagerError.invalid(
                    "preprocessing spec names input '\(inputName)' but the model's inputs are \(model.inputs.map { "'\($0.name)'" }.joined(separator: ", "))"
                )
            }
            input = named
        } else {
            guard model.inputs.count == 1, let only = model.inputs.first else {
                throw PackagerError.invalid(
                    "the model has \(model.inputs.count) inputs (\(model.inputs.map(\.name).joined(separator: ", "))): set input_name in the preprocessing spec"
                )
            }
            input = only
        }
        guard let (height, width) = outputSize else { return }
        let expected: [Int] = layout == .nchw ? [channels, height, width] : [height, width, channels]
        let produced =
            "\(dtype.rawValue) \(layout.rawValue) \(colorOrder.rawValue) \(height)x\(width) → [N,\(expected.map(String.init).joined(separator: ","))]"
        let declared = "\(input.elementType) [\((input.shape ?? []).map(\.description).joined(separator: ","))]"
        let mismatch = PackagerError.invalid(
            "preprocessing spec does not match the model: model input '\(input.name)' is \(declared), the spec produces \(produced)"
        )
        guard input.elementType == onnxElementType, let shape = input.shape, shape.count == 4 else { throw mismatch }
        for (dimension, size) in zip(shape.dropFirst(), expected) {
            if case .value(let value) = dimension, value != Int64(size) { throw mismatch }
        }
    }
}
