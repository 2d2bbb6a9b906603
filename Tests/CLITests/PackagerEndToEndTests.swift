import Foundation
import TestSupport
import Testing

/// Runs the built `modelctl` binary: keys generate → package → verify, tampering, exit codes and JSON shapes.
@Suite struct PackagerEndToEndTests {
    static let onnxFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "PackagerTests/Fixtures/tiny-classifier.onnx")

    /// A model directory with the ONNX fixture and a labels file, a YAML spec, and a key pair, in `directory`.
    static func prepare(_ directory: URL) throws {
        let model = directory.appending(path: "model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: onnxFixture, to: model.appending(path: "classifier.onnx"))
        try Data("cat\ndog\n".utf8).write(to: model.appending(path: "labels.txt"))
        let spec = """
            layout: NCHW
            resize: {size: 256}
            center_crop: 224
            scale: 0.00392156862745098
            mean: [0.485, 0.456, 0.406]
            std: [0.229, 0.224, 0.225]
            labels: labels.txt
            """
        try Data(spec.utf8).write(to: directory.appending(path: "spec.yaml"))
        let keys = try runModelctl(["keys", "generate", "--out", "signing.pem", "-q"], in: directory)
        try #require(keys.status == 0, "\(keys)")
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func packageSignAndVerifyAcrossTheBinary() async throws {
        try await withTemporaryDirectory { directory in
            try Self.prepare(directory)
            let mode =
                try FileManager.default.attributesOfItem(atPath: directory.appending(path: "signing.pem").path)[
                    .posixPermissions
                ] as? Int
            #expect(mode == 0o600)

            let packaged = try runModelctl(
                [
                    "package", "model", "--model", "tiny", "--version", "2", "--label", "1.0.0", "--preprocessing",
                    "spec.yaml", "--sign-key", "signing.pem", "-o", "tiny.tar.zst", "--output", "json",
                ],
                in: directory
            )
            #expect(packaged.status == 0, "\(packaged)")
            let document = try Self.json(packaged.stdout)
            #expect(document["bundle"] as? String == "tiny.tar.zst")
            #expect(document["signed"] as? Bool == true)
            #expect((document["key_hint"] as? String)?.count == 64)
            let manifest = try #require(document["manifest"] as? [String: Any])
            #expect(manifest["format"] as? String == "onnx")
            #expect(manifest["schema_version"] as? Int == 1)
            let files = try #require(manifest["files"] as? [[String: Any]])
            let roles = Dictionary(
                uniqueKeysWithValues: files.map { ($0["path"] as? String ?? "", $0["role"] as? String ?? "") }
            )
            #expect(roles == ["classifier.onnx": "model", "labels.txt": "labels"])
            #expect(packaged.stderr.isEmpty, "JSON output must not draw progress: \(packaged.stderr)")

            let verified = try runModelctl(["verify", "tiny.tar.zst", "--key", "signing.pub.pem"], in: directory)
            #expect(verified.status == 0, "\(verified)")
            #expect(verified.stdout.contains("signature  valid, signed by signing.pub.pem"))

            // The system tar unpacks it; the unpacked directory verifies too.
            let unpacked = directory.appending(path: "unpacked")
            try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: false)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = [
                "tar", "--zstd", "-xf", directory.appending(path: "tiny.tar.zst").path, "-C", unpacked.path,
            ]
            try tar.run()
            tar.waitUntilExit()
            #expect(tar.terminationStatus == 0)
            let directoryVerified = try runModelctl(
                ["verify", "unpacked", "--key", "signing.pub.pem", "-q"],
                in: directory
            )
            #expect(directoryVerified.status == 0, "\(directoryVerified)")
            #expect(directoryVerified.stdout.isEmpty)
        }
    }

    @Test func tamperedUntrustedAndUnsignedExitWithTheVerificationCode() async throws {
        try await withTemporaryDirectory { directory in
            try Self.prepare(directory)
            let signed = try runModelctl(
                ["package", "model", "--model", "tiny", "--sign-key", "signing.pem", "-o", "tiny.tar", "-q"],
                in: directory
            )
            try #require(signed.status == 0, "\(signed)")
            let unsigned = try runModelctl(
                ["package", "model", "--model", "tiny", "-o", "plain.tar", "-q"],
                in: directory
            )
            try #require(unsigned.status == 0, "\(unsigned)")
            let other = try runModelctl(["keys", "generate", "--out", "other.pem", "-q"], in: directory)
            try #require(other.status == 0)

            let untrusted = try runModelctl(["verify", "tiny.tar", "--key", "other.pub.pem"], in: directory)
            #expect(untrusted.status == 5, "\(untrusted)")
            #expect(untrusted.stderr.contains("does not verify with the trusted key"))

            let notSigned = try runModelctl(
                ["verify", "plain.tar", "--key", "signing.pub.pem", "-O", "json"],
                in: directory
            )
            #expect(notSigned.status == 5, "\(notSigned)")
            let document = try Self.json(notSigned.stdout)
            #expect(document["valid"] as? Bool == false)
            #expect((document["signature"] as? [String: Any])?["status"] as? String == "unsigned")

            // Flip one byte of the model file inside the uncompressed tar: the digest check names the entry.
            let bundle = directory.appending(path: "tiny.tar")
            var bytes = try Data(contentsOf: bundle)
            let marker = try #require(bytes.range(of: Data("modelctl-fixtures".utf8)))
            bytes[marker.lowerBound] ^= 0x20
            try bytes.write(to: bundle)
            let tampered = try runModelctl(
                ["verify", "tiny.tar", "--key", "signing.pub.pem", "-O", "json"],
                in: directory
            )
            #expect(tampered.status == 5, "\(tampered)")
            let failure = try #require(try Self.json(tampered.stdout)["error"] as? [String: Any])
            #expect(failure["code"] as? String == "integrity_failure")
            #expect((failure["message"] as? String)?.contains("classifier.onnx") == true)
            #expect(tampered.stderr.contains("verification failed for tiny.tar"))

            // An unpacked signed bundle with a file added after signing: tampered, naming the file.
            let unpacked = directory.appending(path: "unpacked")
            try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: false)
            let resigned = try runModelctl(
                ["package", "model", "--model", "tiny", "--sign-key", "signing.pem", "-o", "good.tar", "-q"],
                in: directory
            )
            try #require(resigned.status == 0)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            tar.arguments = ["tar", "-xf", directory.appending(path: "good.tar").path, "-C", unpacked.path]
            try tar.run()
            tar.waitUntilExit()
            try Data("{\"layout\":\"NHWC\"}".utf8).write(to: unpacked.appending(path: "preprocessing.json"))
            let changed = try runModelctl(["verify", "unpacked", "--key", "signing.pub.pem"], in: directory)
            #expect(changed.status == 5, "\(changed)")
            #expect(changed.stderr.contains("not signed: preprocessing.json"), "\(changed)")
        }
    }

    @Test func failuresHaveDistinctExitCodesAndLeaveNothingBehind() async throws {
        try await withTemporaryDirectory { directory in
            try Self.prepare(directory)
            let missing = try runModelctl(["package", "nowhere", "--model", "m", "-o", "b.tar"], in: directory)
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("nowhere"))

            let existingKey = try runModelctl(["keys", "generate", "--out", "signing.pem"], in: directory)
            #expect(existingKey.status == 4, "\(existingKey)")
            #expect(existingKey.stderr.contains("already exists"))

            let wrongSpec = directory.appending(path: "nhwc.json")
            try Data(#"{"layout": "NHWC", "center_crop": 224}"#.utf8).write(to: wrongSpec)
            let mismatch = try runModelctl(
                ["package", "model", "--model", "m", "--preprocessing", "nhwc.json", "-o", "b.tar.zst"],
                in: directory
            )
            #expect(mismatch.status == 1, "\(mismatch)")
            #expect(mismatch.stderr.contains("input"), "\(mismatch)")
            #expect(mismatch.stderr.contains("NHWC"), "\(mismatch)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
                $0.contains("b.tar")
            }
            #expect(leftovers.isEmpty)

            let usage = try runModelctl(["package", "model", "--model", "bad name", "-o", "b.tar"], in: directory)
            #expect(usage.status == 64, "\(usage)")
            #expect(usage.stderr.contains("invalid model name 'bad name'"))

            let nothing = try runModelctl(["verify", "model"], in: directory)
            #expect(nothing.status == 1, "\(nothing)")
            #expect(nothing.stderr.contains("--key"))
        }
    }
}

@Suite struct InspectEndToEndTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "PackagerTests/Fixtures")

    @Test func inspectPrintsTheONNXInputsForPeopleAndScripts() throws {
        let text = try runModelctl(["inspect", "tiny-classifier.onnx"], in: Self.fixtures)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("tiny-classifier.onnx: onnx, 1 file(s)"))
        #expect(text.stdout.contains("input       input float [N,3,224,224]"))
        #expect(text.stdout.contains("parameters  304"))

        let json = try runModelctl(["inspect", "tiny-classifier.onnx", "--output", "json"], in: Self.fixtures)
        #expect(json.status == 0, "\(json)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["format"] as? String == "onnx")
        #expect((document["total_size"] as? Int ?? 0) > 1_000)
        let onnx = try #require(document["onnx"] as? [String: Any])
        let inputs = try #require(onnx["inputs"] as? [[String: Any]])
        #expect(inputs.first?["name"] as? String == "input")
        #expect(inputs.first?["element_type"] as? String == "float")
        #expect(onnx["ir_version"] as? Int == 8)
    }

    @Test func inspectReadsEveryFormat() throws {
        let cases = [
            ("tiny-keras.h5", "keras       2.15.0, tensorflow"), ("tiny-savedmodel", "input_1 float [?,224,224,3]"),
            ("tiny-torchscript.pt", "version 3"), ("tiny.safetensors", "parameters  15"),
        ]
        for (path, line) in cases {
            let result = try runModelctl(["inspect", path], in: Self.fixtures)
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains(line), "\(path): \(result.stdout)")
        }
    }

    @Test func inspectFailuresHaveTheirExitCodes() throws {
        let missing = try runModelctl(["inspect", "nothing-here.onnx"], in: Self.fixtures)
        #expect(missing.status == 3, "\(missing)")
        let contradiction = try runModelctl(["inspect", "tiny.safetensors", "--format", "onnx"], in: Self.fixtures)
        #expect(contradiction.status == 1, "\(contradiction)")
        #expect(contradiction.stderr.contains("declared format 'onnx'"))
        let usage = try runModelctl(["inspect", "tiny.safetensors", "--format", "pickle"], in: Self.fixtures)
        #expect(usage.status == 64, "\(usage)")
        #expect(usage.stderr.contains("invalid format 'pickle'"))
    }
}
