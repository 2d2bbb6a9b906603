import Foundation
import Packager
import TestSupport
import Testing

@Suite struct SafetensorsInspectorTests {
    static func header(_ json: String, data: Int) -> Data {
        let bytes = Array(json.utf8)
        let length = UInt64(bytes.count)
        return Data(
            (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + bytes + [UInt8](repeating: 0, count: data)
        )
    }

    // MARK: Tests

    @Test func readsTensorsDtypesShapesAndMetadataFromTheRealFormat() throws {
        // Given a file written by the safetensors package (scripts/make-fixtures.py)
        let url = ONNXInspectorTests.fixtures.appending(path: "tiny.safetensors")
        // When it is inspected
        let info = try SafetensorsInspector().inspect(url)
        // Then names, dtypes, shapes, metadata and the parameter count match what was written
        #expect(
            info.tensors == [
                .init(name: "encoder.bias", dtype: "F16", shape: [3]),
                .init(name: "encoder.weight", dtype: "F32", shape: [3, 4]),
            ]
        )
        #expect(info.metadata == ["format": "np", "source": "modelctl-fixtures"])
        #expect(info.parameterCount == 15)
        #expect(info.fileSize == 262)
    }

    @Test(
        arguments: [
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, 8, "'w' (F32 [2]) does not fit"),
            (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 8, "'w' (F32 [4]) does not fit"),
            (#"{"w":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}"#, 1, "unknown dtype 'Q9'"),
            (#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, 4, "'w' lacks dtype"),
            (#"[1, 2]"#, 0, "header is not a JSON object"),
        ]
    )
    func inconsistentHeadersAreRefusedNamingTheTensor(_ json: String, data: Int, fragment: String) async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "bad.safetensors")
            try Self.header(json, data: data).write(to: url)
            #expect {
                _ = try SafetensorsInspector().inspect(url)
            } throws: { error in
                let error = try #require(error as? PackagerError)
                return error.code == .invalidArgument && error.message.contains(fragment)
            }
        }
    }

    @Test func aHeaderLengthBeyondTheFileIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "short.safetensors")
            var bytes = Self.header(#"{}"#, data: 0)
            bytes[0] = 0xFF
            try bytes.write(to: url)
            #expect { _ = try SafetensorsInspector().inspect(url) } throws: {
                "\($0)".contains("header length 255 exceeds the file")
            }
        }
    }
}
