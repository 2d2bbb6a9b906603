import Foundation
import Packager
import TestSupport
import Testing

@Suite struct SavedModelInspectorTests {
    /// saved_model.pb hand-encoded to TensorFlow's published protos, with placeholder variables
    /// (scripts/make-fixtures.py).
    static let fixture = ONNXInspectorTests.fixtures.appending(path: "tiny-savedmodel")

    static let expected = SavedModelInfo(
        schemaVersion: 1,
        metaGraphs: [
            .init(
                tags: ["serve"],
                tensorflowVersion: "2.15.0",
                tensorflowGitVersion: "v2.15.0-2-g0b15fdfcb3f",
                signatures: [
                    .init(
                        name: "__saved_model_init_op",
                        methodName: "",
                        inputs: [],
                        outputs: [.init(key: "__saved_model_init_op", name: "NoOp", dtype: "invalid", shape: nil)]
                    ),
                    .init(
                        name: "serving_default",
                        methodName: "tensorflow/serving/predict",
                        inputs: [
                            .init(
                                key: "input_1",
                                name: "serving_default_input_1:0",
                                dtype: "float",
                                shape: [.unknown, .value(224), .value(224), .value(3)]
                            )
                        ],
                        outputs: [
                            .init(
                                key: "dense",
                                name: "StatefulPartitionedCall:0",
                                dtype: "float",
                                shape: [.unknown, .value(10)]
                            )
                        ]
                    ),
                ]
            )
        ],
        savedModelSize: 328,
        variablesFileCount: 2,
        variablesSize: 54 + 314 * 4
    )

    /// A copy of the fixture's files, of which `body` may change some, under `directory/name`.
    static func copyFixture(to directory: URL, name: String = "model") throws -> URL {
        let copy = directory.appending(path: name)
        try FileManager.default.copyItem(at: fixture, to: copy)
        return copy
    }

    static func expectRefusal(
        _ url: URL,
        _ code: PackagerError.Code,
        _ fragments: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(sourceLocation: sourceLocation) {
            _ = try SavedModelInspector().inspect(url)
        } throws: { error in
            let error = try #require(error as? PackagerError)
            return error.code == code && fragments.allSatisfy { error.message.contains($0) }
        }
    }

    // MARK: Tests

    @Test func readsTagsVersionsAndSignatures() throws {
        // When the fixture directory is inspected
        let info = try SavedModelInspector().inspect(Self.fixture)
        // Then every meta graph field and signature matches what the generator encoded, in key order
        #expect(info == Self.expected)
    }

    @Test func acceptsThePathOfSavedModelPb() throws {
        #expect(try SavedModelInspector().inspect(Self.fixture.appending(path: "saved_model.pb")) == Self.expected)
    }

    @Test func anIncompleteLayoutIsRefusedNamingWhatIsMissing() async throws {
        try await withTemporaryDirectory { directory in
            // Given a SavedModel without variables/
            let noVariables = try Self.copyFixture(to: directory, name: "no-variables")
            try FileManager.default.removeItem(at: noVariables.appending(path: "variables"))
            Self.expectRefusal(noVariables, .notFound, "no-variables", "no variables/ directory")

            // Given one without saved_model.pb
            let noModel = try Self.copyFixture(to: directory, name: "no-model")
            try FileManager.default.removeItem(at: noModel.appending(path: "saved_model.pb"))
            Self.expectRefusal(noModel, .notFound, "no-model", "no saved_model.pb")

            // Given the text form only
            try Data("saved_model_schema_version: 1".utf8).write(to: noModel.appending(path: "saved_model.pbtxt"))
            Self.expectRefusal(noModel, .unsupported, "saved_model.pbtxt")

            // Given a link under variables/
            let linked = try Self.copyFixture(to: directory, name: "linked")
            try FileManager.default.createSymbolicLink(
                atPath: linked.appending(path: "variables/extra.index").path,
                withDestinationPath: "/etc/passwd"
            )
            Self.expectRefusal(linked, .unsupported, "linked/variables/extra.index")

            Self.expectRefusal(directory.appending(path: "missing"), .notFound, "missing")
        }
    }

    @Test func truncatedSavedModelPbIsRefusedAtEveryCut() async throws {
        let bytes = try Data(contentsOf: Self.fixture.appending(path: "saved_model.pb"))
        try await withTemporaryDirectory { directory in
            let model = try Self.copyFixture(to: directory, name: "cut")
            for cut in 0..<bytes.count {
                try bytes.prefix(cut).write(to: model.appending(path: "saved_model.pb"))
                Self.expectRefusal(model, .invalidArgument, "cut/saved_model.pb is not a valid SavedModel")
            }
        }
    }
}
