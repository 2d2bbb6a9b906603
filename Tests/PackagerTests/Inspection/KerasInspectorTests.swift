import Foundation
import Packager
import TestSupport
import Testing

@Suite struct KerasInspectorTests {
    /// Real HDF5 files written by h5py in Keras's layout (scripts/make-fixtures.py).
    static func fixture(_ name: String) -> URL { ONNXInspectorTests.fixtures.appending(path: name) }

    /// Expects a `PackagerError` of `code` whose message contains every fragment.
    static func expectRefusal(
        _ url: URL,
        _ code: PackagerError.Code = .invalidArgument,
        _ fragments: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(sourceLocation: sourceLocation) {
            _ = try KerasInspector().inspect(url)
        } throws: { error in
            let error = try #require(error as? PackagerError)
            return error.code == code && fragments.allSatisfy { error.message.contains($0) }
        }
    }

    // MARK: Tests

    @Test func readsAKeras2FunctionalModel() throws {
        // Given what tf.keras 2.15 writes for model.save("x.h5"): variable-length string attributes
        let url = Self.fixture("tiny-keras.h5")
        // When it is inspected
        let info = try KerasInspector().inspect(url)
        // Then the attributes, the config's outline and the weights' element count are reported
        #expect(
            info
                == KerasModelInfo(
                    kerasVersion: "2.15.0",
                    backend: "tensorflow",
                    className: "Functional",
                    modelName: "tiny_cnn",
                    layerCount: 4,
                    inputs: [
                        .init(
                            name: "input_1",
                            dtype: "float32",
                            shape: [.unknown, .value(224), .value(224), .value(3)]
                        )
                    ],
                    parameterCount: 3 * 3 * 3 * 8 + 8 + 8 * 10 + 10,
                    fileSize: Int64(try Data(contentsOf: url).count)
                )
        )
        #expect(info.isKerasModel)
    }

    @Test func readsAKeras3SequentialModelWithFixedLengthStrings() throws {
        // Given a Keras 3 Sequential config (batch_shape, DTypePolicy) in fixed-length string attributes
        let info = try KerasInspector().inspect(Self.fixture("tiny-keras3-sequential.h5"))
        // Then the fixed-length strings come back without padding, and the InputLayer's batch_shape is the input
        #expect(info.kerasVersion == "3.6.0")
        #expect(info.backend == "jax")
        #expect(info.className == "Sequential")
        #expect(info.modelName == "sequential")
        #expect(info.layerCount == 3)
        #expect(
            info.inputs == [
                .init(name: "pixels", dtype: "float32", shape: [.unknown, .value(8), .value(8), .value(1)])
            ]
        )
        #expect(info.parameterCount == Int64(64 * 10 + 10))
    }

    @Test func plainHDF5IsReportedWithoutKerasFields() throws {
        // Given an HDF5 file without Keras's root attributes
        let url = Self.fixture("plain.h5")
        // When it is inspected
        let info = try KerasInspector().inspect(url)
        // Then it is plain HDF5, not an error
        #expect(info == KerasModelInfo(fileSize: Int64(try Data(contentsOf: url).count)))
        #expect(!info.isKerasModel)
    }

    @Test func truncatedFilesAreRefusedNamingTheFile() async throws {
        let bytes = try Data(contentsOf: Self.fixture("tiny-keras.h5"))
        try await withTemporaryDirectory { directory in
            // Cuts inside the signature, the superblock, the object headers, the heaps and the last byte
            for cut in [1, 7, 8, 40, 96, 512, 800, 2048, 4000, bytes.count / 2, bytes.count - 100, bytes.count - 1] {
                let url = directory.appending(path: "tiny-keras.h5")
                try bytes.prefix(cut).write(to: url)
                Self.expectRefusal(url, .invalidArgument, "tiny-keras.h5")
            }
        }
    }

    @Test func nonHDF5AndMissingFilesAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let text = directory.appending(path: "weights.h5")
            try Data("not an HDF5 file, just text that is long enough to hold a superblock".utf8).write(to: text)
            Self.expectRefusal(text, .invalidArgument, "weights.h5 is not an HDF5 file")
            Self.expectRefusal(directory.appending(path: "missing.h5"), .notFound, "missing.h5")
        }
    }

    @Test func aModelConfigThatIsNotJSONIsRefused() async throws {
        // Given the Keras 2 fixture with the first byte of its model_config JSON overwritten (HDF5 0 keeps no
        // checksums over the global heap that holds it)
        var bytes = try Data(contentsOf: Self.fixture("tiny-keras.h5"))
        let json = Data(#"{"class_name": "Functional""#.utf8)
        let range = try #require(bytes.firstRange(of: json))
        bytes[range.lowerBound] = UInt8(ascii: "!")
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "broken.h5")
            try bytes.write(to: url)
            // Then the file is refused, naming the attribute
            Self.expectRefusal(url, .invalidArgument, "broken.h5", "'model_config'")
        }
    }

    @Test func concurrentInspectionsAreSerialisedSafely() async throws {
        // libhdf5's serial build is not thread-safe: the inspector takes a process-wide lock
        let url = Self.fixture("tiny-keras.h5")
        let expected = try KerasInspector().inspect(url)
        try await withThrowingTaskGroup(of: KerasModelInfo.self) { group in
            for index in 0..<32 {
                group.addTask {
                    try KerasInspector().inspect(index.isMultiple(of: 2) ? url : Self.fixture("plain.h5"))
                }
            }
            var keras = 0
            for try await info in group where info.isKerasModel {
                #expect(info == expected)
                keras += 1
            }
            #expect(keras == 16)
        }
    }
}
