import Foundation
import Packager
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct ModelInspectorTests {
    static func fixture(_ name: String) -> URL { ONNXInspectorTests.fixtures.appending(path: name) }

    /// Copies fixtures into `directory` under new relative paths (fixture name → path).
    static func place(_ files: [(String, String)], in directory: URL) throws {
        for (fixture, path) in files {
            let target = directory.appending(path: path)
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try FileManager.default.copyItem(at: Self.fixture(fixture), to: target)
        }
    }

    static func size(_ name: String) throws -> Int64 {
        Int64(try Data(contentsOf: fixture(name)).count)
    }

    static func expectRefusal(
        _ url: URL,
        declaredFormat: ModelFormat? = nil,
        _ code: PackagerError.Code,
        _ fragments: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(sourceLocation: sourceLocation) {
            _ = try ModelInspector().inspect(url, declaredFormat: declaredFormat)
        } throws: { error in
            let error = try #require(error as? PackagerError)
            return error.code == code && fragments.allSatisfy { error.message.contains($0) }
        }
    }

    // MARK: Tests

    @Test func inspectsASavedModelDirectory() async throws {
        try await withTemporaryDirectory { directory in
            // Given a TF Serving layout (version folder 1/) with a README and a top-level .git
            let root = directory.appending(path: "classifier")
            try FileManager.default.copyItem(at: Self.fixture("tiny-savedmodel"), to: root.appending(path: "1"))
            try Data("# classifier\n".utf8).write(to: root.appending(path: "README.md"))
            try FileManager.default.createDirectory(at: root.appending(path: ".git"), withIntermediateDirectories: true)
            try Data("[core]\n".utf8).write(to: root.appending(path: ".git/config"))
            // When it is inspected
            let report = try ModelInspector().inspect(root)
            // Then the files (without .git) are listed in order and the SavedModel is read
            #expect(report.format == .savedmodel)
            #expect(
                report.files == [
                    .init(path: "1/saved_model.pb", size: 328),
                    .init(path: "1/variables/variables.data-00000-of-00001", size: 1256),
                    .init(path: "1/variables/variables.index", size: 54),
                    .init(path: "README.md", size: 13),
                ]
            )
            #expect(report.totalSize == 328 + 1256 + 54 + 13)
            #expect(report.inspectedPaths == ["1/saved_model.pb"])
            #expect(report.savedModel == SavedModelInspectorTests.expected)
            #expect(report.onnx == nil && report.keras == nil && report.safetensors == nil && report.torchScript == nil)
        }
    }

    @Test func inspectsEachFormatAsASingleFile() throws {
        let inspector = ModelInspector()

        let onnx = try inspector.inspect(Self.fixture("tiny-classifier.onnx"))
        #expect(onnx.format == .onnx && onnx.onnx?.graphName == "tiny-classifier")
        #expect(onnx.files == [.init(path: "tiny-classifier.onnx", size: try Self.size("tiny-classifier.onnx"))])
        #expect(onnx.inspectedPaths == ["tiny-classifier.onnx"])

        let safetensors = try inspector.inspect(Self.fixture("tiny.safetensors"))
        #expect(safetensors.format == .safetensors && safetensors.safetensors?.parameterCount == 15)

        let keras = try inspector.inspect(Self.fixture("tiny-keras.h5"))
        #expect(keras.format == .hdf5 && keras.keras?.className == "Functional" && keras.keras?.parameterCount == 314)

        let plain = try inspector.inspect(Self.fixture("plain.h5"))
        #expect(plain.format == .hdf5 && plain.keras?.isKerasModel == false)

        let torch = try inspector.inspect(Self.fixture("tiny-torchscript.pt"))
        #expect(torch.format == .torchscript && torch.torchScript?.rootFolder == "tiny")
        #expect(torch.totalSize == (try Self.size("tiny-torchscript.pt")))
    }

    @Test func mergesSafetensorsShardsAndPicksTheLargestONNXModel() async throws {
        try await withTemporaryDirectory { directory in
            // Given two shards of one checkpoint
            let shards = directory.appending(path: "shards")
            try Self.place(
                [
                    ("tiny.safetensors", "model-00001-of-00002.safetensors"),
                    ("tiny.safetensors", "model-00002-of-00002.safetensors"),
                ],
                in: shards
            )
            let merged = try ModelInspector().inspect(shards)
            // Then both are read and merged
            #expect(merged.format == .safetensors)
            #expect(merged.inspectedPaths == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
            #expect(merged.safetensors?.parameterCount == 30)
            #expect(merged.safetensors?.fileSize == Int64(2 * 262))
            #expect(
                merged.safetensors?.tensors.map(\.name) == [
                    "encoder.bias", "encoder.bias", "encoder.weight", "encoder.weight",
                ]
            )
            #expect(merged.safetensors?.metadata == ["format": "np", "source": "modelctl-fixtures"])

            // Given two ONNX models, the larger one is the main one
            let pair = directory.appending(path: "pair")
            try Self.place([("legacy-inputs.onnx", "a.onnx"), ("tiny-classifier.onnx", "b.onnx")], in: pair)
            let onnx = try ModelInspector().inspect(pair)
            #expect(onnx.inspectedPaths == ["b.onnx"] && onnx.onnx?.graphName == "tiny-classifier")
        }
    }

    @Test func aDeclaredFormatOverridesDetection() async throws {
        try await withTemporaryDirectory { directory in
            // Given a directory holding an ONNX model and a safetensors file (detected as ONNX: it sorts first)
            let mixed = directory.appending(path: "mixed")
            try Self.place(
                [("tiny-classifier.onnx", "model.onnx"), ("tiny.safetensors", "weights.safetensors")],
                in: mixed
            )
            #expect(try ModelInspector().inspect(mixed).format == .onnx)
            // When safetensors is declared, the safetensors file is inspected
            let declared = try ModelInspector().inspect(mixed, declaredFormat: .safetensors)
            #expect(declared.format == .safetensors && declared.onnx == nil)
            #expect(declared.inspectedPaths == ["weights.safetensors"] && declared.safetensors?.parameterCount == 15)
            // And custom is always accepted, without deep inspection
            let custom = try ModelInspector().inspect(Self.fixture("tiny-keras.h5"), declaredFormat: .custom)
            #expect(custom.format == .custom && custom.keras == nil && custom.inspectedPaths.isEmpty)
            #expect(custom.files.map(\.path) == ["tiny-keras.h5"])
        }
    }

    @Test func aDeclaredFormatTheFilesContradictIsRefused() async throws {
        // A safetensors file declared as ONNX, an ONNX model declared as HDF5
        Self.expectRefusal(
            Self.fixture("tiny.safetensors"),
            declaredFormat: .onnx,
            .invalidArgument,
            "declared format 'onnx' does not match tiny.safetensors",
            "they look like safetensors"
        )
        Self.expectRefusal(
            Self.fixture("tiny-classifier.onnx"),
            declaredFormat: .hdf5,
            .invalidArgument,
            "declared format 'hdf5'",
            "look like onnx"
        )
        try await withTemporaryDirectory { directory in
            // A declared ONNX model that does not parse, beside a safetensors file
            let broken = directory.appending(path: "broken")
            try Self.place([("tiny.safetensors", "a.safetensors")], in: broken)
            let onnx = try Data(contentsOf: Self.fixture("tiny-classifier.onnx"))
            try onnx.prefix(100).write(to: broken.appending(path: "model.onnx"))
            Self.expectRefusal(
                broken,
                declaredFormat: .onnx,
                .invalidArgument,
                "declared format 'onnx' does not match broken",
                "model.onnx is not a valid ONNX model"
            )
            // A declared SavedModel without variables/
            let saved = directory.appending(path: "saved")
            try Self.place([("tiny-savedmodel/saved_model.pb", "saved_model.pb")], in: saved)
            #expect(try ModelInspector().inspect(saved).format == .custom)
            Self.expectRefusal(saved, declaredFormat: .savedmodel, .notFound, "no variables/ directory")
        }
    }

    @Test func linksSpecialFilesAndMissingPathsAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let linked = directory.appending(path: "linked")
            try Self.place(
                [("tiny-classifier.onnx", "model.onnx"), ("tiny.safetensors", "sub/a.safetensors")],
                in: linked
            )
            try FileManager.default.createSymbolicLink(
                atPath: linked.appending(path: "sub/weights.bin").path,
                withDestinationPath: "/etc/passwd"
            )
            Self.expectRefusal(linked, .unsupported, "sub/weights.bin is a symbolic link")

            let special = directory.appending(path: "special")
            try Self.place([("tiny-classifier.onnx", "model.onnx")], in: special)
            #expect(mkfifo(special.appending(path: "pipe").path, 0o600) == 0)
            Self.expectRefusal(special, .unsupported, "pipe is a special file")

            let empty = directory.appending(path: "empty")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            Self.expectRefusal(empty, .invalidArgument, "empty holds no files")
            Self.expectRefusal(directory.appending(path: "missing"), .notFound, "missing does not exist")
        }
    }

    @Test func filesAreSortedComponentWise() async throws {
        try await withTemporaryDirectory { directory in
            for path in ["a.b", "a/c/d", "B", "a/b"] {
                let url = directory.appending(path: path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(),
                    withIntermediateDirectories: true
                )
                try Data(path.utf8).write(to: url)
            }
            let report = try ModelInspector().inspect(directory)
            // `/` sorts before `.` component-wise; upper case before lower case
            #expect(report.files.map(\.path) == ["B", "a/b", "a/c/d", "a.b"])
            #expect(report.format == .custom && report.totalSize == 3 + 5 + 1 + 3)
        }
    }

    @Test func theJSONEncodingIsStableAndRoundTrips() async throws {
        try await withTemporaryDirectory { directory in
            try Self.place(
                [
                    ("tiny.safetensors", "model-00001-of-00002.safetensors"),
                    ("tiny.safetensors", "model-00002-of-00002.safetensors"),
                ],
                in: directory
            )
            let report = try ModelInspector().inspect(directory)
            let first = try report.encodedJSON()
            // Encoding again (and inspecting again) gives the same bytes
            #expect(try ModelInspector().inspect(directory).encodedJSON() == first)
            let text = String(decoding: first, as: UTF8.self)
            #expect(text.contains(#""total_size" : 524"#) && text.contains(#""inspected_paths" : ["#))
            #expect(try JSONDecoder().decode(InspectionReport.self, from: first) == report)

            // Unknown dimensions are null and survive the round trip
            let saved = try ModelInspector().inspect(SavedModelInspectorTests.fixture)
            let json = try saved.encodedJSON(prettyPrinted: false)
            #expect(String(decoding: json, as: UTF8.self).contains(#""shape":[null,224,224,3]"#))
            #expect(try JSONDecoder().decode(InspectionReport.self, from: json) == saved)
        }
    }
}
