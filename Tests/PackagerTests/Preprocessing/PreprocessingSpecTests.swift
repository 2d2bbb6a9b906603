import Foundation
import Packager
import Testing

@Suite struct PreprocessingSpecTests {
    static let imagenet = """
        {"input_name": "input", "layout": "NCHW", "color_order": "RGB",
         "resize": {"size": 256, "interpolation": "bilinear", "keep_aspect": true},
         "center_crop": [224, 224], "dtype": "float32", "scale": 0.00392156862745098,
         "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
         "pixel_range": [0, 255], "min_image_size": [32, 32], "labels": "labels/imagenet.txt"}
        """

    static func parse(_ json: String) throws -> PreprocessingSpec { try PreprocessingSpec.parse(Data(json.utf8)) }

    static var tinyClassifier: ONNXModelInfo {
        get throws { try ONNXInspector().inspect(ONNXInspectorTests.fixtures.appending(path: "tiny-classifier.onnx")) }
    }

    // MARK: Tests

    @Test func parsesEveryField() throws {
        let spec = try Self.parse(Self.imagenet)
        #expect(spec.inputName == "input" && spec.layout == .nchw && spec.colorOrder == .rgb && spec.dtype == .float32)
        #expect(spec.resize?.height == 256 && spec.resize?.width == 256 && spec.resize?.keepAspect == true)
        #expect(spec.outputSize?.height == 224 && spec.outputSize?.width == 224)
        #expect(spec.mean == [0.485, 0.456, 0.406] && spec.std == [0.229, 0.224, 0.225])
        #expect(spec.pixelRange == 0...255 && spec.minImageSize?.height == 32 && spec.labels == "labels/imagenet.txt")
    }

    @Test(
        arguments: [
            (#"{"layout":"NCHW","center_crop":[224,224],"colour":"RGB"}"#, "unknown field 'colour'"),
            (#"{"center_crop":[224,224]}"#, "field 'layout' is missing"),
            (#"{"layout":"CHW","center_crop":[224,224]}"#, "field 'layout' is CHW: expected one of NCHW, NHWC"),
            (#"{"layout":"NCHW","center_crop":[224,224],"color_order":"RGBA"}"#, "field 'color_order' is RGBA"),
            (#"{"layout":"NCHW","center_crop":[0,224]}"#, "field 'center_crop'"),
            (#"{"layout":"NCHW","resize":{"size":[224,224],"mode":"x"}}"#, "unknown field 'resize.mode'"),
            (
                #"{"layout":"NCHW","resize":{"size":224,"interpolation":"cubic"}}"#,
                "field 'resize.interpolation' is cubic"
            ),
            (
                #"{"layout":"NCHW","center_crop":224,"mean":[0.5,0.5]}"#,
                "field 'mean' has 2 values but color_order RGB has 3"
            ),
            (#"{"layout":"NCHW","center_crop":224,"std":[1,0,1]}"#, "field 'std'"),
            (#"{"layout":"NCHW","center_crop":224,"scale":-1}"#, "field 'scale' is -1"),
            (#"{"layout":"NCHW","center_crop":224,"dtype":"float64"}"#, "field 'dtype' is float64"),
            (#"{"layout":"NCHW","center_crop":224,"labels":"../labels.txt"}"#, "field 'labels'"),
            (
                #"{"layout":"NCHW","resize":{"size":200},"center_crop":224}"#,
                "center_crop 224x224 is larger than resize.size 200x200"
            ),
            (#"{"layout":"NCHW"}"#, "give resize or center_crop"),
            (#"[1]"#, "must be a JSON object"),
        ]
    )
    func invalidSpecsNameTheField(_ json: String, fragment: String) {
        #expect {
            _ = try Self.parse(json)
        } throws: { error in
            let error = try #require(error as? PackagerError)
            return error.code == .invalidArgument && error.message.contains(fragment)
        }
    }

    @Test func matchesAnNCHWModelOfTheSameSize() throws {
        // The fixture's input is float [N,3,224,224]
        try Self.parse(Self.imagenet).check(against: try Self.tinyClassifier)
        try Self.parse(#"{"layout":"NCHW","center_crop":224,"color_order":"BGR"}"#).check(
            against: try Self.tinyClassifier
        )
    }

    @Test(
        arguments: [
            #"{"layout":"NHWC","center_crop":224}"#,
            #"{"layout":"NCHW","center_crop":[224,192]}"#,
            #"{"layout":"NCHW","center_crop":299}"#,
            #"{"layout":"NCHW","center_crop":224,"color_order":"GRAY"}"#,
            #"{"layout":"NCHW","center_crop":224,"dtype":"uint8"}"#,
        ]
    )
    func anyOtherTensorIsRefusedNamingBothSides(_ json: String) throws {
        let spec = try Self.parse(json)
        #expect {
            try spec.check(against: try Self.tinyClassifier)
        } throws: { error in
            let message = (error as? PackagerError)?.message ?? ""
            return message.contains("model input 'input' is float [N,3,224,224]")
                && message.contains("the spec produces")
        }
    }

    @Test func anUnknownInputNameIsRefused() throws {
        let spec = try Self.parse(#"{"input_name":"image","layout":"NCHW","center_crop":224}"#)
        #expect { try spec.check(against: try Self.tinyClassifier) } throws: {
            "\($0)".contains("names input 'image' but the model's inputs are 'input'")
        }
    }
}
