import Foundation
import Packager
import TestSupport
import Testing

@Suite struct ONNXInspectorTests {
    /// Files made by `scripts/make-fixtures.py` with the `onnx` package.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures")

    // MARK: Tests

    @Test func readsTheGraphSignatureOpsetsAndParameterCount() throws {
        // Given a model exported by the onnx package
        let url = Self.fixtures.appending(path: "tiny-classifier.onnx")
        // When it is inspected
        let info = try ONNXInspector().inspect(url)
        // Then every field matches what the generator wrote
        #expect(info.irVersion == 8)
        #expect(info.opsets == [.init(domain: "", version: 17)])
        #expect(info.producerName == "modelctl-fixtures" && info.producerVersion == "1")
        #expect(info.graphName == "tiny-classifier")
        #expect(
            info.inputs == [
                .init(name: "input", elementType: "float", shape: [.symbol("N"), .value(3), .value(224), .value(224)])
            ]
        )
        #expect(info.outputs == [.init(name: "logits", elementType: "float", shape: [.symbol("N"), .value(10)])])
        #expect(info.parameterCount == 8 * 3 * 3 * 3 + 8 + 8 * 10)
        #expect(info.fileSize == Int64(try Data(contentsOf: url).count))
    }

    @Test func initializersListedAsInputsAreWeightsNotInputs() throws {
        let info = try ONNXInspector().inspect(Self.fixtures.appending(path: "legacy-inputs.onnx"))
        #expect(info.irVersion == 3)
        #expect(info.opsets == [.init(domain: "", version: 9), .init(domain: "com.microsoft", version: 1)])
        #expect(info.inputs.map(\.name) == ["x"])
        #expect(info.inputs.first?.elementType == "uint8")
        #expect(info.inputs.first?.shape == [.value(1), .value(224), .value(224), .value(3)])
        #expect(info.outputs.first?.shape == nil)
        #expect(info.parameterCount == 16)
    }

    @Test func truncatedFilesAreRefusedAtEveryCut() async throws {
        let bytes = try Data(contentsOf: Self.fixtures.appending(path: "tiny-classifier.onnx"))
        try await withTemporaryDirectory { directory in
            // Every prefix that cuts the graph message short must be refused, never read as a smaller model
            for cut in 1..<bytes.count {
                let url = directory.appending(path: "cut-\(cut).onnx")
                try bytes.prefix(cut).write(to: url)
                #expect(throws: PackagerError.self, "cut at \(cut)") { _ = try ONNXInspector().inspect(url) }
            }
        }
    }

    @Test func nonONNXBytesAreRefusedWithTheFileName() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "weights.onnx")
            try Data("{\"not\": \"protobuf\"}".utf8).write(to: url)
            #expect {
                _ = try ONNXInspector().inspect(url)
            } throws: { error in
                let error = try #require(error as? PackagerError)
                return error.code == .invalidArgument
                    && error.message.contains("weights.onnx is not a valid ONNX model")
            }
            #expect { _ = try ONNXInspector().inspect(directory.appending(path: "missing.onnx")) } throws: {
                ($0 as? PackagerError)?.code == .notFound
            }
        }
    }
}
