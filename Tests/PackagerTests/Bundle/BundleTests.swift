import CArchive
import Crypto
import Foundation
import Packager
import TestSupport
import Testing

@Suite struct BundleTests {
    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes `files` under `directory` and returns the manifest that lists them.
    static func model(
        _ files: [String: Data],
        in directory: URL,
        preprocessing: JSONValue? = nil
    ) throws -> BundleManifest {
        for (path, data) in files {
            let url = directory.appending(path: path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try data.write(to: url)
        }
        return BundleManifest(
            model: .init(name: "resnet", version: 3, label: "1.0.0"),
            format: .onnx,
            files: files.keys.sorted().map { path in
                .init(path: path, size: Int64(files[path]!.count), sha256: sha256(files[path]!), role: "model")
            },
            preprocessing: preprocessing,
            annotations: ["team": "vision"]
        )
    }

    static let files: [String: Data] = [
        "model.onnx": Data(BlobFixture.onnx(count: 300_000).bytes),
        "labels/imagenet.txt": Data("cat\ndog\n".utf8),
        "a-b.bin": Data([1, 2, 3]),
        "a/z.bin": Data(),
    ]

    /// One raw tar entry for crafting hostile archives.
    struct RawEntry {
        var name: String
        var type: UInt32 = carchive_filetype_regular()
        var data = Data()
        var declaredSize: Int64?
        var link: String?
        var hardlink: String?
    }

    static func rawTar(_ entries: [RawEntry], at url: URL, zstd: Bool = false) throws {
        let archive = try #require(archive_write_new())
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        if zstd { archive_write_add_filter_zstd(archive) }
        #expect(archive_write_open_filename(archive, url.path) == ARCHIVE_OK)
        for raw in entries {
            let entry = try #require(archive_entry_new())
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, raw.name)
            archive_entry_set_filetype(entry, raw.type)
            archive_entry_set_perm(entry, 0o644)
            if let link = raw.link { archive_entry_set_symlink(entry, link) }
            if let hardlink = raw.hardlink { archive_entry_set_hardlink(entry, hardlink) }
            archive_entry_set_size(entry, raw.declaredSize ?? Int64(raw.data.count))
            archive_write_header(archive, entry)
            if !raw.data.isEmpty {
                _ = raw.data.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
            }
        }
        archive_write_close(archive)
    }

    static func manifestEntry(_ manifest: BundleManifest) throws -> RawEntry {
        RawEntry(name: "manifest.json", data: try manifest.encoded())
    }

    /// Asserts that checking and unpacking `bundle` both fail with `code` and a message containing `fragment`, and
    /// that unpacking left nothing behind.
    static func expectRefused(
        _ bundle: URL,
        _ code: PackagerError.Code,
        mentioning fragment: String,
        limits: BundleReader.Limits = .init()
    ) throws {
        let reader = BundleReader(limits: limits)
        #expect {
            _ = try reader.check(bundle)
        } throws: { error in
            let error = try #require(error as? PackagerError)
            return error.code == code && error.message.contains(fragment)
        }
        let parent = bundle.deletingLastPathComponent().appending(path: "out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: false)
        #expect(throws: PackagerError.self) { _ = try reader.extract(bundle, to: parent.appending(path: "model")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty, "something was written")
    }

    // MARK: Tests

    @Test(arguments: BundleWriter.Compression.allCases)
    func writesAndReadsBackEveryFile(_ compression: BundleWriter.Compression) async throws {
        try await withTemporaryDirectory { directory in
            // Given a model directory with nested files, an empty file and a preprocessing spec
            let spec = JSONValue.object(["layout": .string("NCHW"), "size": .array([.number(224), .number(224)])])
            let manifest = try Self.model(Self.files, in: directory.appending(path: "src"), preprocessing: spec)
            let bundle = directory.appending(path: "resnet.tar")
            // When it is bundled and unpacked
            try BundleWriter(compression: compression).write(
                manifest: manifest,
                preprocessing: Data(#"{"layout":"NCHW","size":[224,224]}"#.utf8),
                sourceDirectory: directory.appending(path: "src"),
                signature: Data("sig".utf8),
                to: bundle
            )
            let contents = try BundleReader().extract(bundle, to: directory.appending(path: "out"))
            // Then the manifest, the spec, the signature and every file come back unchanged
            #expect(contents.manifest == manifest)
            #expect(contents.signature == Data("sig".utf8))
            #expect(contents.preprocessing == Data(#"{"layout":"NCHW","size":[224,224]}"#.utf8))
            for (path, data) in Self.files {
                #expect(try Data(contentsOf: directory.appending(path: "out/\(path)")) == data, "\(path)")
            }
            #expect(FileManager.default.fileExists(atPath: directory.appending(path: "out/manifest.json").path))
            // And the zstd variant really is compressed (zstd magic number)
            let magic = try FileHandle(forReadingFrom: bundle).read(upToCount: 4)
            #expect((magic == Data([0x28, 0xB5, 0x2F, 0xFD])) == (compression == .zstd))
        }
    }

    @Test func bundlesAreByteIdenticalForTheSameInputs() async throws {
        try await withTemporaryDirectory { directory in
            let manifest = try Self.model(Self.files, in: directory.appending(path: "src"))
            let writer = BundleWriter()
            try writer.write(
                manifest: manifest,
                preprocessing: nil,
                sourceDirectory: directory.appending(path: "src"),
                signature: nil,
                to: directory.appending(path: "one.tar.zst")
            )
            // The source files get other times and modes before the second run
            let model = directory.appending(path: "src/model.onnx")
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_000_000), .posixPermissions: 0o600],
                ofItemAtPath: model.path
            )
            try writer.write(
                manifest: manifest,
                preprocessing: nil,
                sourceDirectory: directory.appending(path: "src"),
                signature: nil,
                to: directory.appending(path: "two.tar.zst")
            )
            #expect(
                try Data(contentsOf: directory.appending(path: "one.tar.zst"))
                    == Data(contentsOf: directory.appending(path: "two.tar.zst"))
            )
        }
    }

    @Test func plainTarUnpacksTheBundle() async throws {
        try await withTemporaryDirectory { directory in
            let manifest = try Self.model(Self.files, in: directory.appending(path: "src"))
            let bundle = directory.appending(path: "resnet.tar.zst")
            try BundleWriter().write(
                manifest: manifest,
                preprocessing: nil,
                sourceDirectory: directory.appending(path: "src"),
                signature: nil,
                to: bundle
            )
            let out = directory.appending(path: "tar-out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = ["tar", "--zstd", "-xf", bundle.path, "-C", out.path]
            try tar.run()
            tar.waitUntilExit()
            #expect(tar.terminationStatus == 0)
            for (path, data) in Self.files {
                #expect(try Data(contentsOf: out.appending(path: path)) == data)
            }
            // And the manifest is the first entry
            let list = Process()
            let pipe = Pipe()
            list.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            list.arguments = ["tar", "--zstd", "-tf", bundle.path]
            list.standardOutput = pipe
            try list.run()
            let names = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(
                separator: "\n"
            )
            list.waitUntilExit()
            #expect(names.first == "manifest.json")
            #expect(names.dropFirst().map(String.init) == ["a/z.bin", "a-b.bin", "labels/imagenet.txt", "model.onnx"])
        }
    }

    @Test func writerRefusesAFileThatChangedSinceTheManifest() async throws {
        try await withTemporaryDirectory { directory in
            let manifest = try Self.model(["m.onnx": Data([1, 2, 3])], in: directory)
            try Data([1, 2, 3, 4]).write(to: directory.appending(path: "m.onnx"))
            #expect {
                try BundleWriter().write(
                    manifest: manifest,
                    preprocessing: nil,
                    sourceDirectory: directory,
                    signature: nil,
                    to: directory.appending(path: "b.tar.zst")
                )
            } throws: { ($0 as? PackagerError)?.code == .integrityFailure && "\($0)".contains("m.onnx") }
            #expect(!FileManager.default.fileExists(atPath: directory.appending(path: "b.tar.zst").path))
        }
    }

    @Test func aPreprocessingFileThatDiffersFromTheManifestIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let good = Data("weights".utf8)
            let spec = JSONValue.object(["layout": .string("NCHW")])
            let manifest = try Self.model(["m.bin": good], in: directory.appending(path: "src"), preprocessing: spec)
            let bundle = directory.appending(path: "b.tar")
            try Self.rawTar(
                [
                    try Self.manifestEntry(manifest),
                    RawEntry(name: "preprocessing.json", data: Data(#"{"layout":"NHWC"}"#.utf8)),
                    RawEntry(name: "m.bin", data: good),
                ],
                at: bundle
            )
            try Self.expectRefused(bundle, .integrityFailure, mentioning: "'preprocessing.json' differs")
            #expect {
                try BundleWriter().write(
                    manifest: manifest,
                    preprocessing: Data(#"{"layout":"NHWC"}"#.utf8),
                    sourceDirectory: directory.appending(path: "src"),
                    signature: nil,
                    to: directory.appending(path: "w.tar.zst")
                )
            } throws: { error in
                (error as? PackagerError)?.code == .invalidArgument
                    && (error as? PackagerError)?.message.contains("preprocessing.json") == true
            }
        }
    }

    @Test func hostileEntriesAreRefusedBeforeAnythingIsWritten() async throws {
        try await withTemporaryDirectory { directory in
            let good = Data("weights".utf8)
            let manifest = try Self.model(["m.bin": good], in: directory.appending(path: "src"))
            let head = try Self.manifestEntry(manifest)
            let file = RawEntry(name: "m.bin", data: good)
            let cases: [(String, [RawEntry], PackagerError.Code, String)] = [
                (
                    "absolute", [head, file, RawEntry(name: "/etc/passwd", data: good)], .invalidArgument,
                    "'/etc/passwd'"
                ),
                ("dotdot", [head, file, RawEntry(name: "../evil", data: good)], .invalidArgument, "'../evil'"),
                (
                    "symlink",
                    [head, RawEntry(name: "link", type: carchive_filetype_symlink(), link: "/etc/passwd"), file],
                    .invalidArgument, "'link' is a symbolic link"
                ),
                (
                    "hardlink", [head, file, RawEntry(name: "hard", hardlink: "m.bin")], .invalidArgument,
                    "'hard' is a hard link"
                ),
                (
                    "device", [head, RawEntry(name: "dev", type: 0o020000), file], .invalidArgument,
                    "'dev' is a special file"
                ),
                (
                    "directory", [head, RawEntry(name: "dir", type: carchive_filetype_directory()), file],
                    .invalidArgument, "'dir/' is a directory"
                ),
                ("duplicate", [head, file, file], .invalidArgument, "'m.bin' appears twice"),
                (
                    "unlisted", [head, file, RawEntry(name: "extra.bin", data: good)], .invalidArgument,
                    "'extra.bin' is not listed"
                ),
                (
                    "size", [head, RawEntry(name: "m.bin", data: good + Data([0]))], .integrityFailure,
                    "'m.bin' is 8 bytes"
                ),
                (
                    "digest", [head, RawEntry(name: "m.bin", data: Data("WEIGHTS".utf8))], .integrityFailure,
                    "'m.bin' does not match"
                ),
                ("missing", [head], .integrityFailure, "m.bin"),
                ("first", [file, head], .invalidArgument, "'m.bin' comes first"),
                ("backslash", [head, file, RawEntry(name: "a\\..\\b", data: good)], .invalidArgument, "backslash"),
            ]
            for (label, entries, code, fragment) in cases {
                let bundle = directory.appending(path: "\(label).tar")
                try Self.rawTar(entries, at: bundle)
                try Self.expectRefused(bundle, code, mentioning: fragment)
            }
        }
    }

    @Test func decompressionBombsAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            // 64 MiB of zeros compresses to a few kilobytes
            let zeros = Data(count: 64 << 20)
            let manifest = try Self.model(["zeros.bin": zeros], in: directory.appending(path: "src"))
            let bundle = directory.appending(path: "bomb.tar.zst")
            try BundleWriter().write(
                manifest: manifest,
                preprocessing: nil,
                sourceDirectory: directory.appending(path: "src"),
                signature: nil,
                to: bundle
            )
            try Self.expectRefused(
                bundle,
                .invalidArgument,
                mentioning: "'zeros.bin' expands more than 200",
                limits: .init(ratioGrace: 1 << 20)
            )
            try Self.expectRefused(
                bundle,
                .invalidArgument,
                mentioning: "'zeros.bin' takes the content past 1048576 bytes",
                limits: .init(maxTotalBytes: 1 << 20)
            )
            // Within the limits it is accepted
            #expect(try BundleReader().check(bundle).manifest == manifest)
        }
    }

    @Test func extractingOverAnExistingDirectoryIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let manifest = try Self.model(["m.bin": Data([1])], in: directory.appending(path: "src"))
            let bundle = directory.appending(path: "b.tar.zst")
            try BundleWriter().write(
                manifest: manifest,
                preprocessing: nil,
                sourceDirectory: directory.appending(path: "src"),
                signature: nil,
                to: bundle
            )
            #expect { _ = try BundleReader().extract(bundle, to: directory.appending(path: "src")) } throws: {
                ($0 as? PackagerError)?.code == .alreadyExists
            }
        }
    }
}
