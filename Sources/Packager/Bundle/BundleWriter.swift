import CArchive
import Crypto
public import Foundation

/// Writes reproducible bundles: a tar archive, zstd-compressed by default, whose first entry is `manifest.json`.
///
/// Entry order is fixed (`manifest.json`, `preprocessing.json`, the model files in component-wise byte order,
/// `model.sig`), and every entry has mtime 0, uid/gid 0, no owner names and mode 0644, so the same inputs give
/// byte-identical bundles. File contents are streamed in 1 MiB chunks; memory does not grow with file size. Each file
/// is hashed again as it is written, so a file that changed since the manifest was made fails the write instead of
/// giving a bundle that does not verify. The bundle is written to a temporary file beside `output` and renamed into
/// place only when complete.
public struct BundleWriter: Sendable {
    public enum Compression: String, Sendable, CaseIterable {
        /// `.tar.zst`
        case zstd
        /// `.tar`
        case none
    }

    public var compression: Compression

    public init(compression: Compression = .zstd) {
        self.compression = compression
    }

    /// Writes a bundle.
    ///
    /// - Parameters:
    ///   - manifest: the manifest; every file it lists is read from `sourceDirectory` at its `path`.
    ///   - preprocessing: bytes of `preprocessing.json`, required when the manifest has a preprocessing spec.
    ///   - signature: bytes of `model.sig`, if the bundle is signed.
    ///   - output: the bundle file to create; an existing file is replaced atomically.
    ///   - progress: called with the number of model-file bytes just written, after each chunk.
    /// - Throws: ``PackagerError`` `invalidArgument` for a bad path or a missing preprocessing file,
    ///   `integrityFailure` when a file's size changed since the manifest was made, `io` when writing fails.
    public func write(
        manifest: BundleManifest,
        preprocessing: Data?,
        sourceDirectory: URL,
        signature: Data?,
        to output: URL,
        progress: ((Int64) -> Void)? = nil
    ) throws {
        if manifest.preprocessing != nil || preprocessing != nil {
            guard let preprocessing, let manifestSpec = manifest.preprocessing else {
                throw PackagerError.invalid(
                    "preprocessing.json and the manifest's preprocessing spec must be given together"
                )
            }
            guard (try? JSONDecoder().decode(JSONValue.self, from: preprocessing)) == manifestSpec else {
                throw PackagerError.invalid("preprocessing.json differs from the preprocessing spec in the manifest")
            }
        }
        let reserved: Set = [
            BundleManifest.manifestName, BundleManifest.preprocessingName, BundleManifest.signatureName,
        ]
        for file in manifest.files {
            if let problem = BundlePath.problem(with: file.path) {
                throw PackagerError.invalid("cannot bundle '\(file.path)': \(problem)")
            }
            if reserved.contains(file.path) {
                throw PackagerError.invalid("cannot bundle a model file named '\(file.path)': the name is reserved")
            }
        }
        let temporary = output.deletingLastPathComponent()
            .appending(path: ".\(output.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        do {
            try writeArchive(manifest, preprocessing, sourceDirectory, signature, temporary.path, progress)
            guard rename(temporary.path, output.path) == 0 else {
                throw PackagerError.io(
                    "cannot move the bundle into place at \(output.path): \(String(cString: strerror(errno)))"
                )
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    private func writeArchive(
        _ manifest: BundleManifest,
        _ preprocessing: Data?,
        _ sourceDirectory: URL,
        _ signature: Data?,
        _ path: String,
        _ progress: ((Int64) -> Void)?
    ) throws {
        guard let archive = archive_write_new() else {
            throw PackagerError.io("libarchive could not allocate a writer")
        }
        defer { archive_write_free(archive) }
        try check(archive, archive_write_set_format_pax_restricted(archive), "set the tar format")
        if compression == .zstd {
            try check(archive, archive_write_add_filter_zstd(archive), "enable zstd")
        }
        // No padding of the last block beyond the tar standard: the output depends only on the entries.
        try check(archive, archive_write_set_bytes_in_last_block(archive, 1), "set the block padding")
        try check(archive, archive_write_open_filename(archive, path), "create \(path)")

        try writeEntry(archive, name: BundleManifest.manifestName, data: try manifest.encoded())
        if let preprocessing {
            try writeEntry(archive, name: BundleManifest.preprocessingName, data: preprocessing)
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for file in manifest.files.sorted(by: { BundlePath.precedes($0.path, $1.path) }) {
            let url = sourceDirectory.appending(path: file.path)
            try writeFile(archive, file: file, from: url, buffer: &buffer, progress: progress)
        }
        if let signature {
            try writeEntry(archive, name: BundleManifest.signatureName, data: signature)
        }
        try check(archive, archive_write_close(archive), "finish the bundle")
    }

    private func header(_ archive: OpaquePointer, name: String, size: Int64) throws {
        guard let entry = archive_entry_new() else { throw PackagerError.io("libarchive could not allocate an entry") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, name)
        archive_entry_set_size(entry, size)
        archive_entry_set_filetype(entry, carchive_filetype_regular())
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, 0, 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        try check(archive, archive_write_header(archive, entry), "write the header of '\(name)'")
    }

    private func writeEntry(_ archive: OpaquePointer, name: String, data: Data) throws {
        try header(archive, name: name, size: Int64(data.count))
        try data.withUnsafeBytes { bytes in
            guard bytes.count == 0 || archive_write_data(archive, bytes.baseAddress, bytes.count) == bytes.count else {
                throw PackagerError.io("cannot write '\(name)': \(Self.message(archive))")
            }
        }
    }

    private func writeFile(
        _ archive: OpaquePointer,
        file: BundleManifest.File,
        from url: URL,
        buffer: inout [UInt8],
        progress: ((Int64) -> Void)?
    ) throws {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw PackagerError.notFound(
                "cannot read '\(file.path)' at \(url.path): \(String(cString: strerror(errno)))"
            )
        }
        defer { close(descriptor) }
        try header(archive, name: file.path, size: file.size)
        var written: Int64 = 0
        var hasher = SHA256()
        while written <= file.size {
            let capacity = buffer.count
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, capacity) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PackagerError.io("cannot read '\(file.path)': \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            written += Int64(count)
            guard written <= file.size else { break }
            try buffer.withUnsafeBytes { bytes in
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                guard archive_write_data(archive, bytes.baseAddress, count) == count else {
                    throw PackagerError.io("cannot write '\(file.path)': \(Self.message(archive))")
                }
            }
            progress?(Int64(count))
        }
        guard written == file.size else {
            throw PackagerError(
                .integrityFailure,
                "'\(file.path)' changed while it was being bundled: the manifest says \(file.size) bytes, the file has \(written > file.size ? "more" : String(written))"
            )
        }
        let digest = Hex.encode(hasher.finalize())
        guard digest == file.sha256.lowercased() else {
            throw PackagerError(
                .integrityFailure,
                "'\(file.path)' changed while it was being bundled: its SHA-256 is now \(digest), the manifest says \(file.sha256)"
            )
        }
    }

    private func check(_ archive: OpaquePointer, _ status: Int32, _ action: String) throws {
        guard status == ARCHIVE_OK else { throw PackagerError.io("cannot \(action): \(Self.message(archive))") }
    }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
