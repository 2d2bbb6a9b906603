import ArgumentParser
import Foundation
import Packager
import Registry
import RegistryClient

extension Modelctl {
    /// `modelctl pull REF [-o DIR] [--verify-key PUB.pem]…`: downloads and verifies a version.
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a version's files, verify them, and put them in place.",
            discussion: """
                Every file is checked against the SHA-256 the registry holds; when the version has a \
                manifest.json (pushed by modelctl) every file is also checked against it, and with --verify-key \
                the signature must be valid for one of the keys and cover exactly the files. Files are written \
                into DIR.partial beside DIR, which is renamed to DIR only when all is verified; after a broken \
                connection, run the same pull again and it resumes. A verification failure (exit code 5) removes \
                the partial directory.
                """
        )

        @Argument(
            help: ArgumentHelp("The version to pull.", valueName: "REF"),
            transform: ModelReference.init(parsing:)
        )
        var reference: ModelReference

        @Option(
            name: [.customShort("o"), .long],
            help: ArgumentHelp("Where to put the files (default: ./NAME-VERSION); must not exist.", valueName: "DIR")
        )
        var out: String?

        @Option(
            name: .customLong("verify-key"),
            help: ArgumentHelp(
                "A trusted public key; the signature must verify with one. Repeatable.",
                valueName: "PUB.pem"
            )
        )
        var verifyKeys: [String] = []

        @Option(help: ArgumentHelp("Files downloaded at the same time (1-16).", valueName: "N"))
        var jobs: Int = 4

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            guard (1...16).contains(jobs) else { throw ValidationError("invalid --jobs \(jobs): expected 1 to 16") }
        }

        func run() async throws {
            try await withExitCodes {
                let keys = try verifyKeys.map { try TrustedPublicKey(contentsOf: URL(fileURLWithPath: $0)) }
                try await withRegistry(registryOptions) { client, _ in
                    let version = try await client.version(reference)
                    guard version.status == .ready else {
                        throw CommandFailure(
                            "\(version.model):\(version.version) is \(version.status.rawValue), not READY: it cannot be pulled"
                        )
                    }
                    for file in version.files {
                        do {
                            try Validation.filePath(file.path)
                        } catch {
                            throw CommandFailure(
                                "the registry lists an unsafe file path '\(Validation.printable(file.path))' in \(version.model):\(version.version); refusing to write it",
                                exitCode: ExitCodes.verificationFailed
                            )
                        }
                    }
                    let destination = URL(fileURLWithPath: out ?? "\(version.model)-\(version.version)")
                    if FileManager.default.fileExists(atPath: destination.path) {
                        throw CommandFailure(
                            "\(destination.path) already exists; choose another -o DIR",
                            exitCode: ExitCodes.conflict
                        )
                    }
                    let partial = destination.deletingLastPathComponent()
                        .appending(path: destination.lastPathComponent + ".partial")
                    try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)

                    let bar = ProgressBar(enabled: outputOptions.showsProgress)
                    let received = try await download(version, into: partial, client: client, bar: bar)
                    bar.finish()

                    var verification: BundleVerification?
                    let hasManifest = version.files.contains { $0.path == BundleManifest.manifestName }
                    if hasManifest || !keys.isEmpty {
                        do {
                            // Every file was hashed while it was written and matched the registry's digest.
                            let known = ModelManifest(
                                resources: try version.files.map { file in
                                    guard file.digest.hasPrefix("sha256:"),
                                        let resource = ModelManifest.Resource(
                                            name: file.path,
                                            hexDigest: String(file.digest.dropFirst(7))
                                        )
                                    else {
                                        throw CommandFailure(
                                            "the registry gave '\(file.path)' an invalid digest \(file.digest)"
                                        )
                                    }
                                    return resource
                                }
                            )
                            let result = try BundleVerifier(trustedKeys: keys).verify(
                                directory: partial,
                                knownDigests: known
                            )
                            verification = result
                            if !result.isValid {
                                let reason = VerifyOutput(path: partial.path, verification: result, keys: verifyKeys)
                                    .failureReason
                                throw CommandFailure(reason, exitCode: ExitCodes.verificationFailed)
                            }
                        } catch let error as PackagerError
                            where ExitCodes.code(for: error) == ExitCodes.verificationFailed
                        {
                            try? FileManager.default.removeItem(at: partial)
                            throw CommandFailure(
                                "verification of \(version.model):\(version.version) failed: \(error.message)",
                                exitCode: ExitCodes.verificationFailed
                            )
                        } catch let error as CommandFailure {
                            try? FileManager.default.removeItem(at: partial)
                            throw CommandFailure(
                                "verification of \(version.model):\(version.version) failed: \(error.message)",
                                exitCode: error.exitCode
                            )
                        }
                    }
                    guard rename(partial.path, destination.path) == 0 else {
                        throw CommandFailure(
                            "cannot move \(partial.path) to \(destination.path): \(String(cString: strerror(errno)))"
                        )
                    }
                    let output = PullOutput(
                        model: version.model,
                        version: version.version,
                        directory: destination.relativePath,
                        files: version.files.count,
                        bytes: version.files.reduce(0) { $0 + $1.size },
                        receivedBytes: received,
                        manifestChecked: verification?.integrityChecked ?? false,
                        signature: verification?.signature.map { Self.status($0) } ?? "not_checked"
                    )
                    if outputOptions.isJSON {
                        try Terminal.printJSON(output)
                    } else if !outputOptions.quiet {
                        Terminal.print("pulled \(version.model):\(version.version) into \(output.directory)")
                        Terminal.note(
                            "\(output.files) file(s), \(Units.bytes(output.bytes)), received \(Units.bytes(received)); sha256 verified"
                                + (output.manifestChecked ? ", manifest checked" : "")
                                + (output.signature == "valid" ? ", signature valid" : "")
                        )
                    }
                }
            }
        }

        static func status(_ result: VerificationResult) -> String {
            switch result {
            case .valid: "valid"
            case .unsigned: "unsigned"
            case .untrustedKey: "untrusted_key"
            case .tampered: "tampered"
            }
        }

        /// Downloads every file, `jobs` at a time, resuming partial files; returns the bytes received.
        func download(
            _ version: RemoteVersion,
            into directory: URL,
            client: RegistryClient,
            bar: ProgressBar
        ) async throws -> Int64 {
            let total = version.files.reduce(Int64(0)) { $0 + $1.size }
            let counters = TransferCounters()
            do {
                try await transfer(version, into: directory, client: client, bar: bar, total: total, counters: counters)
            } catch let error as CommandFailure where error.exitCode == ExitCodes.verificationFailed {
                // Only now: the group has waited for every download, so none can recreate the directory.
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
            return counters.totals.uploaded
        }

        private func transfer(
            _ version: RemoteVersion,
            into directory: URL,
            client: RegistryClient,
            bar: ProgressBar,
            total: Int64,
            counters: TransferCounters
        ) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = version.files[...]
                func next() {
                    guard let file = pending.popFirst() else { return }
                    let target = directory.appending(path: file.path)
                    group.addTask { [client, bar, counters] in
                        try FileManager.default.createDirectory(
                            at: target.deletingLastPathComponent(),
                            withIntermediateDirectories: true
                        )
                        do {
                            let result = try await client.downloadFile(
                                model: version.model,
                                version: version.version,
                                path: file.path,
                                to: target,
                                expectedDigest: file.digest,
                                resume: true
                            ) { completed, _ in
                                bar.update("download", completed: counters.progress(file.path, completed), total: total)
                            }
                            counters.sent(result.bytesReceived)
                        } catch let error as RegistryClientError where error.code == .integrity {
                            throw CommandFailure(
                                "'\(file.path)' of \(version.model):\(version.version) does not match its digest \(file.digest): \(error.message)",
                                exitCode: ExitCodes.verificationFailed
                            )
                        }
                    }
                }
                for _ in 0..<jobs { next() }
                while try await group.next() != nil { next() }
            }
        }
    }

    struct PullOutput: Encodable {
        var model: String
        var version: Int
        var directory: String
        var files: Int
        var bytes: Int64
        var receivedBytes: Int64
        var manifestChecked: Bool
        var signature: String

        enum CodingKeys: String, CodingKey {
            case model, version, directory, files, bytes, signature
            case receivedBytes = "received_bytes"
            case manifestChecked = "manifest_checked"
        }
    }
}
