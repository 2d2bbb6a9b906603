public import Crypto
public import Foundation

/// The files of a model directory with their SHA-256 digests, as a model signature lists them.
///
/// A manifest holds one resource per regular file, named by its path relative to the model root with `/`
/// separators, in component-wise UTF-8 byte order (see ``precedes(_:_:)``). Its ``subjectDigest`` is the SHA-256
/// of the raw file digests concatenated in that order — the value a model-signing statement signs.
public struct ModelManifest: Sendable, Equatable {
    /// One file of the model.
    public struct Resource: Sendable, Equatable {
        /// The path relative to the model root, `/`-separated, without `./` or a trailing slash.
        public var name: String
        /// The raw 32-byte SHA-256 digest of the file's content.
        public var digest: [UInt8]

        /// Creates a resource.
        public init(name: String, digest: [UInt8]) {
            self.name = name
            self.digest = digest
        }

        /// The digest as lowercase hex.
        public var hexDigest: String { Hex.encode(digest) }

        /// A resource from a hex SHA-256 (either case), or `nil` when `hex` is not 64 hex digits.
        public init?(name: String, hexDigest hex: String) {
            guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
            self.init(name: name, digest: bytes)
        }
    }

    /// The paths that are never signed and always excluded at the top level of a model: git's own files.
    public static let gitPaths = [".git", ".gitattributes", ".github", ".gitignore"]

    /// The files, in the order given (``build(directory:ignoring:)`` sorts them with ``precedes(_:_:)``).
    public var resources: [Resource]

    /// Creates a manifest from resources, keeping their order.
    public init(resources: [Resource]) {
        self.resources = resources
    }

    /// SHA-256 over the raw resource digests, concatenated in the order of ``resources``.
    public var subjectDigest: [UInt8] {
        var hasher = SHA256()
        for resource in resources { hasher.update(data: resource.digest) }
        return Array(hasher.finalize())
    }

    /// Walks `directory` and hashes every regular file in it.
    ///
    /// Files and directories whose relative path equals an entry of `ignorePaths`, or lies under one (a
    /// component-wise prefix match: `x` ignores `x` and `x/…` but not `x2`), are skipped without being looked at.
    /// Directories contribute nothing themselves. Files are read in 1 MiB chunks, so memory does not grow with
    /// their size.
    ///
    /// - Parameters:
    ///   - directory: The model root.
    ///   - ignorePaths: Relative `/`-separated paths to leave out. Pass ``gitPaths`` (and the signature file's
    ///     path, when it is inside the directory) to match the model-signing tool.
    /// - Returns: The manifest, in component-wise UTF-8 byte order.
    /// - Throws: ``PackagerError`` `.notFound` if `directory` is not a directory, `.unsupported` naming the path of
    ///   a symbolic link, a special file (FIFO, socket, device) or a name that is not valid UTF-8, `.io` if
    ///   something cannot be read.
    public static func build(directory: URL, ignoring ignorePaths: [String]) throws -> ModelManifest {
        let resources = try regularFiles(in: directory, ignoring: ignorePaths).map { file in
            Resource(name: file.name, digest: try FileDigester.sha256(of: file.url, name: file.name))
        }
        return ModelManifest(resources: resources)
    }

    /// Every regular file under `directory` with its relative path, in ``precedes(_:_:)`` order, skipping
    /// `ignorePaths` as ``build(directory:ignoring:)`` describes; symbolic links and special files are refused.
    static func regularFiles(in directory: URL, ignoring ignorePaths: [String]) throws -> [(name: String, url: URL)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw PackagerError.notFound("model directory '\(directory.path)' does not exist or is not a directory")
        }
        let ignored = ignorePaths.map { $0.split(separator: "/", omittingEmptySubsequences: true).map(String.init) }
            .filter { !$0.isEmpty }
        var files: [(name: String, url: URL)] = []
        try collect(in: directory, components: [], ignored: ignored, into: &files)
        files.sort { precedes($0.name, $1.name) }
        return files
    }

    /// Whether path `a` sorts before path `b`: component by component, each compared by its UTF-8 bytes, a
    /// component that is a prefix of the other sorting first.
    ///
    /// This is the order the model-signing tool lists resources in; `a/z.txt` sorts before `a-b.txt`, unlike in a
    /// plain string sort. Swift's `String <` is not used because it follows Unicode canonical equivalence.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let left = a.split(separator: "/", omittingEmptySubsequences: false)
        let right = b.split(separator: "/", omittingEmptySubsequences: false)
        for (x, y) in zip(left, right) where x.utf8.elementsEqual(y.utf8) == false {
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
        return left.count < right.count
    }

    private static func collect(
        in directory: URL,
        components: [String],
        ignored: [[String]],
        into files: inout [(name: String, url: URL)]
    ) throws {
        let shown = components.isEmpty ? "." : components.joined(separator: "/")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PackagerError.io("cannot list directory '\(shown)' of the model", cause: error)
        }
        for name in names {
            let path = components + [name]
            if ignored.contains(where: { path.starts(with: $0) }) { continue }
            let relative = path.joined(separator: "/")
            guard !name.unicodeScalars.contains("\u{FFFD}") else {
                throw PackagerError.unsupported("model file name '\(relative)' is not valid UTF-8")
            }
            let url = directory.appending(path: name, directoryHint: .notDirectory)
            let type: FileAttributeType?
            do {
                type = try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
            } catch {
                throw PackagerError.io("cannot read the attributes of '\(relative)' in the model", cause: error)
            }
            switch type {
            case .typeRegular?:
                files.append((relative, url))
            case .typeDirectory?:
                try collect(
                    in: directory.appending(path: name, directoryHint: .isDirectory),
                    components: path,
                    ignored: ignored,
                    into: &files
                )
            case .typeSymbolicLink?:
                throw PackagerError.unsupported(
                    "'\(relative)' in the model is a symbolic link; replace it with the file it points to"
                )
            default:
                throw PackagerError.unsupported(
                    "'\(relative)' in the model is not a regular file or directory (a FIFO, socket or device)"
                )
            }
        }
    }
}
