import ArgumentParser
import Foundation
import Packager

extension Modelctl {
    /// `modelctl package PATH --model NAME … -o OUT`: a signed, reproducible bundle.
    struct Package: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Package a model file or directory into a bundle.",
            discussion: """
                The bundle is a tar archive (zstd-compressed unless OUT ends in .tar) whose first entry is \
                manifest.json: model name, version and label, format, every file with size, SHA-256 and role, the \
                preprocessing spec and annotations. With --sign-key, model.sig signs the manifest, the spec and \
                every file in the OpenSSF model-signing format. The same inputs give a byte-identical bundle (a signed \
                bundle differs only in model.sig: ECDSA signatures are randomised). The \
                spec is checked against the model's declared input (ONNX) before anything is written.
                """
        )

        @Argument(help: ArgumentHelp("The model file or directory.", valueName: "PATH"))
        var path: String

        @Option(help: ArgumentHelp("The model's name.", valueName: "NAME"))
        var model: String

        @Option(help: ArgumentHelp("The registry version number this bundle is made from.", valueName: "V"))
        var version: Int?

        @Option(help: ArgumentHelp("A version label, such as 1.4.0.", valueName: "L"))
        var label: String?

        @Option(
            help: ArgumentHelp(
                "The model format, when detection is not wanted: \(ModelFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
                valueName: "F"
            )
        )
        var format: String?

        @Option(help: ArgumentHelp("The preprocessing spec, JSON or YAML.", valueName: "SPEC"))
        var preprocessing: String?

        @Option(help: ArgumentHelp("Sign the bundle with this private key.", valueName: "KEY.pem"))
        var signKey: String?

        @Option(
            name: .customLong("annotation"),
            help: ArgumentHelp("An annotation recorded in the manifest; repeatable.", valueName: "K=V")
        )
        var annotations: [String] = []

        @Option(
            name: [.customShort("o"), .long],
            help: ArgumentHelp("The bundle to write: NAME.tar.zst, or NAME.tar for no compression.", valueName: "OUT")
        )
        var out: String

        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            do {
                try PackageOptions(modelName: model, version: version, label: label).validate()
            } catch let error as PackagerError {
                throw ValidationError(error.message)
            }
            _ = try parsedAnnotations()
            _ = try parsedFormat()
            guard out.hasSuffix(".tar.zst") || out.hasSuffix(".tar") else {
                throw ValidationError("invalid output '\(out)': a bundle file name ends in .tar.zst or .tar")
            }
        }

        func parsedFormat() throws -> ModelFormat? {
            guard let format else { return nil }
            guard let parsed = ModelFormat(rawValue: format.lowercased()) else {
                throw ValidationError(
                    "invalid format '\(format)': expected one of \(ModelFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return parsed
        }

        func parsedAnnotations() throws -> [String: String] {
            var result: [String: String] = [:]
            for annotation in annotations {
                guard let equals = annotation.firstIndex(of: "="), equals != annotation.startIndex else {
                    throw ValidationError("invalid annotation '\(annotation)': expected KEY=VALUE")
                }
                let key = String(annotation[..<equals])
                guard result[key] == nil else {
                    throw ValidationError("annotation '\(key)' is given twice")
                }
                result[key] = String(annotation[annotation.index(after: equals)...])
            }
            return result
        }

        func run() async throws {
            try await withExitCodes {
                var options = PackageOptions(
                    modelName: model,
                    version: version,
                    label: label,
                    format: try parsedFormat(),
                    compression: out.hasSuffix(".tar") ? .none : .zstd,
                    annotations: try parsedAnnotations()
                )
                if let preprocessing {
                    options.preprocessing = try PreprocessingSpec.load(from: URL(fileURLWithPath: preprocessing))
                }
                if let signKey {
                    options.signingKey = try SigningKeyFiles.loadPrivateKey(at: URL(fileURLWithPath: signKey))
                }
                let bar = ProgressBar(enabled: outputOptions.showsProgress)
                let result = try ModelPackager().package(
                    URL(fileURLWithPath: path),
                    options: options,
                    to: URL(fileURLWithPath: out)
                ) { progress in
                    bar.update(progress.phase.rawValue, completed: progress.completedBytes, total: progress.totalBytes)
                }
                bar.finish()
                let output = PackageOutput(bundle: out, result: result)
                if outputOptions.isJSON {
                    try Terminal.printJSON(output)
                } else if !outputOptions.quiet {
                    output.printText()
                }
            }
        }
    }

    struct PackageOutput: Encodable {
        var bundle: String
        var size: Int64
        var signed: Bool
        var keyHint: String?
        var manifest: BundleManifest

        enum CodingKeys: String, CodingKey {
            case bundle, size, signed, manifest
            case keyHint = "key_hint"
        }

        init(bundle: String, result: PackageResult) {
            self.bundle = bundle
            self.size = result.bundleSize
            self.signed = result.signingKeyHint != nil
            self.keyHint = result.signingKeyHint
            self.manifest = result.manifest
        }

        func printText() {
            let model = manifest.model
            let version = model.version.map { ":\($0)" } ?? ""
            let label = model.label.map { " (\($0))" } ?? ""
            let content = manifest.files.reduce(Int64(0)) { $0 + $1.size }
            Terminal.print("packaged \(model.name)\(version)\(label) → \(bundle)")
            Terminal.print(
                "  format \(manifest.format.rawValue), \(manifest.files.count) file(s), \(Units.bytes(content)) → \(Units.bytes(size)) bundle"
            )
            if manifest.preprocessing != nil { Terminal.print("  preprocessing spec checked and included") }
            Terminal.print(keyHint.map { "  signed (key hint \($0.prefix(16))…)" } ?? "  not signed (use --sign-key)")
        }
    }
}
