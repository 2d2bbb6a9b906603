import Foundation
import TestSupport
import Testing

/// HTTPS end to end: `modelctl serve --tls-cert/--tls-key` with a CA and certificate the test makes with `openssl`,
/// and the CLI trusting that CA with `--ca-cert` — and refusing everything else, never falling back to HTTP.
@Suite struct TLSEndToEndTests {
    /// A private CA and a server certificate for 127.0.0.1 and localhost, signed by it.
    struct Certificates {
        var caCertificate: URL
        var serverCertificate: URL
        var serverKey: URL
        /// Another CA, which signed nothing the server uses.
        var otherCA: URL
    }

    static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try #require(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " ")): \(text)")
    }

    static func makeCertificates(in directory: URL) throws -> Certificates {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try openssl(
                ["req", "-x509"] + ec + [
                    "-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "2", "-subj", "/CN=modelctl test \(ca)",
                ],
                in: directory
            )
        }
        try openssl(
            ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            in: directory
        )
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: directory.appending(path: "san.ext"))
        try openssl(
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
            ],
            in: directory
        )
        let key = directory.appending(path: "server.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
        return Certificates(
            caCertificate: directory.appending(path: "ca.pem"),
            serverCertificate: directory.appending(path: "server.pem"),
            serverKey: key,
            otherCA: directory.appending(path: "other-ca.pem")
        )
    }

    /// A directory holding a small model file.
    static func model(in directory: URL) throws -> URL {
        let model = directory.appending(path: "model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(
            to: model.appending(path: "weights.bin")
        )
        return model
    }

    static func environment(_ root: URL, token: String?) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MODELCTL_") }
        environment["HOME"] = root.path
        environment["XDG_STATE_HOME"] = root.appending(path: "state").path
        environment["XDG_CONFIG_HOME"] = root.appending(path: "config").path
        if let token { environment["MODELCTL_TOKEN"] = token }
        return environment
    }

    @Test(.timeLimit(.minutes(2)))
    func pushAndPullOverHTTPSWithAPrivateCA() async throws {
        try await withTemporaryDirectory { root in
            let certificates = try Self.makeCertificates(in: root)
            let daemon = try DaemonProcess(
                dataDirectory: root.appending(path: "data"),
                arguments: [
                    "--tls-cert", certificates.serverCertificate.path, "--tls-key", certificates.serverKey.path,
                ]
            )
            #expect(daemon.baseURL.hasPrefix("https://127.0.0.1:"))
            let environment = Self.environment(root, token: daemon.adminToken)
            let registry = ["--registry", daemon.baseURL]
            let model = try Self.model(in: root)

            // Given the CA that signed the server's certificate, push and pull work over HTTPS
            let trusted = registry + ["--ca-cert", certificates.caCertificate.path]
            let pushed = try runModelctl(
                ["push", model.path, "--model", "tls-model", "-O", "json"] + trusted,
                in: root,
                environment: environment
            )
            try #require(pushed.status == 0, "\(pushed)")
            let pulled = try runModelctl(
                ["pull", "tls-model:1", "-o", root.appending(path: "pulled").path, "-q"] + trusted,
                in: root,
                environment: environment
            )
            try #require(pulled.status == 0, "\(pulled)")
            #expect(
                try Data(contentsOf: root.appending(path: "pulled/weights.bin"))
                    == Data(contentsOf: model.appending(path: "weights.bin"))
            )
            // MODELCTL_CA_CERT does the same as --ca-cert
            var withVariable = environment
            withVariable["MODELCTL_CA_CERT"] = certificates.caCertificate.path
            let listed = try runModelctl(["list", "-O", "json"] + registry, in: root, environment: withVariable)
            #expect(listed.status == 0, "\(listed)")
            #expect(listed.stdout.contains("tls-model"))

            // Without the CA (system trust store only), the certificate is refused: exit 6, with the way out
            let untrusted = try runModelctl(["list"] + registry, in: root, environment: environment)
            #expect(untrusted.status == 6, "\(untrusted)")
            #expect(untrusted.stderr.contains("not trusted"), "\(untrusted.stderr)")
            #expect(untrusted.stderr.contains("--ca-cert"), "\(untrusted.stderr)")

            // A CA that did not sign it is refused too, naming the file
            let wrongCA = try runModelctl(
                ["list", "--ca-cert", certificates.otherCA.path] + registry,
                in: root,
                environment: environment
            )
            #expect(wrongCA.status == 6, "\(wrongCA)")
            #expect(wrongCA.stderr.contains(certificates.otherCA.path), "\(wrongCA.stderr)")

            // Plain HTTP to the HTTPS port fails: the client never downgrades and never gets an answer
            let plain = try runModelctl(
                ["list", "--registry", "http://127.0.0.1:\(daemon.port)"],
                in: root,
                environment: environment
            )
            #expect(plain.status != 0, "\(plain)")
            #expect(!plain.stdout.contains("tls-model"))

            // --ca-cert with an http:// registry is a mistake, said as such
            let mixed = try runModelctl(
                [
                    "list", "--registry", "http://127.0.0.1:\(daemon.port)", "--ca-cert",
                    certificates.caCertificate.path,
                ],
                in: root,
                environment: environment
            )
            #expect(mixed.status != 0)
            #expect(mixed.stderr.contains("https://"), "\(mixed.stderr)")

            // A file that is not PEM is named
            let garbage = root.appending(path: "garbage.pem")
            try Data("not a certificate\n".utf8).write(to: garbage)
            let bad = try runModelctl(
                ["list", "--ca-cert", garbage.path] + registry,
                in: root,
                environment: environment
            )
            #expect(bad.status != 0)
            #expect(bad.stderr.contains(garbage.path), "\(bad.stderr)")
            #expect(daemon.terminate() == 0)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func httpsToAPlainHTTPRegistryFailsWithoutFallingBack() async throws {
        try await withTemporaryDirectory { root in
            let daemon = try DaemonProcess(dataDirectory: root.appending(path: "data"))
            let result = try runModelctl(
                ["list", "--registry", "https://127.0.0.1:\(daemon.port)"],
                in: root,
                environment: Self.environment(root, token: daemon.adminToken)
            )
            #expect(result.status == 6, "\(result)")
            #expect(result.stderr.contains("TLS"), "\(result.stderr)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func serveRefusesUnusableTLSFiles() async throws {
        try await withTemporaryDirectory { root in
            let certificates = try Self.makeCertificates(in: root)
            let data = root.appending(path: "data").path
            // A key anyone can read
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: certificates.serverKey.path)
            let readable = try runModelctl(
                [
                    "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--tls-cert",
                    certificates.serverCertificate.path, "--tls-key", certificates.serverKey.path,
                ],
                in: root,
                timeout: 20
            )
            #expect(readable.status != 0)
            #expect(readable.stderr.contains("chmod 600"), "\(readable)")
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: certificates.serverKey.path)
            // A certificate file that is not PEM
            let garbage = root.appending(path: "garbage.pem")
            try Data("nothing here\n".utf8).write(to: garbage)
            let bad = try runModelctl(
                [
                    "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--tls-cert", garbage.path, "--tls-key",
                    certificates.serverKey.path,
                ],
                in: root,
                timeout: 20
            )
            #expect(bad.status != 0)
            #expect(bad.stderr.contains(garbage.path), "\(bad)")
            // One without the other is a usage error
            let half = try runModelctl(
                ["serve", "--data-dir", data, "--tls-cert", certificates.serverCertificate.path],
                in: root,
                timeout: 20
            )
            #expect(half.status == 64, "\(half)")
            #expect(half.stderr.contains("--tls-key"), "\(half)")
        }
    }
}
