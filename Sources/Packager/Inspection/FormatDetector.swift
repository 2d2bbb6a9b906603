import CArchive
public import Foundation

/// Recognises a model's format from the magic bytes and layout of its files.
///
/// Detection is shallow on purpose: it reads at most a few kilobytes of each candidate file (and, for zip
/// archives, their directory through libarchive). It does not parse the model; deep inspection is a separate step.
///
/// Rules, in order:
/// - **savedmodel**: a `saved_model.pb` file, with `variables/` files beside it.
/// - **onnx**: a `.onnx` file whose first byte is a protobuf tag (field 1..8, varint or length-delimited).
/// - **hdf5**: a file starting with the HDF5 signature `\x89HDF\r\n\x1a\n`.
/// - **safetensors**: a file starting with a little-endian 64-bit header length followed by `{`, the header
///   fitting inside the file.
/// - **torchscript**: a zip archive containing `code/` entries and a `constants.pkl`.
/// - **custom**: anything else.
public struct FormatDetector: Sendable {
    /// A file to look at: its path inside the version and where its bytes are on disk.
    public struct Candidate: Sendable {
        public var path: String
        public var location: URL

        public init(path: String, location: URL) {
            self.path = path
            self.location = location
        }
    }

    public init() {}

    /// Detects the format of a set of files.
    public func detect(_ files: [Candidate]) -> ModelFormat {
        let paths = Set(files.map(\.path))
        for file in files where (file.path as NSString).lastPathComponent == "saved_model.pb" {
            let directory = (file.path as NSString).deletingLastPathComponent
            let variables = directory.isEmpty ? "variables/" : directory + "/variables/"
            if paths.contains(where: { $0.hasPrefix(variables) }) { return .savedmodel }
        }
        for file in files {
            if let format = detect(file) { return format }
        }
        return .custom
    }

    /// Detects the format of one file, or `nil` if it is not recognisable on its own.
    public func detect(_ file: Candidate) -> ModelFormat? {
        guard let prefix = try? Self.readPrefix(of: file.location, count: 16), !prefix.isEmpty else { return nil }
        let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        if prefix.starts(with: hdf5Signature) { return .hdf5 }
        if prefix.count >= 9, prefix[8] == UInt8(ascii: "{") {
            let headerLength = prefix[0..<8].enumerated().reduce(UInt64(0)) {
                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: file.location.path)[.size] as? UInt64) ?? 0
            if headerLength > 1, headerLength <= size - 8 { return .safetensors }
        }
        if file.path.lowercased().hasSuffix(".onnx"), let tag = prefix.first {
            let field = tag >> 3
            let wireType = tag & 0x7
            if (1...8).contains(field), wireType == 0 || wireType == 2 { return .onnx }
        }
        if prefix.starts(with: [0x50, 0x4B, 0x03, 0x04]), Self.isTorchScriptArchive(file.location) {
            return .torchscript
        }
        return nil
    }

    static func readPrefix(of url: URL, count: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }

    /// Lists the zip's entries with libarchive and looks for TorchScript's `code/` directory and `constants.pkl`.
    static func isTorchScriptArchive(_ url: URL) -> Bool {
        guard let archive = archive_read_new() else { return false }
        defer { archive_read_free(archive) }
        archive_read_support_format_zip(archive)
        guard archive_read_open_filename(archive, url.path, 64 * 1024) == ARCHIVE_OK else { return false }
        var hasCode = false
        var hasConstants = false
        var entry: OpaquePointer?
        var examined = 0
        while examined < 100_000, archive_read_next_header(archive, &entry) == ARCHIVE_OK {
            examined += 1
            guard let entry, let name = archive_entry_pathname(entry).map({ String(cString: $0) }) else { continue }
            let components = name.split(separator: "/")
            if components.contains("code") { hasCode = true }
            if components.last == "constants.pkl" { hasConstants = true }
            if hasCode && hasConstants { return true }
            archive_read_data_skip(archive)
        }
        return false
    }
}
