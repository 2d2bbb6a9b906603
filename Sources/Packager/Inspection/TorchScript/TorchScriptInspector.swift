import CArchive
public import Foundation

/// Lists a TorchScript archive (the zip `torch.jit.save` writes) with libarchive, without extracting it.
///
/// The zip's central directory gives every entry's name and uncompressed size; only the tiny `version` and
/// `byteorder` records are read, at most ``maxRecordBytes`` each. Tensor storages, pickles and code are not read, so
/// memory stays small whatever the archive's size. The reader is libarchive's seekable zip reader, which starts from
/// the central directory at the end of the file: a truncated archive has none and is refused.
///
/// Every entry must sit in one top-level folder (as PyTorch requires). Entries with an absolute path or a `..`
/// component, links and special files are refused, naming the entry; nothing is ever written or followed.
public struct TorchScriptInspector: Sendable {
    /// Most entries listed before the archive is refused.
    public static let maxEntries = 100_000
    /// Largest `version` or `byteorder` record read.
    public static let maxRecordBytes = 64

    /// Creates an inspector; it holds no state.
    public init() {}

    /// - Throws: ``PackagerError`` `notFound` when the file does not exist; `invalidArgument` when it is not a zip, is
    ///   truncated, or has an entry with an unsafe path, a link, entries outside one top-level folder, more than
    ///   ``maxEntries`` entries or an oversized record. Each message names the file and, where one is at fault, the
    ///   entry.
    public func inspect(_ url: URL) throws -> TorchScriptInfo {
        let name = url.lastPathComponent
        let size = try FileSize.of(url)
        guard let archive = archive_read_new() else { throw PackagerError.io("libarchive cannot allocate a reader") }
        defer { archive_read_free(archive) }
        archive_read_support_format_zip_seekable(archive)
        guard archive_read_open_filename(archive, url.path, 64 * 1024) == ARCHIVE_OK else {
            throw PackagerError.invalid(
                "\(name) is not a TorchScript archive: it is not a complete zip file (\(Self.errorText(archive)))"
            )
        }

        var info = TorchScriptInfo(
            rootFolder: "",
            version: nil,
            byteOrder: nil,
            hasConstants: false,
            hasData: false,
            codeFiles: [],
            codeEntryCount: 0,
            tensorStorageCount: 0,
            tensorStorageSize: 0,
            extraFiles: [],
            entryCount: 0,
            fileSize: size
        )
        var dataVersion: String?
        var entry: OpaquePointer?
        var examined = 0
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw PackagerError.invalid(
                    "\(name): cannot read the zip entry after \(examined) entries (\(Self.errorText(archive)))"
                )
            }
            examined += 1
            guard examined <= Self.maxEntries else {
                throw PackagerError.invalid("\(name) has more than \(Self.maxEntries) entries; refusing to list it")
            }
            guard let path = (archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry)).map(String.init)
            else {
                throw PackagerError.invalid("\(name): zip entry \(examined) has no readable name")
            }
            let components = path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init)
            guard !path.hasPrefix("/"), !path.hasPrefix("\\"), !components.contains(".."),
                components.first?.contains(":") != true
            else {
                throw PackagerError.invalid(
                    "\(name): entry '\(path)' has an absolute path or a '..' component; refusing the archive"
                )
            }
            let type = archive_entry_filetype(entry)
            if type == carchive_filetype_directory() { continue }
            guard type == carchive_filetype_regular(), archive_entry_hardlink(entry) == nil else {
                throw PackagerError.invalid("\(name): entry '\(path)' is a link or special file; refusing the archive")
            }
            guard components.count >= 2 else {
                throw PackagerError.invalid(
                    "\(name): entry '\(path)' is not inside a folder, as every TorchScript entry is"
                )
            }
            if info.entryCount == 0 {
                info.rootFolder = components[0]
            } else if components[0] != info.rootFolder {
                throw PackagerError.invalid(
                    "\(name): entries lie in several top-level folders ('\(info.rootFolder)' and '\(components[0])'); a TorchScript archive has one"
                )
            }
            info.entryCount += 1

            let inner = components.dropFirst().joined(separator: "/")
            switch inner {
            case "version": info.version = try readRecord(archive, entry, path: path, in: name)
            case ".data/version": dataVersion = try readRecord(archive, entry, path: path, in: name)
            case "byteorder": info.byteOrder = try readRecord(archive, entry, path: path, in: name)
            case "constants.pkl": info.hasConstants = true
            case "data.pkl": info.hasData = true
            case _ where inner.hasPrefix("code/"):
                info.codeEntryCount += 1
                if inner.hasSuffix(".py") { info.codeFiles.append(String(inner.dropFirst("code/".count))) }
            case _ where inner.hasPrefix("data/"):
                info.tensorStorageCount += 1
                info.tensorStorageSize += try uncompressedSize(archive, entry, path: path, in: name)
            case _ where inner.hasPrefix("extra/"):
                info.extraFiles.append(String(inner.dropFirst("extra/".count)))
            default: break
            }
        }
        guard info.entryCount > 0 else { throw PackagerError.invalid("\(name) is a zip archive without files") }
        info.version = info.version ?? dataVersion
        info.codeFiles.sort()
        info.extraFiles.sort()
        return info
    }

    /// A small text record's content, trimmed; refuses one larger than ``maxRecordBytes``.
    private func readRecord(
        _ archive: OpaquePointer,
        _ entry: OpaquePointer,
        path: String,
        in name: String
    ) throws
        -> String
    {
        let limit = Self.maxRecordBytes
        if archive_entry_size_is_set(entry) != 0, archive_entry_size(entry) > Int64(limit) {
            throw PackagerError.invalid(
                "\(name): '\(path)' is \(archive_entry_size(entry)) bytes; such a record holds a few bytes"
            )
        }
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let read = buffer.withUnsafeMutableBytes { bytes in
                archive_read_data(archive, bytes.baseAddress! + count, limit + 1 - count)
            }
            guard read >= 0 else {
                throw PackagerError.invalid("\(name): cannot read '\(path)' (\(Self.errorText(archive)))")
            }
            if read == 0 { break }
            count += read
        }
        guard count <= limit else {
            throw PackagerError.invalid(
                "\(name): '\(path)' is longer than \(limit) bytes; such a record holds a few bytes"
            )
        }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The entry's uncompressed size, from the zip directory or, when it does not state one, by reading the data
    /// through a small buffer.
    private func uncompressedSize(
        _ archive: OpaquePointer,
        _ entry: OpaquePointer,
        path: String,
        in name: String
    )
        throws -> Int64
    {
        if archive_entry_size_is_set(entry) != 0 { return max(archive_entry_size(entry), 0) }
        var total: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let read = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            guard read >= 0 else {
                throw PackagerError.invalid("\(name): cannot read '\(path)' (\(Self.errorText(archive)))")
            }
            if read == 0 { return total }
            total += Int64(read)
        }
    }

    private static func errorText(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "no detail from libarchive"
    }
}
