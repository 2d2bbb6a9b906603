import CArchive
import Crypto
public import Foundation

/// Reads bundles safely: every entry is checked, hashed and matched against the manifest before anything is
/// written.
///
/// Refused, each with an error naming the entry: a first entry other than `manifest.json`; absolute paths, `..`,
/// empty components, backslashes or control characters; symbolic and hard links; devices, FIFOs and other special
/// files; duplicate entries; entries the manifest does not list; a size or SHA-256 that differs from the manifest;
/// more content than ``Limits/maxTotalBytes`` or a compression ratio above ``Limits/maxCompressionRatio``
/// (decompression bombs). Plain tar and zstd-compressed tar are read; memory does not grow with entry sizes.
public struct BundleReader: Sendable {
    /// Bounds that stop decompression bombs.
    public struct Limits: Sendable {
        /// Most bytes of content a bundle may unpack to.
        public var maxTotalBytes: Int64
        /// Most uncompressed bytes per compressed byte, checked once more than ``ratioGrace`` bytes were read.
        public var maxCompressionRatio: Double
        /// Uncompressed bytes read before the ratio is enforced (small, highly compressible files are fine).
        public var ratioGrace: Int64
        /// Largest `manifest.json` accepted.
        public var maxManifestBytes: Int

        public init(
            maxTotalBytes: Int64 = 1 << 40,
            maxCompressionRatio: Double = 200,
            ratioGrace: Int64 = 64 << 20,
            maxManifestBytes: Int = 16 << 20
        ) {
            self.maxTotalBytes = maxTotalBytes
            self.maxCompressionRatio = maxCompressionRatio
            self.ratioGrace = ratioGrace
            self.maxManifestBytes = maxManifestBytes
        }
    }

    /// What a checked bundle holds.
    public struct Contents: Sendable, Equatable {
        public var manifest: BundleManifest
        /// The exact bytes of `manifest.json` (what a signature covers).
        public var manifestData: Data
        /// Bytes of `preprocessing.json`, when present.
        public var preprocessing: Data?
        /// Bytes of `model.sig`, when the bundle is signed.
        public var signature: Data?
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Checks a bundle completely without writing anything.
    ///
    /// - Throws: ``PackagerError`` `invalidArgument` (unsafe or unlisted entry, bad manifest, bomb),
    ///   `integrityFailure` (size or digest mismatch, missing file), `notFound`, `io`.
    public func check(_ bundle: URL) throws -> Contents {
        try read(bundle, into: nil)
    }

    /// Checks a bundle, then unpacks it into `destination`, which must not exist yet.
    ///
    /// The files are unpacked into a temporary directory beside `destination` and verified again while written;
    /// the directory is renamed to `destination` only when all is complete, so a failure leaves nothing behind.
    public func extract(_ bundle: URL, to destination: URL) throws -> Contents {
        if FileManager.default.fileExists(atPath: destination.path) {
            throw PackagerError(.alreadyExists, "cannot unpack into \(destination.path): it already exists")
        }
        let checked = try read(bundle, into: nil)
        let temporary = destination.deletingLastPathComponent()
            .appending(path: ".\(destination.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
            let written = try read(bundle, into: temporary)
            guard written == checked else {
                throw PackagerError(.integrityFailure, "the bundle \(bundle.path) changed while it was being unpacked")
            }
            guard rename(temporary.path, destination.path) == 0 else {
                throw PackagerError.io(
                    "cannot move the unpacked bundle to \(destination.path): \(String(cString: strerror(errno)))"
                )
            }
            return checked
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    // MARK: Reading

    private func read(_ bundle: URL, into directory: URL?) throws -> Contents {
        guard let archive = archive_read_new() else { throw PackagerError.io("libarchive could not allocate a reader") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_zstd(archive)
        archive_read_support_filter_none(archive)
        archive_read_support_format_tar(archive)
        guard FileManager.default.fileExists(atPath: bundle.path) else {
            throw PackagerError.notFound("bundle \(bundle.path) does not exist")
        }
        guard archive_read_open_filename(archive, bundle.path, 1 << 20) == ARCHIVE_OK else {
            throw PackagerError.invalid(
                "\(bundle.path) is not a bundle (tar or tar.zst): \(BundleWriter.message(archive))"
            )
        }

        var manifest: BundleManifest?
        var manifestData = Data()
        var expected: [String: BundleManifest.File] = [:]
        var seen = Set<String>()
        var preprocessing: Data?
        var signature: Data?
        var total: Int64 = 0
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw PackagerError.invalid("\(bundle.path) is damaged: \(BundleWriter.message(archive))")
            }
            let name = Self.name(of: entry)
            try Self.checkEntryType(entry, name: name)
            if let problem = BundlePath.problem(with: name) {
                throw PackagerError.invalid("bundle entry '\(name)' is refused: \(problem)")
            }
            guard seen.insert(name).inserted else {
                throw PackagerError.invalid("bundle entry '\(name)' appears twice")
            }
            let declared = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : -1

            guard let current = manifest else {
                guard name == BundleManifest.manifestName else {
                    throw PackagerError.invalid(
                        "bundle entry '\(name)' comes first, but a bundle must start with \(BundleManifest.manifestName)"
                    )
                }
                let data = try readSmall(archive, name: name, declared: declared)
                manifest = try Self.decodeManifest(data)
                manifestData = data
                for file in manifest!.files { expected[file.path] = file }
                if let directory { try write(data, to: directory.appending(path: name)) }
                continue
            }

            switch name {
            case BundleManifest.preprocessingName where current.preprocessing != nil:
                preprocessing = try readSmall(archive, name: name, declared: declared)
                guard (try? JSONDecoder().decode(JSONValue.self, from: preprocessing!)) == current.preprocessing else {
                    throw PackagerError(
                        .integrityFailure,
                        "bundle entry '\(name)' differs from the preprocessing spec in \(BundleManifest.manifestName)"
                    )
                }
                if let directory { try write(preprocessing!, to: directory.appending(path: name)) }
            case BundleManifest.signatureName:
                signature = try readSmall(archive, name: name, declared: declared)
                if let directory { try write(signature!, to: directory.appending(path: name)) }
            default:
                guard let file = expected[name] else {
                    throw PackagerError.invalid("bundle entry '\(name)' is not listed in the manifest")
                }
                guard declared == file.size else {
                    throw PackagerError(
                        .integrityFailure,
                        "bundle entry '\(name)' is \(declared) bytes but the manifest says \(file.size)"
                    )
                }
                total += file.size
                guard total <= limits.maxTotalBytes else {
                    throw PackagerError.invalid(
                        "bundle entry '\(name)' takes the content past \(limits.maxTotalBytes) bytes: refused as a decompression bomb"
                    )
                }
                try readFile(archive, file: file, totalBefore: total - file.size, into: directory)
            }
        }
        guard let manifest else {
            throw PackagerError.invalid(
                "\(bundle.path) is empty: a bundle must start with \(BundleManifest.manifestName)"
            )
        }
        let missing = manifest.files.map(\.path).filter { !seen.contains($0) }
        if !missing.isEmpty {
            throw PackagerError(
                .integrityFailure,
                "the bundle lacks files its manifest lists: \(missing.sorted().joined(separator: ", "))"
            )
        }
        if manifest.preprocessing != nil, preprocessing == nil {
            throw PackagerError(
                .integrityFailure,
                "the bundle lacks \(BundleManifest.preprocessingName), which its manifest declares"
            )
        }
        return Contents(
            manifest: manifest,
            manifestData: manifestData,
            preprocessing: preprocessing,
            signature: signature
        )
    }

    /// Streams one model file: hashes it, enforces the declared size and the compression ratio, and writes it when
    /// unpacking.
    private func readFile(
        _ archive: OpaquePointer,
        file: BundleManifest.File,
        totalBefore: Int64,
        into directory: URL?
    )
        throws
    {
        var output: FileHandle?
        if let directory {
            let url = directory.appending(path: file.path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            guard
                FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o644])
            else {
                throw PackagerError.io("cannot create \(url.path)")
            }
            output = try FileHandle(forWritingTo: url)
        }
        defer { try? output?.close() }
        var hasher = SHA256()
        var count: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let read = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if read == 0 { break }
            guard read > 0 else {
                throw PackagerError.invalid(
                    "bundle entry '\(file.path)' cannot be read: \(BundleWriter.message(archive))"
                )
            }
            count += Int64(read)
            guard count <= file.size else {
                throw PackagerError(
                    .integrityFailure,
                    "bundle entry '\(file.path)' has more bytes than the \(file.size) declared"
                )
            }
            let chunk = buffer[0..<read]
            chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            try output?.write(contentsOf: chunk)
            let unpacked = totalBefore + count
            let compressed = max(archive_filter_bytes(archive, -1), 1)
            if unpacked > limits.ratioGrace, Double(unpacked) / Double(compressed) > limits.maxCompressionRatio {
                throw PackagerError.invalid(
                    "bundle entry '\(file.path)' expands more than \(Int(limits.maxCompressionRatio))× its compressed size: refused as a decompression bomb"
                )
            }
        }
        let digest = Hex.encode(hasher.finalize())
        guard count == file.size, digest == file.sha256.lowercased() else {
            throw PackagerError(
                .integrityFailure,
                "bundle entry '\(file.path)' does not match the manifest: sha256 \(digest) (\(count) bytes), expected \(file.sha256) (\(file.size) bytes)"
            )
        }
    }

    private func readSmall(_ archive: OpaquePointer, name: String, declared: Int64) throws -> Data {
        guard declared >= 0, declared <= limits.maxManifestBytes else {
            throw PackagerError.invalid(
                "bundle entry '\(name)' is \(declared) bytes: at most \(limits.maxManifestBytes) are accepted"
            )
        }
        var data = Data(count: Int(declared))
        let read = data.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
        guard read == declared else {
            throw PackagerError.invalid("bundle entry '\(name)' is truncated: \(BundleWriter.message(archive))")
        }
        return data
    }

    private func write(_ data: Data, to url: URL) throws {
        do {
            try data.write(to: url, options: .withoutOverwriting)
        } catch {
            throw PackagerError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    // MARK: Entry checks

    static func name(of entry: OpaquePointer) -> String {
        if let utf8 = archive_entry_pathname_utf8(entry) { return String(cString: utf8) }
        if let raw = archive_entry_pathname(entry) { return String(cString: raw) }
        return ""
    }

    static func checkEntryType(_ entry: OpaquePointer, name: String) throws {
        if archive_entry_hardlink(entry) != nil {
            throw PackagerError.invalid("bundle entry '\(name)' is a hard link: bundles hold regular files only")
        }
        let type = UInt32(archive_entry_filetype(entry))
        if type == carchive_filetype_symlink() {
            throw PackagerError.invalid("bundle entry '\(name)' is a symbolic link: bundles hold regular files only")
        }
        guard type == carchive_filetype_regular() else {
            let kind = type == carchive_filetype_directory() ? "a directory" : "a special file (device, FIFO or socket)"
            throw PackagerError.invalid("bundle entry '\(name)' is \(kind): bundles hold regular files only")
        }
    }

    static func decodeManifest(_ data: Data) throws -> BundleManifest {
        let manifest: BundleManifest
        do {
            manifest = try JSONDecoder().decode(BundleManifest.self, from: data)
        } catch {
            throw PackagerError.invalid("bundle entry 'manifest.json' is not a valid manifest: \(error)")
        }
        guard manifest.schemaVersion == BundleManifest.currentSchemaVersion else {
            throw PackagerError(
                .unsupported,
                "bundle manifest schema \(manifest.schemaVersion) is not supported (this modelctl reads schema \(BundleManifest.currentSchemaVersion))"
            )
        }
        var paths = Set<String>()
        for file in manifest.files {
            if let problem = BundlePath.problem(with: file.path) {
                throw PackagerError.invalid("the manifest lists '\(file.path)', which is refused: \(problem)")
            }
            guard paths.insert(file.path).inserted else {
                throw PackagerError.invalid("the manifest lists '\(file.path)' twice")
            }
            guard file.size >= 0, file.sha256.count == 64, file.sha256.allSatisfy(\.isHexDigit) else {
                throw PackagerError.invalid("the manifest entry for '\(file.path)' has an invalid size or sha256")
            }
        }
        return manifest
    }
}

extension BundleReader.Contents {
    /// Every file of the unpacked bundle a signature covers, with its SHA-256: `manifest.json`,
    /// `preprocessing.json` when present, and the model files (whose digests the reader has checked against the
    /// manifest). `model.sig` is not part of it.
    public var signedFiles: ModelManifest {
        var resources = [
            ModelManifest.Resource(name: BundleManifest.manifestName, digest: Array(SHA256.hash(data: manifestData)))
        ]
        if let preprocessing {
            resources.append(
                .init(name: BundleManifest.preprocessingName, digest: Array(SHA256.hash(data: preprocessing)))
            )
        }
        for file in manifest.files {
            resources.append(.init(name: file.path, digest: Hex.decode(file.sha256) ?? []))
        }
        return ModelManifest(resources: resources.sorted { ModelManifest.precedes($0.name, $1.name) })
    }
}
