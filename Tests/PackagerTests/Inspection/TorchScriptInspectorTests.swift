import CArchive
import Foundation
import Packager
import TestSupport
import Testing

@Suite struct TorchScriptInspectorTests {
    /// A zip in torch.jit.save's layout, written with Python's zipfile (scripts/make-fixtures.py).
    static let fixture = ONNXInspectorTests.fixtures.appending(path: "tiny-torchscript.pt")

    /// A zip written with libarchive holding the given entries (path, content), as a hostile or sloppy tool might.
    static func zip(_ entries: [(String, String)], at url: URL) throws {
        let archive = try #require(archive_write_new())
        defer { archive_write_free(archive) }
        archive_write_set_format_zip(archive)
        #expect(archive_write_open_filename(archive, url.path) == ARCHIVE_OK)
        for (name, text) in entries {
            let entry = try #require(archive_entry_new())
            defer { archive_entry_free(entry) }
            let content = Array(text.utf8)
            archive_entry_set_pathname(entry, name)
            archive_entry_set_size(entry, Int64(content.count))
            archive_entry_set_filetype(entry, carchive_filetype_regular())
            archive_entry_set_perm(entry, 0o644)
            #expect(archive_write_header(archive, entry) == ARCHIVE_OK)
            _ = content.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
        }
        archive_write_close(archive)
    }

    /// The entries of a small valid TorchScript archive under `root`.
    static func layout(root: String = "m") -> [(String, String)] {
        [
            ("\(root)/data.pkl", "pickle"), ("\(root)/code/__torch__/m.py", "class M(Module): pass\n"),
            ("\(root)/constants.pkl", "pickle"), ("\(root)/version", "3\n"),
        ]
    }

    static func expectRefusal(
        _ url: URL,
        _ fragments: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(sourceLocation: sourceLocation) {
            _ = try TorchScriptInspector().inspect(url)
        } throws: { error in
            let error = try #require(error as? PackagerError)
            return error.code == .invalidArgument && fragments.allSatisfy { error.message.contains($0) }
        }
    }

    // MARK: Tests

    @Test func listsTheArchiveWithoutExtractingIt() throws {
        // When the fixture is inspected
        let info = try TorchScriptInspector().inspect(Self.fixture)
        // Then its records, code, storages and extra files are reported
        #expect(
            info
                == TorchScriptInfo(
                    rootFolder: "tiny",
                    version: "3",
                    byteOrder: "little",
                    hasConstants: true,
                    hasData: true,
                    codeFiles: ["__torch__/model.py"],
                    codeEntryCount: 2,
                    tensorStorageCount: 1,
                    tensorStorageSize: 64,
                    extraFiles: ["info.json"],
                    entryCount: 8,
                    fileSize: Int64(try Data(contentsOf: Self.fixture).count)
                )
        )
    }

    @Test func archivesWrittenByLibarchiveAreReadToo() async throws {
        try await withTemporaryDirectory { directory in
            // Given a deflated zip with data descriptors (libarchive's writer), version only under .data/
            let url = directory.appending(path: "m.pt")
            try Self.zip(
                Self.layout().filter { $0.0 != "m/version" } + [("m/.data/version", "4\n"), ("m/data/0", "12345678")],
                at: url
            )
            let info = try TorchScriptInspector().inspect(url)
            #expect(info.rootFolder == "m" && info.version == "4" && info.byteOrder == nil)
            #expect(info.codeFiles == ["__torch__/m.py"] && info.tensorStorageCount == 1 && info.tensorStorageSize == 8)
        }
    }

    @Test(
        arguments: [
            ("../evil", "entry '../evil' has an absolute path or a '..' component"),
            ("m/../../evil", "entry 'm/../../evil' has an absolute path or a '..' component"),
            ("/etc/cron.d/evil", "entry '/etc/cron.d/evil' has an absolute path"),
            ("stray.txt", "entry 'stray.txt' is not inside a folder"),
            ("other/data.pkl", "several top-level folders ('m' and 'other')"),
        ]
    )
    func unsafeOrStrayEntriesAreRefusedNamingThem(_ path: String, fragment: String) async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "evil.pt")
            try Self.zip(Self.layout() + [(path, "payload")], at: url)
            Self.expectRefusal(url, "evil.pt", fragment)
        }
    }

    @Test func anOversizedVersionRecordIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "big.pt")
            try Self.zip(
                Self.layout().filter { $0.0 != "m/version" } + [("m/version", String(repeating: "3", count: 4096))],
                at: url
            )
            Self.expectRefusal(url, "big.pt", "'m/version' is 4096 bytes")
        }
    }

    @Test func truncatedAndNonZipFilesAreRefusedNamingTheFile() async throws {
        let bytes = try Data(contentsOf: Self.fixture)
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "cut.pt")
            for cut in stride(from: 0, to: bytes.count, by: 7) {
                try bytes.prefix(cut).write(to: url)
                Self.expectRefusal(url, "cut.pt")
            }
            let text = directory.appending(path: "notes.pt")
            try Data("just text".utf8).write(to: text)
            Self.expectRefusal(text, "notes.pt is not a TorchScript archive")
            #expect { _ = try TorchScriptInspector().inspect(directory.appending(path: "missing.pt")) } throws: {
                ($0 as? PackagerError)?.code == .notFound
            }
        }
    }
}
