import ArgumentParser
import Foundation
import Packager

extension Modelctl {
    /// `modelctl inspect PATH`: what a model file or directory declares, read without loading the model.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model's format, inputs, outputs and size without loading it.",
            discussion: """
                Detects the format (onnx, hdf5, savedmodel, torchscript, safetensors, custom) and reads the main \
                file's header: ONNX graph inputs and outputs with shapes, opsets and parameter count; Keras \
                version and input shapes from an HDF5 file; SavedModel signatures; TorchScript archive layout; \
                safetensors tensors. Tensor data is skipped, never loaded.
                """
        )

        @Argument(help: ArgumentHelp("The model file or directory.", valueName: "PATH"))
        var path: String

        @Option(help: ArgumentHelp("The format to read it as, instead of detecting it.", valueName: "F"))
        var format: String?

        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            if let format, ModelFormat(rawValue: format.lowercased()) == nil {
                throw ValidationError(
                    "invalid format '\(format)': expected one of \(ModelFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
        }

        func run() async throws {
            try await withExitCodes {
                let report = try ModelInspector().inspect(
                    URL(fileURLWithPath: path),
                    declaredFormat: format.flatMap { ModelFormat(rawValue: $0.lowercased()) }
                )
                if outputOptions.isJSON {
                    FileHandle.standardOutput.write(try report.encodedJSON() + Data("\n".utf8))
                } else if !outputOptions.quiet {
                    for line in InspectionText.lines(for: report, path: path) { Terminal.print(line) }
                }
            }
        }
    }
}

/// The text form of an ``InspectionReport``: a header, then the format's details as aligned `key  value` lines.
enum InspectionText {
    static func lines(for report: InspectionReport, path: String) -> [String] {
        var lines = [
            "\(path): \(report.format.rawValue), \(report.files.count) file(s), \(Units.bytes(report.totalSize))"
        ]
        func row(_ key: String, _ value: String) {
            lines.append("  " + key + String(repeating: " ", count: max(2, 12 - key.count)) + value)
        }
        func shape<D: CustomStringConvertible>(_ dims: [D]?) -> String {
            dims.map { "[" + $0.map(\.description).joined(separator: ",") + "]" } ?? "[?]"
        }
        if !report.inspectedPaths.isEmpty, report.files.count > 1 {
            row("read", report.inspectedPaths.joined(separator: ", "))
        }
        if let onnx = report.onnx {
            row("ir version", String(onnx.irVersion))
            row(
                "opsets",
                onnx.opsets.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }.joined(separator: ", ")
            )
            let producer = [onnx.producerName, onnx.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
            if !producer.isEmpty { row("producer", producer) }
            for input in onnx.inputs { row("input", "\(input.name) \(input.elementType) \(shape(input.shape))") }
            for output in onnx.outputs { row("output", "\(output.name) \(output.elementType) \(shape(output.shape))") }
            row("parameters", onnx.parameterCount.formatted())
        }
        if let keras = report.keras {
            if keras.isKerasModel {
                row("keras", [keras.kerasVersion, keras.backend].compactMap { $0 }.joined(separator: ", "))
                row("model", [keras.className, keras.modelName].compactMap { $0 }.joined(separator: " "))
                if let layers = keras.layerCount { row("layers", String(layers)) }
                for input in keras.inputs {
                    row("input", "\(input.name) \(input.dtype ?? "?") \(shape(input.shape))")
                }
            } else {
                row("hdf5", "no Keras attributes (keras_version, model_config)")
            }
            if let parameters = keras.parameterCount { row("parameters", parameters.formatted()) }
        }
        if let saved = report.savedModel {
            row("schema", String(saved.schemaVersion))
            for graph in saved.metaGraphs {
                row("meta graph", "tags \(graph.tags.joined(separator: ",")), tensorflow \(graph.tensorflowVersion)")
                for signature in graph.signatures {
                    row("signature", "\(signature.name) (\(signature.methodName))")
                    for input in signature.inputs {
                        row("  input", "\(input.key) \(input.dtype) \(shape(input.shape))")
                    }
                    for output in signature.outputs {
                        row("  output", "\(output.key) \(output.dtype) \(shape(output.shape))")
                    }
                }
            }
            row("variables", "\(saved.variablesFileCount) file(s), \(Units.bytes(saved.variablesSize))")
        }
        if let torch = report.torchScript {
            row("archive", "\(torch.rootFolder)/, \(torch.entryCount) entries, version \(torch.version ?? "?")")
            row(
                "code",
                "\(torch.codeFiles.count) file(s)"
                    + (torch.codeFiles.isEmpty ? "" : ": \(torch.codeFiles.prefix(5).joined(separator: ", "))")
            )
            row("tensors", "\(torch.tensorStorageCount) storage(s), \(Units.bytes(torch.tensorStorageSize))")
        }
        if let safetensors = report.safetensors {
            row("tensors", String(safetensors.tensors.count))
            for tensor in safetensors.tensors.prefix(10) {
                row("  " + tensor.name, "\(tensor.dtype) \(shape(tensor.shape))")
            }
            if safetensors.tensors.count > 10 {
                row("", "… \(safetensors.tensors.count - 10) more (--output json lists all)")
            }
            row("parameters", safetensors.parameterCount.formatted())
        }
        return lines
    }
}
