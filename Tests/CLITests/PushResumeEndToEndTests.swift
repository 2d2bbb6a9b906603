import Foundation
import TestSupport
import Testing

@testable import CLI

/// A push of a file above `Push.resumableThreshold` interrupted by a killed registry resumes where the registry's
/// acknowledged offset is when run again: only the missing part is sent.
@Suite struct PushResumeEndToEndTests {
    /// The acknowledged offset of the daemon's (single) upload session, if one has stored a chunk.
    static func acknowledgedOffset(_ sessions: URL) -> Int64? {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: sessions.path)) ?? []
        for id in ids {
            guard
                let text = try? String(
                    contentsOf: sessions.appending(path: "\(id)/offset"),
                    encoding: .utf8
                ),
                let offset = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), offset > 0
            else { continue }
            return offset
        }
        return nil
    }

    /// Writes `size` random bytes (from /dev/urandom) to `url`.
    static func writeRandom(_ url: URL, size: Int) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let output = try FileHandle(forWritingTo: url)
        defer { try? output.close() }
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? random.close() }
        var remaining = size
        while remaining > 0 {
            let chunk = try #require(try random.read(upToCount: min(remaining, 4 << 20)))
            try output.write(contentsOf: chunk)
            remaining -= chunk.count
        }
    }

    /// What one interrupted push left: the exit status and the offset the registry had acknowledged.
    struct Interruption {
        var status: Int32
        var offset: Int64
        var result: String
    }

    /// Starts the push in the background, SIGKILLs the daemon as soon as it has stored a chunk of the big file,
    /// and waits for the push to give up. `nil` when the push finished before the kill.
    static func interruptedPush(_ registry: RegistryHarness, _ arguments: [String]) throws -> Interruption? {
        let process = Process()
        process.executableURL = DaemonProcess.executable
        process.arguments = arguments
        process.currentDirectoryURL = registry.work
        process.environment = registry.environment
        let output = registry.root.appending(path: "interrupted-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        let deadline = Date().addingTimeInterval(15)
        var offset: Int64?
        while process.isRunning, Date() < deadline {
            offset = acknowledgedOffset(registry.sessionDirectory)
            if offset != nil { break }
            usleep(1_000)
        }
        guard offset != nil, process.isRunning else { return nil }
        registry.daemon.kill()
        process.waitUntilExit()
        // The daemon is gone: what its session file says now is what a new daemon will report.
        let acknowledged = acknowledgedOffset(registry.sessionDirectory) ?? 0
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return Interruption(status: process.terminationStatus, offset: acknowledged, result: text)
    }

    @Test(.timeLimit(.minutes(1)))
    func aPushInterruptedByAKilledRegistryResumesAfterARestart() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            let model = registry.work.appending(path: "big")
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            let small = model.appending(path: "config.json")
            try Data(#"{"hidden": 512}"#.utf8).write(to: small)
            let big = model.appending(path: "weights.bin")
            let arguments = ["push", "big", "--model", "big", "-O", "json"]

            // Too fast to catch (a registry on a fast disk)? Once more with a bigger file.
            var interruption: Interruption?
            var size = 0
            for mebibytes in [96, 192] {
                size = mebibytes << 20
                try Self.writeRandom(big, size: size)
                #expect(Int64(size) > Modelctl.Push.resumableThreshold)
                interruption = try Self.interruptedPush(registry, arguments)
                if interruption != nil { break }
                // The push completed: start again on an empty registry.
                _ = registry.daemon.terminate()
                try FileManager.default.removeItem(at: registry.dataDirectory)
                try? FileManager.default.removeItem(at: registry.uploadStateDirectory)
                try registry.restartDaemon(samePort: true)
            }
            let interrupted = try #require(interruption, "the push finished before the registry could be killed")
            #expect(interrupted.status == 6 || interrupted.status == 1, "\(interrupted.result)")
            #expect(interrupted.offset > 0 && interrupted.offset < Int64(size))
            let saved = try FileManager.default.contentsOfDirectory(atPath: registry.uploadStateDirectory.path)
            #expect(saved.count == 1 && saved.first?.hasSuffix(".session") == true, "\(saved)")

            // Same address, same data directory: the saved session is found and continued.
            try registry.restartDaemon(samePort: true)
            let resumed = try registry.run(arguments)
            try #require(resumed.status == 0, "\(resumed)\ndaemon log:\n\(registry.daemon.log)")
            let push = try resumed.object()
            let uploaded = try #require(push["uploaded_bytes"] as? Int)
            #expect(uploaded > 0)
            #expect(uploaded < size, "the whole file was sent again: \(uploaded) of \(size)")
            // The missing part of the big file, perhaps with the small files the first push had not sent.
            let smallFiles = (push["bytes"] as? Int ?? 0) - size
            #expect(uploaded >= size - Int(interrupted.offset))
            #expect(uploaded <= size - Int(interrupted.offset) + smallFiles)
            #expect(push["version"] as? Int == 1)
            #expect(push["status"] as? String == "READY")
            #expect(
                (try? FileManager.default.contentsOfDirectory(atPath: registry.uploadStateDirectory.path))?.isEmpty
                    ?? true,
                "the saved session is forgotten once the blob is stored"
            )

            let pulled = try registry.json(["pull", "big:1", "-o", "pulled"])
            #expect(pulled["received_bytes"] as? Int == push["bytes"] as? Int)
            #expect(pulled["manifest_checked"] as? Bool == true)
            try expectSameFiles(registry.work.appending(path: "pulled"), as: model)
        }
    }
}
