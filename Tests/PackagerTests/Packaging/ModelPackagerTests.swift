import CArchive
import Crypto
import Foundation
import Packager
import TestSupport
import Testing

/// Inputs and helpers shared by the packaging, bundle-verification and bundle-signing tests.
enum PackagingFixtures {
    /// `Tests/PackagerTests/Fixtures`, found from this file's path.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures")

    /// An ONNX model whose only input is `input`, float [N,3,224,224].
    static let onnx = fixtures.appending(path: "tiny-classifier.onnx")

    static let labels = Data("cat\ndog\nbird\n".utf8)
    static let config = Data(#"{"threshold": 0.5}"#.utf8)

    /// A spec that fits the ONNX fixture and names `labels.txt` as its labels file.
    static let specJSON = #"""
        {"layout": "NCHW", "color_order": "RGB", "resize": {"size": 256}, "center_crop": [224, 224],
         "scale": 0.5, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "labels": "labels.txt"}
        """#

    static func spec(_ text: String = specJSON) throws -> PreprocessingSpec.Document {
        try PreprocessingSpec.document(from: Data(text.utf8), name: "spec.json")
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// A model directory: the ONNX fixture, `labels.txt`, `config/x.json` and top-level git paths that are left out.
    static func modelDirectory(in parent: URL, name: String = "src") throws -> URL {
        let directory = parent.appending(path: name)
        try write(
            [
                "model.onnx": try Data(contentsOf: onnx),
                "labels.txt": labels,
                "config/x.json": config,
                ".git/HEAD": Data("ref: refs/heads/main\n".utf8),
                ".gitignore": Data("*.pyc\n".utf8),
            ],
            in: directory
        )
        return directory
    }

    /// Writes files (relative path → content) under `directory`, creating parent directories.
    static func write(_ files: [String: Data], in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (path, data) in files {
            let url = directory.appending(path: path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try data.write(to: url)
        }
    }

    /// The entries of a tar or tar.zst archive in order, read with libarchive.
    static func entries(of archiveURL: URL) throws -> [(name: String, data: Data)] {
        let archive = try #require(archive_read_new())
        defer { archive_read_free(archive) }
        archive_read_support_filter_zstd(archive)
        archive_read_support_filter_none(archive)
        archive_read_support_format_tar(archive)
        try #require(archive_read_open_filename(archive, archiveURL.path, 1 << 16) == ARCHIVE_OK)
        var result: [(name: String, data: Data)] = []
        var entry: OpaquePointer?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while archive_read_next_header(archive, &entry) == ARCHIVE_OK {
            let name = String(cString: try #require(archive_entry_pathname(entry)))
            var data = Data()
            while true {
                let count = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                try #require(count >= 0)
                if count == 0 { break }
                data.append(contentsOf: buffer[0..<count])
            }
            result.append((name, data))
        }
        return result
    }

    /// Writes `entries` as a pax tar (zstd-compressed when `zstd`), as a bundle would be laid out.
    static func writeArchive(_ entries: [(name: String, data: Data)], to url: URL, zstd: Bool = true) throws {
        try BundleTests.rawTar(entries.map { BundleTests.RawEntry(name: $0.name, data: $0.data) }, at: url, zstd: zstd)
    }

    /// Runs `/usr/bin/env arguments…` and returns its exit status and combined output.
    @discardableResult
    static func run(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Expects `body` to throw a ``PackagerError`` with `code` whose message contains every one of `fragments`.
    static func expectError(
        _ code: PackagerError.Code,
        mentioning fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("expected a PackagerError \(code) mentioning \(fragments)", sourceLocation: sourceLocation)
        } catch let error as PackagerError {
            #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(
                    error.message.contains(fragment),
                    "'\(fragment)' not in: \(error.message)",
                    sourceLocation: sourceLocation
                )
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Names in `directory` (hidden ones included).
    static func contents(of directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }
}

/// Records progress events from the `@Sendable` callback.
private final class ProgressRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [PackagingProgress] = []

    var events: [PackagingProgress] { lock.withLock { recorded } }

    func record(_ event: PackagingProgress) { lock.withLock { recorded.append(event) } }
}

@Suite struct ModelPackagerTests {
    typealias Fixtures = PackagingFixtures

    // MARK: Layout

    @Test func packagesADirectoryWithEveryFileHashedAndGitPathsLeftOut() async throws {
        try await withTemporaryDirectory { parent in
            // Given a model directory with an ONNX model, labels, a nested config and git paths
            let source = try Fixtures.modelDirectory(in: parent)
            let document = try Fixtures.spec()
            let bundle = parent.appending(path: "out/resnet.tar.zst")
            try FileManager.default.createDirectory(
                at: bundle.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )

            // When it is packaged with a spec
            let result = try ModelPackager().package(
                source,
                options: PackageOptions(
                    modelName: "resnet",
                    version: 3,
                    label: "1.4.0",
                    preprocessing: document,
                    annotations: ["team": "vision"]
                ),
                to: bundle
            )

            // Then the manifest lists every file with its size, digest and role, and nothing under .git
            let model = try Data(contentsOf: Fixtures.onnx)
            let expected: [BundleManifest.File] = [
                .init(
                    path: "config/x.json",
                    size: Int64(Fixtures.config.count),
                    sha256: Fixtures.sha256(Fixtures.config),
                    role: "config"
                ),
                .init(
                    path: "labels.txt",
                    size: Int64(Fixtures.labels.count),
                    sha256: Fixtures.sha256(Fixtures.labels),
                    role: "labels"
                ),
                .init(path: "model.onnx", size: Int64(model.count), sha256: Fixtures.sha256(model), role: "model"),
            ]
            let files: [BundleManifest.File] = result.manifest.files
            #expect(files == expected)
            #expect(result.manifest.format == .onnx)
            #expect(result.manifest.model == .init(name: "resnet", version: 3, label: "1.4.0"))
            #expect(result.manifest.annotations == ["team": "vision"])
            #expect(result.manifest.preprocessing == (try JSONDecoder().decode(JSONValue.self, from: document.json)))
            #expect(result.signingKeyHint == nil)
            let size = try FileManager.default.attributesOfItem(atPath: bundle.path)[.size] as? NSNumber
            #expect(result.bundleSize == size?.int64Value)

            // And the bundle reads back with every check of the reader
            let contents = try BundleReader().check(bundle)
            #expect(contents.manifest == result.manifest)
            #expect(contents.preprocessing == document.json)
            #expect(contents.signature == nil)
            #expect(contents.manifestData == (try result.manifest.encoded()))

            // And the system tar unpacks it, entries in bundle order
            let out = parent.appending(path: "tar-out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let unpacked = try Fixtures.run(["tar", "--zstd", "-xf", bundle.path, "-C", out.path])
            #expect(unpacked.status == 0, "\(unpacked.output)")
            #expect(try Data(contentsOf: out.appending(path: "model.onnx")) == model)
            #expect(try Data(contentsOf: out.appending(path: "labels.txt")) == Fixtures.labels)
            #expect(try Data(contentsOf: out.appending(path: "config/x.json")) == Fixtures.config)
            #expect(try Data(contentsOf: out.appending(path: "preprocessing.json")) == document.json)
            #expect(
                try Fixtures.contents(of: out) == [
                    "config", "labels.txt", "manifest.json", "model.onnx", "preprocessing.json",
                ]
            )
            let names = try Fixtures.entries(of: bundle).map(\.name)
            #expect(names == ["manifest.json", "preprocessing.json", "config/x.json", "labels.txt", "model.onnx"])
        }
    }

    @Test func packagesASingleFileUnderItsName() async throws {
        try await withTemporaryDirectory { parent in
            let bundle = parent.appending(path: "tiny.tar.zst")
            let result = try ModelPackager().package(Fixtures.onnx, options: .init(modelName: "tiny"), to: bundle)
            let model = try Data(contentsOf: Fixtures.onnx)
            let files: [BundleManifest.File] = result.manifest.files
            #expect(
                files == [
                    .init(
                        path: "tiny-classifier.onnx",
                        size: Int64(model.count),
                        sha256: Fixtures.sha256(model),
                        role: "model"
                    )
                ]
            )
            #expect(result.manifest.format == .onnx)
            #expect(result.manifest.preprocessing == nil)
            #expect(try BundleReader().check(bundle).manifest == result.manifest)
            // Nothing but the bundle was written beside it
            #expect(try Fixtures.contents(of: parent) == ["tiny.tar.zst"])
        }
    }

    @Test func formatAndRolesFollowTheOptionsAndTheFiles() async throws {
        try await withTemporaryDirectory { parent in
            // A safetensors model with a class-names file and an unknown file, the format given explicitly
            let source = parent.appending(path: "st")
            try Fixtures.write(
                [
                    "model.safetensors": try Data(contentsOf: Fixtures.fixtures.appending(path: "tiny.safetensors")),
                    "classes.txt": Data("a\n".utf8),
                    "README.md": Data("# x\n".utf8),
                    "tokenizer.yaml": Data("a: 1\n".utf8),
                ],
                in: source
            )
            let detected = try ModelPackager().package(
                source,
                options: .init(modelName: "st"),
                to: parent.appending(path: "st.tar.zst")
            )
            #expect(detected.manifest.format == .safetensors)
            let roles = Dictionary(uniqueKeysWithValues: detected.manifest.files.map { ($0.path, $0.role) })
            #expect(
                roles == [
                    "README.md": "other", "classes.txt": "labels", "model.safetensors": "weights",
                    "tokenizer.yaml": "config",
                ]
            )
            let custom = try ModelPackager().package(
                source,
                options: .init(modelName: "st", format: .custom),
                to: parent.appending(path: "custom.tar.zst")
            )
            #expect(custom.manifest.format == .custom)
            #expect(custom.manifest.files.first { $0.path == "README.md" }?.role == "model")
        }
    }

    @Test func plainTarOutputIsAnUncompressedTar() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let bundle = parent.appending(path: "resnet.tar")
            let result = try ModelPackager().package(
                source,
                options: .init(modelName: "resnet", compression: .none),
                to: bundle
            )
            let bytes = try Data(contentsOf: bundle)
            // A ustar header at offset 257, the first entry's name at 0, and no zstd magic
            #expect(bytes.count > 512 && bytes.count % 512 == 0)
            #expect(bytes[257..<262] == Data("ustar".utf8))
            #expect(bytes.prefix(13) == Data("manifest.json".utf8))
            #expect(bytes.prefix(4) != Data([0x28, 0xB5, 0x2F, 0xFD]))
            #expect(try BundleReader().check(bundle).manifest == result.manifest)
            let out = parent.appending(path: "tar-out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let unpacked = try Fixtures.run(["tar", "-xf", bundle.path, "-C", out.path])
            #expect(unpacked.status == 0, "\(unpacked.output)")
            #expect(try Data(contentsOf: out.appending(path: "config/x.json")) == Fixtures.config)
        }
    }

    @Test func existingOutputIsReplaced() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let bundle = parent.appending(path: "resnet.tar.zst")
            try Data("old bundle".utf8).write(to: bundle)
            let result = try ModelPackager().package(source, options: .init(modelName: "resnet"), to: bundle)
            #expect(try BundleReader().check(bundle).manifest == result.manifest)
            #expect(try Fixtures.contents(of: parent) == ["resnet.tar.zst", "src"])
        }
    }

    // MARK: Reproducibility

    @Test func unsignedPackagingsOfTheSameInputAreByteIdentical() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let options = PackageOptions(
                modelName: "resnet",
                version: 2,
                preprocessing: try Fixtures.spec(),
                annotations: ["b": "2", "a": "1", "c": "3"]
            )
            let one = parent.appending(path: "one.tar.zst")
            let two = parent.appending(path: "elsewhere/two.tar.zst")
            try FileManager.default.createDirectory(
                at: two.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            _ = try ModelPackager().package(source, options: options, to: one)
            // The source files get other times and modes before the second run
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_000_000), .posixPermissions: 0o600],
                ofItemAtPath: source.appending(path: "model.onnx").path
            )
            _ = try ModelPackager().package(source, options: options, to: two)
            #expect(try Data(contentsOf: one) == Data(contentsOf: two))
        }
    }

    @Test func signedPackagingsDifferOnlyInTheSignature() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let key = P256.Signing.PrivateKey()
            let options = PackageOptions(modelName: "resnet", preprocessing: try Fixtures.spec(), signingKey: key)
            let one = parent.appending(path: "one.tar.zst")
            let two = parent.appending(path: "two.tar.zst")
            let first = try ModelPackager().package(source, options: options, to: one)
            let second = try ModelPackager().package(source, options: options, to: two)
            #expect(first.manifest == second.manifest)
            #expect(first.signingKeyHint == TrustedPublicKey(key.publicKey).hint)
            #expect(second.signingKeyHint == first.signingKeyHint)

            let a = try Fixtures.entries(of: one)
            let b = try Fixtures.entries(of: two)
            let names = a.map(\.name)
            #expect(
                names == [
                    "manifest.json", "preprocessing.json", "config/x.json", "labels.txt", "model.onnx", "model.sig",
                ]
            )
            #expect(b.map(\.name) == names)
            for (left, right) in zip(a, b) where left.name != "model.sig" {
                #expect(left.data == right.data, "\(left.name) differs")
            }
            #expect(a.last?.data != b.last?.data, "ECDSA signatures are randomised")

            let verifier = BundleVerifier(trustedKeys: [TrustedPublicKey(key.publicKey)])
            for bundle in [one, two] {
                let result = try verifier.verify(bundle)
                #expect(result.signature == .valid(keyIndex: 0, keyHint: TrustedPublicKey(key.publicKey).hint))
                #expect(result.isValid && result.integrityChecked)
            }
        }
    }

    // MARK: Errors

    @Test(
        arguments: [
            (PackageOptions(modelName: "../x"), "'../x'"),
            (PackageOptions(modelName: ""), "invalid model name ''"),
            (PackageOptions(modelName: String(repeating: "a", count: 129)), String(repeating: "a", count: 129)),
            (PackageOptions(modelName: "-x"), "'-x'"),
            (PackageOptions(modelName: "caf\u{E9}"), "'caf\u{E9}'"),
            (PackageOptions(modelName: "ok", label: "123"), "invalid label '123'"),
            (PackageOptions(modelName: "ok", label: ""), "invalid label ''"),
            (PackageOptions(modelName: "ok", label: "1.0/2"), "'1.0/2'"),
            (PackageOptions(modelName: "ok", version: 0), "invalid version 0"),
            (PackageOptions(modelName: "ok", version: -3), "invalid version -3"),
        ]
    )
    func invalidOptionsAreRefusedNamingTheValue(_ options: PackageOptions, fragment: String) async throws {
        Fixtures.expectError(.invalidArgument, mentioning: [fragment]) { try options.validate() }
        try await withTemporaryDirectory { parent in
            let bundle = parent.appending(path: "b.tar.zst")
            Fixtures.expectError(.invalidArgument, mentioning: [fragment]) {
                try ModelPackager().package(Fixtures.onnx, options: options, to: bundle)
            }
            let left = try Fixtures.contents(of: parent)
            #expect(left.isEmpty)
        }
    }

    @Test func acceptableOptionsPassValidation() throws {
        try PackageOptions(modelName: String(repeating: "a", count: 128)).validate()
        try PackageOptions(modelName: "9lives_v2.0-final", version: 1, label: "1.4.0+build.7").validate()
        try PackageOptions(modelName: "m", label: "v1").validate()
    }

    @Test func missingEmptyOrReservedSourcesAreRefused() async throws {
        try await withTemporaryDirectory { parent in
            let bundle = parent.appending(path: "b.tar.zst")
            let options = PackageOptions(modelName: "m")
            let missing = parent.appending(path: "nope")
            Fixtures.expectError(.notFound, mentioning: [missing.path]) {
                try ModelPackager().package(missing, options: options, to: bundle)
            }

            // An empty directory, and one holding only git paths
            let empty = parent.appending(path: "empty")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            Fixtures.expectError(.invalidArgument, mentioning: [empty.path, "no files"]) {
                try ModelPackager().package(empty, options: options, to: bundle)
            }
            try Fixtures.write([".git/HEAD": Data("x".utf8), ".gitignore": Data()], in: empty)
            Fixtures.expectError(.invalidArgument, mentioning: ["no files"]) {
                try ModelPackager().package(empty, options: options, to: bundle)
            }

            // Model files with names the bundle format reserves, in a directory or alone
            for name in ["manifest.json", "model.sig", "preprocessing.json"] {
                let source = parent.appending(path: "reserved-\(name)")
                try Fixtures.write(
                    ["model.onnx": try Data(contentsOf: Fixtures.onnx), name: Data("{}".utf8)],
                    in: source
                )
                Fixtures.expectError(.invalidArgument, mentioning: ["'\(name)'", "reserves"]) {
                    try ModelPackager().package(source, options: options, to: bundle)
                }
                Fixtures.expectError(.invalidArgument, mentioning: ["'\(name)'"]) {
                    try ModelPackager().package(source.appending(path: name), options: options, to: bundle)
                }
            }
            // The same names further down are ordinary files
            let nested = parent.appending(path: "nested")
            try Fixtures.write(["sub/manifest.json": Data("{}".utf8), "sub/model.sig": Data("x".utf8)], in: nested)
            let result = try ModelPackager().package(nested, options: options, to: bundle)
            #expect(result.manifest.files.map(\.path) == ["sub/manifest.json", "sub/model.sig"])
            try FileManager.default.removeItem(at: bundle)

            #expect(try Fixtures.contents(of: parent).allSatisfy { !$0.contains("b.tar.zst") })
        }
    }

    @Test func symbolicLinksAreRefused() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            try FileManager.default.createSymbolicLink(
                at: source.appending(path: "config/link.json"),
                withDestinationURL: source.appending(path: "config/x.json")
            )
            let bundle = parent.appending(path: "b.tar.zst")
            Fixtures.expectError(.unsupported, mentioning: ["'config/link.json'", "symbolic link"]) {
                try ModelPackager().package(source, options: .init(modelName: "m"), to: bundle)
            }
            // A single-file source that is a link is refused too
            let link = parent.appending(path: "link.onnx")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: Fixtures.onnx)
            Fixtures.expectError(.unsupported, mentioning: [link.path]) {
                try ModelPackager().package(link, options: .init(modelName: "m"), to: bundle)
            }
            #expect(try Fixtures.contents(of: parent) == ["link.onnx", "src"])
        }
    }

    @Test func outputInsideTheSourceDirectoryIsRefused() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            for inside in ["b.tar.zst", "config/b.tar.zst", ".git/b.tar.zst"] {
                let bundle = source.appending(path: inside)
                Fixtures.expectError(.invalidArgument, mentioning: [bundle.path, "'\(inside)'"]) {
                    try ModelPackager().package(source, options: .init(modelName: "m"), to: bundle)
                }
                #expect(!FileManager.default.fileExists(atPath: bundle.path))
            }
            // Through a `..` detour, too
            let detour = parent.appending(path: "elsewhere/../src/b.tar.zst")
            try FileManager.default.createDirectory(
                at: parent.appending(path: "elsewhere"),
                withIntermediateDirectories: true
            )
            Fixtures.expectError(.invalidArgument, mentioning: ["inside the model directory"]) {
                try ModelPackager().package(source, options: .init(modelName: "m"), to: detour)
            }
            // A sibling whose name starts like the source is fine
            let sibling = parent.appending(path: "src-bundle.tar.zst")
            _ = try ModelPackager().package(source, options: .init(modelName: "m"), to: sibling)
            #expect(FileManager.default.fileExists(atPath: sibling.path))
        }
    }

    /// `output` equal to a single-file `source` must be refused like an output inside a source directory: otherwise the
    /// model file is replaced by the bundle.
    @Test func outputThatIsTheSourceFileIsRefused() async throws {
        try await withTemporaryDirectory { parent in
            let model = parent.appending(path: "m.onnx")
            try FileManager.default.copyItem(at: Fixtures.onnx, to: model)
            Fixtures.expectError(.invalidArgument, mentioning: [model.path]) {
                _ = try ModelPackager().package(model, options: .init(modelName: "m"), to: model)
            }
            #expect(try Data(contentsOf: model) == Data(contentsOf: Fixtures.onnx), "the model file was overwritten")
        }
    }

    /// A single file named like a top-level git path is signed as a resource but also listed in `ignore_paths`, so its
    /// bundle can never verify. It must either be refused or give a bundle that verifies.
    @Test func aSignedSingleFileNamedLikeAGitPathVerifiesOrIsRefused() async throws {
        try await withTemporaryDirectory { parent in
            let file = parent.appending(path: ".gitattributes")
            try Data("weights".utf8).write(to: file)
            let key = P256.Signing.PrivateKey()
            let bundle = parent.appending(path: "b.tar.zst")
            do {
                _ = try ModelPackager().package(file, options: .init(modelName: "m", signingKey: key), to: bundle)
            } catch let error as PackagerError {
                #expect(error.code == .invalidArgument && error.message.contains(".gitattributes"), "\(error)")
                return
            }
            let result = try BundleVerifier(trustedKeys: [TrustedPublicKey(key.publicKey)]).verify(bundle)
            #expect(result.signature == .valid(keyIndex: 0, keyHint: TrustedPublicKey(key.publicKey).hint))
        }
    }

    @Test func specsThatDoNotFitTheModelAreRefusedNamingBothSides() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let bundle = parent.appending(path: "b.tar.zst")
            func package(_ spec: String) throws {
                _ = try ModelPackager().package(
                    source,
                    options: .init(modelName: "m", preprocessing: try Fixtures.spec(spec)),
                    to: bundle
                )
            }
            Fixtures.expectError(.invalidArgument, mentioning: ["'missing.txt'", "labels", "model.onnx"]) {
                try package(#"{"layout":"NCHW","center_crop":224,"labels":"missing.txt"}"#)
            }
            Fixtures.expectError(
                .invalidArgument,
                mentioning: ["model input 'input'", "float [N,3,224,224]", "NHWC", "[N,224,224,3]"]
            ) {
                try package(#"{"layout":"NHWC","center_crop":224}"#)
            }
            Fixtures.expectError(
                .invalidArgument,
                mentioning: ["model input 'input'", "[N,3,224,224]", "128x128", "[N,3,128,128]"]
            ) {
                try package(#"{"layout":"NCHW","center_crop":[128,128]}"#)
            }
            Fixtures.expectError(.invalidArgument, mentioning: ["'pixels'", "'input'"]) {
                try package(#"{"layout":"NCHW","center_crop":224,"input_name":"pixels"}"#)
            }
            // With two ONNX models, the message says which one does not fit
            try FileManager.default.copyItem(at: Fixtures.onnx, to: source.appending(path: "second.onnx"))
            Fixtures.expectError(.invalidArgument, mentioning: ["model.onnx: ", "NHWC"]) {
                try package(#"{"layout":"NHWC","center_crop":224}"#)
            }
            #expect(try Fixtures.contents(of: parent) == ["src"])
        }
    }

    @Test func aFailedPackagingLeavesNoOutputAndNoTemporaryFile() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let out = parent.appending(path: "out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let bundle = out.appending(path: "b.tar.zst")
            // A file grows after it was hashed, so the archive step fails half-way
            let model = source.appending(path: "model.onnx")
            Fixtures.expectError(.integrityFailure, mentioning: ["model.onnx"]) {
                try ModelPackager().package(source, options: .init(modelName: "m"), to: bundle) { progress in
                    guard progress.phase == .hashing, progress.completedBytes == progress.totalBytes else { return }
                    if let handle = try? FileHandle(forWritingTo: model) {
                        _ = try? handle.seekToEnd()
                        try? handle.write(contentsOf: Data([0]))
                        try? handle.close()
                    }
                }
            }
            #expect(try Fixtures.contents(of: out).isEmpty)

            // An earlier bundle at the output path survives a failed run unchanged
            try Data("earlier".utf8).write(to: bundle)
            try FileManager.default.removeItem(at: model)
            try FileManager.default.copyItem(at: Fixtures.onnx, to: model)
            Fixtures.expectError(.integrityFailure, mentioning: ["model.onnx"]) {
                try ModelPackager().package(source, options: .init(modelName: "m"), to: bundle) { progress in
                    guard progress.phase == .hashing, progress.completedBytes == progress.totalBytes else { return }
                    try? FileManager.default.removeItem(at: model)
                    try? Data([1, 2, 3]).write(to: model)
                }
            }
            #expect(try Fixtures.contents(of: out) == ["b.tar.zst"])
            #expect(try Data(contentsOf: bundle) == Data("earlier".utf8))

            // And an output directory that does not exist is an I/O error that leaves nothing behind
            let nowhere = parent.appending(path: "missing/b.tar.zst")
            Fixtures.expectError(.io, mentioning: ["missing"]) {
                try ModelPackager().package(Fixtures.onnx, options: .init(modelName: "m"), to: nowhere)
            }
            #expect(!FileManager.default.fileExists(atPath: parent.appending(path: "missing").path))
        }
    }

    /// A file rewritten with other bytes of the same size between hashing and archiving must not yield a bundle whose
    /// manifest (and signature) disagree with its content.
    @Test func aFileChangedBetweenHashingAndWritingIsRefused() async throws {
        try await withTemporaryDirectory { parent in
            let source = try Fixtures.modelDirectory(in: parent)
            let bundle = parent.appending(path: "b.tar.zst")
            let labels = source.appending(path: "labels.txt")
            let changed = Data(Fixtures.labels.map { $0 == UInt8(ascii: "c") ? UInt8(ascii: "b") : $0 })
            #expect(changed.count == Fixtures.labels.count && changed != Fixtures.labels)
            Fixtures.expectError(.integrityFailure, mentioning: ["labels.txt"]) {
                try ModelPackager().package(source, options: .init(modelName: "m"), to: bundle) { progress in
                    guard progress.phase == .hashing, progress.completedBytes == progress.totalBytes else { return }
                    try? changed.write(to: labels)
                }
            }
            #expect(!FileManager.default.fileExists(atPath: bundle.path), "a bundle the reader refuses was written")
        }
    }

    // MARK: Progress

    @Test func progressReportsHashingThenWritingUpToTheTotal() async throws {
        try await withTemporaryDirectory { parent in
            // Given files of 2.5 MiB (several chunks), a few bytes and none
            let source = parent.appending(path: "src")
            let big = Data(BlobFixture(count: 5 << 19, seed: 7).bytes)
            try Fixtures.write(["weights.bin": big, "a.txt": Data("abc".utf8), "empty.bin": Data()], in: source)
            let total = Int64(big.count + 3)
            let recorder = ProgressRecorder()

            // When
            _ = try ModelPackager().package(
                source,
                options: .init(modelName: "m"),
                to: parent.appending(path: "b.tar.zst")
            ) { recorder.record($0) }

            // Then every event has the total, hashing comes first, and each phase climbs to the total
            Self.expectProgress(recorder.events, total: total)
        }
    }

    static func expectProgress(_ events: [PackagingProgress], total: Int64) {
        let totals = Set(events.map(\.totalBytes))
        #expect(totals == [total])
        let phases: [PackagingProgress.Phase] = events.map(\.phase)
        let hashing: [Int64] = events.filter { $0.phase == .hashing }.map(\.completedBytes)
        let writing: [Int64] = events.filter { $0.phase == .writing }.map(\.completedBytes)
        let expectedPhases: [PackagingProgress.Phase] =
            Array(repeating: .hashing, count: hashing.count) + Array(repeating: .writing, count: writing.count)
        #expect(phases == expectedPhases)
        #expect(hashing.count >= 4)
        #expect(writing.count >= 4)
        for values in [hashing, writing] {
            var increasing = true
            for index in values.indices.dropFirst() where values[index] <= values[index - 1] { increasing = false }
            #expect(increasing, "\(values)")
            let first = values.first ?? 0
            #expect(first > 0)
            #expect(values.last == total)
        }
    }
}
