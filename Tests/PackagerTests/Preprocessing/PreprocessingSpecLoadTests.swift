import Foundation
import Packager
import TestSupport
import Testing

@Suite struct PreprocessingSpecLoadTests {
    static let json = """
        {"input_name": "input", "layout": "NCHW", "color_order": "RGB",
         "resize": {"size": [256, 256], "interpolation": "bilinear", "keep_aspect": true},
         "center_crop": [224, 224], "dtype": "float32", "scale": 0.00392156862745098,
         "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
         "pixel_range": [0, 255], "min_image_size": [32, 32], "labels": "labels/imagenet.txt"}
        """

    /// The same spec in YAML block style, with comments and YAML 1.1's `yes`.
    static let yamlBlock = """
        # ImageNet preprocessing
        input_name: input
        layout: NCHW
        color_order: RGB
        resize:
          size:
            - 256
            - 256
          interpolation: bilinear
          keep_aspect: yes
        center_crop: [224, 224]
        dtype: float32
        scale: 0.00392156862745098
        mean:
          - 0.485
          - 0.456
          - 0.406
        std: [0.229, 0.224, 0.225]
        pixel_range: [0, 255]
        min_image_size: [32, 32]
        labels: labels/imagenet.txt

        """

    /// The same spec in YAML flow style: unquoted scalars, so it is not JSON.
    static let yamlFlow = """
        {input_name: input, layout: NCHW, color_order: RGB,
         resize: {size: [256, 256], interpolation: bilinear, keep_aspect: true},
         center_crop: [224, 224], dtype: float32, scale: 0.00392156862745098,
         mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
         pixel_range: [0, 255], min_image_size: [32, 32], labels: labels/imagenet.txt}

        """

    static func write(_ text: String, as name: String, in directory: URL) throws -> URL {
        let url = directory.appending(path: name)
        try Data(text.utf8).write(to: url)
        return url
    }

    static func expectRefused(
        _ text: String,
        name: String = "spec.yaml",
        mentioning fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        PackagingFixtures.expectError(.invalidArgument, mentioning: fragments, sourceLocation: sourceLocation) {
            _ = try PreprocessingSpec.document(from: Data(text.utf8), name: name)
        }
    }

    // MARK: Tests

    @Test func jsonAndYAMLGiveTheSameCanonicalJSON() async throws {
        try await withTemporaryDirectory { directory in
            let fromJSON = try PreprocessingSpec.load(from: Self.write(Self.json, as: "spec.json", in: directory))
            let fromBlock = try PreprocessingSpec.load(from: Self.write(Self.yamlBlock, as: "spec.yaml", in: directory))

            #expect(fromBlock.spec == fromJSON.spec)
            #expect(fromBlock.json == fromJSON.json)
            #expect(fromBlock == fromJSON)
            // Canonical: sorted keys, no insignificant whitespace, slashes unescaped, and it parses to the same spec
            let text = String(decoding: fromJSON.json, as: UTF8.self)
            #expect(text.hasPrefix(#"{"center_crop":[224,224],"color_order":"RGB","dtype":"float32","input_name""#))
            #expect(!text.contains(" ") && !text.contains("\n"))
            #expect(text.contains(#""labels":"labels/imagenet.txt""#))
            #expect(try PreprocessingSpec.parse(fromJSON.json) == fromJSON.spec)
            #expect(fromBlock.spec.resize?.keepAspect == true, "YAML 1.1 `yes` is true")
            // A canonical document loads to itself
            #expect(try PreprocessingSpec.document(from: fromJSON.json, name: "canonical.json") == fromJSON)
        }
    }

    /// A document that is one YAML flow mapping starts with `{` like JSON; it must still load as YAML.
    @Test func aTopLevelYAMLFlowMappingLoadsLikeBlockStyle() throws {
        let block = try PreprocessingSpec.document(from: Data(Self.yamlBlock.utf8), name: "block.yaml")
        let flow = try PreprocessingSpec.document(from: Data(Self.yamlFlow.utf8), name: "flow.yaml")
        #expect(flow == block)
    }

    @Test func yamlExtrasLoad() throws {
        // A document marker, anchors and aliases, quoted strings
        let document = try PreprocessingSpec.document(
            from: Data(
                """
                ---
                layout: "NCHW"
                center_crop: &size [224, 224]
                min_image_size: *size
                mean: &half [0.5, 0.5, 0.5]
                std: *half
                labels: 'labels.txt'
                ...

                """.utf8
            ),
            name: "extras.yaml"
        )
        #expect(document.spec.minImageSize?.height == 224 && document.spec.std == [0.5, 0.5, 0.5])
        #expect(document.spec.labels == "labels.txt")
    }

    @Test(
        arguments: [
            ("layout: NCHW\ncenter_crop: 224\nlabels: 2024-01-01\n", ["'labels'", "timestamp", "quote it"]),
            ("layout: NCHW\nresize:\n  size: 2024-01-01 10:00:00\n", ["'resize.size'"]),
            ("layout: NCHW\ncenter_crop: 224\nmean: [2024-01-01, 1, 2]\n", ["'mean[0]'"]),
            ("layout: NCHW\ncenter_crop: 224\nlabels: !!binary aGVsbG8=\n", ["'labels'"]),
            ("layout: NCHW\ncenter_crop: 224\nscale: .inf\n", ["'scale'", "finite"]),
            ("layout: NCHW\ncenter_crop: 224\nscale: .nan\n", ["'scale'", "finite"]),
            // Yams turns scalar keys into strings, so these are refused as unknown fields, naming the key
            ("layout: NCHW\ncenter_crop: 224\n1: one\n", ["'1'"]),
            ("layout: NCHW\nresize:\n  size: 224\n  true: x\n", ["'resize.true'"]),
        ]
    )
    func yamlThatJSONCannotHoldIsRefusedNamingTheField(_ yaml: String, fragments: [String]) {
        Self.expectRefused(yaml, mentioning: ["spec.yaml"] + fragments)
    }

    /// A key that is not a scalar (a sequence or mapping) is refused like any YAML that JSON cannot hold, not a crash
    /// (`Yams.load` would trap on it; the loader walks the composed nodes instead).
    @Test func nonScalarYAMLKeysAreRefused() {
        Self.expectRefused(
            "layout: NCHW\ncenter_crop: 224\n? [a, b]\n: x\n",
            mentioning: ["spec.yaml", "not a string"]
        )
    }

    @Test(
        arguments: [
            ("", ["spec.yaml", "empty"]),
            ("   \n\n", ["spec.yaml", "empty"]),
            ("# only a comment\n", ["spec.yaml", "empty"]),
            ("- layout: NCHW\n- center_crop: 224\n", ["spec.yaml", "must be an object"]),
            ("[1, 2]", ["spec.yaml", "must be an object"]),
            ("just text", ["spec.yaml", "must be an object"]),
            ("layout: [NCHW\n", ["spec.yaml", "not valid YAML"]),
        ]
    )
    func malformedYAMLIsRefused(_ yaml: String, fragments: [String]) {
        Self.expectRefused(yaml, mentioning: fragments)
    }

    @Test func notUTF8IsRefused() {
        PackagingFixtures.expectError(.invalidArgument, mentioning: ["spec.yaml", "UTF-8"]) {
            _ = try PreprocessingSpec.document(from: Data([0x6C, 0x3A, 0x20, 0xFF, 0xFE]), name: "spec.yaml")
        }
    }

    @Test func invalidJSONNamesTheFile() async throws {
        try await withTemporaryDirectory { directory in
            let url = try Self.write(#"{"layout": NCHW, "center_crop": 224}"#, as: "broken.json", in: directory)
            PackagingFixtures.expectError(.invalidArgument, mentioning: ["broken.json", "not valid JSON"]) {
                _ = try PreprocessingSpec.load(from: url)
            }
            let padded = try Self.write(
                "\n  \t{\"layout\": \"NCHW\" \"center_crop\": 224}",
                as: "padded.json",
                in: directory
            )
            PackagingFixtures.expectError(.invalidArgument, mentioning: ["padded.json", "not valid JSON"]) {
                _ = try PreprocessingSpec.load(from: padded)
            }
        }
    }

    @Test func specErrorsArePrefixedWithTheFileName() async throws {
        try await withTemporaryDirectory { directory in
            let cases: [(String, String, String)] = [
                ("colour.yaml", "layout: NCHW\ncenter_crop: 224\ncolour: RGB\n", "unknown field 'colour'"),
                ("layout.json", #"{"layout": "CHW", "center_crop": 224}"#, "field 'layout' is CHW"),
                ("name.yaml", "layout: NCHW\ncenter_crop: 224\ninput_name: 12\n", "field 'input_name' is 12"),
            ]
            for (name, text, fragment) in cases {
                let url = try Self.write(text, as: name, in: directory)
                do {
                    _ = try PreprocessingSpec.load(from: url)
                    Issue.record("\(name) was accepted")
                } catch let error as PackagerError {
                    #expect(error.code == .invalidArgument)
                    #expect(error.message.hasPrefix("\(name): "), "\(error.message)")
                    #expect(error.message.contains(fragment), "\(error.message)")
                }
            }
        }
    }

    @Test func filesOverOneMebibyteAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let spec = "layout: NCHW\ncenter_crop: 224\n"
            let limit = PreprocessingSpec.maxDocumentBytes
            #expect(limit == 1 << 20)
            // Exactly the limit: accepted
            let atLimit = spec + "#" + String(repeating: "x", count: limit - spec.utf8.count - 2) + "\n"
            #expect(atLimit.utf8.count == limit)
            let fits = try Self.write(atLimit, as: "fits.yaml", in: directory)
            #expect(try PreprocessingSpec.load(from: fits).spec.layout == .nchw)
            // One byte more: refused before parsing
            let tooBig = try Self.write(atLimit + "\n", as: "big.yaml", in: directory)
            PackagingFixtures.expectError(.invalidArgument, mentioning: [tooBig.path, "larger than 1048576 bytes"]) {
                _ = try PreprocessingSpec.load(from: tooBig)
            }
        }
    }

    @Test func aMissingFileIsNotFound() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appending(path: "nope.yaml")
            PackagingFixtures.expectError(.notFound, mentioning: [url.path]) {
                _ = try PreprocessingSpec.load(from: url)
            }
            // A directory is not a spec file either
            #expect(throws: PackagerError.self) { _ = try PreprocessingSpec.load(from: directory) }
        }
    }
}
