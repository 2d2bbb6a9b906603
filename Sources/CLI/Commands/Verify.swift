import ArgumentParser
import Foundation
import Packager

extension Modelctl {
    /// `modelctl verify BUNDLE_OR_DIR [--key PUB.pem]…`: integrity and signature.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a bundle or a model directory: files against the manifest, signature against keys.",
            discussion: """
                A bundle (.tar.zst or .tar) is checked without unpacking: every entry against the manifest's size \
                and SHA-256, with the same safety checks as unpacking. A directory holding manifest.json (an \
                unpacked bundle) is checked the same way. With one or more --key, the signature (model.sig) must \
                be valid for one of them and cover exactly the files present; a missing signature fails. Without \
                --key only integrity is checked. Verification failures exit with code 5.
                """
        )

        @Argument(help: ArgumentHelp("The bundle file or model directory.", valueName: "BUNDLE_OR_DIR"))
        var path: String

        @Option(
            name: .customLong("key"),
            help: ArgumentHelp("A trusted public key (PEM); repeatable.", valueName: "PUB.pem")
        )
        var keys: [String] = []

        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                let trusted = try keys.map { try TrustedPublicKey(contentsOf: URL(fileURLWithPath: $0)) }
                let verification: BundleVerification
                do {
                    verification = try BundleVerifier(trustedKeys: trusted).verify(URL(fileURLWithPath: path))
                } catch let error as PackagerError where ExitCodes.code(for: error) == ExitCodes.verificationFailed {
                    if outputOptions.isJSON {
                        try Terminal.printJSON(VerifyOutput(path: path, failure: error))
                    }
                    Terminal.error("verification failed for \(path): \(error.message)")
                    throw ExitCode(ExitCodes.verificationFailed)
                }
                let output = VerifyOutput(path: path, verification: verification, keys: keys)
                if outputOptions.isJSON {
                    try Terminal.printJSON(output)
                } else if !outputOptions.quiet || !verification.isValid {
                    output.printText(quiet: outputOptions.quiet)
                }
                if !verification.isValid { throw ExitCode(ExitCodes.verificationFailed) }
            }
        }
    }

    struct VerifyOutput: Encodable {
        struct Signature: Encodable {
            /// `valid`, `unsigned`, `untrusted_key`, `tampered` or `not_checked`.
            var status: String
            var key: String?
            var keyHint: String?
            var changed: [String]?
            var added: [String]?
            var missing: [String]?

            enum CodingKeys: String, CodingKey {
                case status, key, changed, added, missing
                case keyHint = "key_hint"
            }
        }

        struct Failure: Encodable {
            var code: String
            var message: String
        }

        var path: String
        var kind: String?
        var valid: Bool
        /// `ok`, `not_checked` or `failed`.
        var integrity: String
        var signature: Signature?
        var model: BundleManifest.ModelInfo?
        var format: ModelFormat?
        var files: Int?
        var error: Failure?

        init(path: String, failure: PackagerError) {
            self.path = path
            self.valid = false
            self.integrity = "failed"
            self.error = Failure(code: failure.code.rawValue, message: failure.message)
        }

        init(path: String, verification: BundleVerification, keys: [String]) {
            self.path = path
            self.kind = verification.kind.rawValue
            self.valid = verification.isValid
            self.integrity = verification.integrityChecked ? "ok" : "not_checked"
            self.model = verification.manifest?.model
            self.format = verification.manifest?.format
            self.files = verification.manifest?.files.count
            switch verification.signature {
            case nil:
                signature = Signature(status: "not_checked")
            case .valid(let index, let hint)?:
                signature = Signature(status: "valid", key: keys[index], keyHint: hint)
            case .unsigned?:
                signature = Signature(status: "unsigned")
            case .untrustedKey?:
                signature = Signature(status: "untrusted_key")
            case .tampered(let changed, let added, let missing)?:
                signature = Signature(status: "tampered", changed: changed, added: added, missing: missing)
            }
        }

        func printText(quiet: Bool) {
            guard valid else {
                Terminal.error("verification failed for \(path): \(failureReason)")
                return
            }
            guard !quiet else { return }
            Terminal.print("verified \(path)")
            if let model {
                let version = model.version.map { ":\($0)" } ?? ""
                let label = model.label.map { " (\($0))" } ?? ""
                Terminal.print("  model      \(model.name)\(version)\(label), \(format?.rawValue ?? "?")")
            }
            Terminal.print(
                integrity == "ok"
                    ? "  integrity  \(files ?? 0) file(s) match the manifest"
                    : "  integrity  no manifest; the signature covers the files"
            )
            if signature?.status == "valid", let key = signature?.key {
                Terminal.print("  signature  valid, signed by \(key)")
            } else {
                Terminal.print("  signature  not checked (give the signer's public key with --key)")
            }
        }

        var failureReason: String {
            switch signature?.status {
            case "unsigned": return "it is not signed (no \(BundleManifest.signatureName))"
            case "untrusted_key":
                return "the signature does not verify with the trusted key(s); it was made by another key or altered"
            case "tampered":
                var parts: [String] = []
                if let changed = signature?.changed, !changed.isEmpty {
                    parts.append("changed: \(changed.joined(separator: ", "))")
                }
                if let added = signature?.added, !added.isEmpty {
                    parts.append("not signed: \(added.joined(separator: ", "))")
                }
                if let missing = signature?.missing, !missing.isEmpty {
                    parts.append("missing: \(missing.joined(separator: ", "))")
                }
                return "the files differ from what was signed: \(parts.joined(separator: "; "))"
            default: return error?.message ?? "unknown"
            }
        }
    }
}
