import ArgumentParser
import Foundation
import Packager

extension Modelctl {
    /// `modelctl keys`: signing keys.
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the keys that sign model bundles.",
            subcommands: [Generate.self]
        )
    }
}

extension Modelctl.Keys {
    /// `modelctl keys generate --out KEY.pem`: a new ECDSA P-256 key pair.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate an ECDSA P-256 signing key pair.",
            discussion: """
                Writes the private key to KEY.pem (PKCS#8 PEM, mode 0600) and the public key to KEY.pub.pem \
                (mode 0644). Existing files are never overwritten. Give the public key to whoever verifies \
                (modelctl verify --key, modelctl pull --verify-key, or the OpenSSF model_signing tool).
                """
        )

        @Option(
            name: [.customShort("o"), .long],
            help: ArgumentHelp("The private key file to write; the public key goes beside it.", valueName: "KEY.pem")
        )
        var out: String

        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            guard !out.isEmpty, !out.hasSuffix("/") else {
                throw ValidationError("invalid key file '\(out)': expected a file path such as signing.pem")
            }
        }

        func run() async throws {
            try await withExitCodes {
                let files = SigningKeyFiles(base: URL(fileURLWithPath: out))
                let key = TrustedPublicKey(try files.generate())
                let result = KeyPairOutput(
                    privateKey: files.privateKeyURL.relativePath,
                    publicKey: files.publicKeyURL.relativePath,
                    keyHint: key.hint
                )
                if outputOptions.isJSON {
                    try Terminal.printJSON(result)
                } else if !outputOptions.quiet {
                    Terminal.print("private key: \(result.privateKey) (keep it secret; mode 0600)")
                    Terminal.print("public key:  \(result.publicKey)")
                    Terminal.print("key hint:    \(result.keyHint)")
                }
            }
        }
    }

    struct KeyPairOutput: Encodable {
        var privateKey: String
        var publicKey: String
        var keyHint: String

        enum CodingKeys: String, CodingKey {
            case privateKey = "private_key"
            case publicKey = "public_key"
            case keyHint = "key_hint"
        }
    }
}
