import CArchive
import Foundation
import Packager
import TestSupport
import Testing

@Suite struct FormatDetectorTests {
    /// Writes files (path → bytes) under `directory` and returns them as candidates.
    static func candidates(_ files: [String: [UInt8]], in directory: URL) throws -> [FormatDetector.Candidate] {
        try files.keys.sorted().map { path in
            let url = directory.appending(path: path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(files[path]!).write(to: url)
            return FormatDetector.Candidate(path: path, location: url)
        }
    }

    /// A zip archive written with libarchive, holding the given entry names with small contents.
    static func zip(entries: [String], at url: URL) throws {
        let archive = try #require(archive_write_new())
        defer { archive_write_free(archive) }
        archive_write_set_format_zip(archive)
        #expect(archive_write_open_filename(archive, url.path) == ARCHIVE_OK)
        for name in entries {
            let entry = try #require(archive_entry_new())
            defer { archive_entry_free(entry) }
            let content = Array("content of \(name)".utf8)
            archive_entry_set_pathname(entry, name)
            archive_entry_set_size(entry, Int64(content.count))
            archive_entry_set_filetype(entry, carchive_filetype_regular())
            archive_entry_set_perm(entry, 0o644)
            archive_write_header(archive, entry)
            _ = content.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
        }
        archive_write_close(archive)
    }

    static func safetensors(header: String, payload: Int) -> [UInt8] {
        let json = Array(header.utf8)
        let length = UInt64(json.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + json
            + [UInt8](repeating: 0, count: payload)
    }

    // MARK: Tests

    @Test func recognisesEachFormatByItsBytesAndLayout() async throws {
        try await withTemporaryDirectory { directory in
            let detector = FormatDetector()
            let hdf5: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)
            #expect(
                detector.detect(try Self.candidates(["model.h5": hdf5], in: directory.appending(path: "h5"))) == .hdf5
            )

            let tensors = Self.safetensors(
                header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                payload: 8
            )
            #expect(
                detector.detect(
                    try Self.candidates(["model.safetensors": tensors], in: directory.appending(path: "st"))
                ) == .safetensors
            )

            let onnx: [UInt8] = [0x08, 0x07, 0x12, 0x04] + Array("test".utf8)
            #expect(
                detector.detect(try Self.candidates(["resnet.onnx": onnx], in: directory.appending(path: "onnx")))
                    == .onnx
            )

            let saved = try Self.candidates(
                [
                    "saved_model.pb": [0x08, 0x01], "variables/variables.index": [1],
                    "variables/variables.data-00000-of-00001": [2],
                ],
                in: directory.appending(path: "saved")
            )
            #expect(detector.detect(saved) == .savedmodel)

            let torch = directory.appending(path: "model.pt")
            try Self.zip(
                entries: ["model/data.pkl", "model/code/__torch__.py", "model/constants.pkl", "model/version"],
                at: torch
            )
            #expect(detector.detect([FormatDetector.Candidate(path: "model.pt", location: torch)]) == .torchscript)
        }
    }

    @Test func lookalikesAreCustom() async throws {
        try await withTemporaryDirectory { directory in
            let detector = FormatDetector()
            // An .onnx name with bytes that are not a protobuf tag
            #expect(
                detector.detect(
                    try Self.candidates(["x.onnx": Array("{not protobuf".utf8)], in: directory.appending(path: "a"))
                ) == .custom
            )
            // A protobuf-looking file without the .onnx name
            #expect(
                detector.detect(try Self.candidates(["weights.bin": [0x08, 0x07]], in: directory.appending(path: "b")))
                    == .custom
            )
            // A safetensors header length that points past the end of the file
            var truncated = Self.safetensors(header: #"{"w":{}}"#, payload: 0)
            truncated[0] = 0xFF
            #expect(
                detector.detect(try Self.candidates(["m.safetensors": truncated], in: directory.appending(path: "c")))
                    == .custom
            )
            // saved_model.pb without variables/
            #expect(
                detector.detect(
                    try Self.candidates(["saved_model.pb": [0x08, 0x01]], in: directory.appending(path: "d"))
                ) == .custom
            )
            // A zip that is not TorchScript
            let plain = directory.appending(path: "e.zip")
            try Self.zip(entries: ["readme.txt", "data/constants.txt"], at: plain)
            #expect(detector.detect([FormatDetector.Candidate(path: "e.zip", location: plain)]) == .custom)
            // Empty files
            #expect(
                detector.detect(try Self.candidates(["empty.onnx": []], in: directory.appending(path: "f"))) == .custom
            )
        }
    }
}
