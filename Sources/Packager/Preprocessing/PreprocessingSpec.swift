public import Foundation

/// How a raw image becomes the model's input tensor: colour order, resize, crop, layout, dtype, scale, mean/std.
///
/// Parsed from JSON with ``parse(_:)``, which refuses unknown fields and names the field at fault in every error;
/// ``check(against:)`` compares the tensor the spec produces with an ONNX model's declared input. The schema is
/// documented in `docs/preprocessing.md`.
public struct PreprocessingSpec: Sendable, Equatable {
    public enum Layout: String, Sendable, CaseIterable {
        case nchw = "NCHW"
        case nhwc = "NHWC"
    }
    public enum ColorOrder: String, Sendable, CaseIterable {
        case rgb = "RGB"
        case bgr = "BGR"
        case gray = "GRAY"
    }
    public enum Interpolation: String, Sendable, CaseIterable { case nearest, bilinear, bicubic, area, lanczos }
    public enum DataType: String, Sendable, CaseIterable { case float32, float16, uint8, int8 }

    public struct Resize: Sendable, Equatable {
        /// Height and width.
        public var height: Int
        public var width: Int
        public var interpolation: Interpolation
        public var keepAspect: Bool
    }

    public var inputName: String?
    public var layout: Layout
    public var colorOrder: ColorOrder
    public var resize: Resize?
    /// Height and width of the centre crop.
    public var centerCrop: (height: Int, width: Int)?
    public var dtype: DataType
    public var scale: Double
    public var mean: [Double]?
    public var std: [Double]?
    /// Accepted range of raw pixel values.
    public var pixelRange: ClosedRange<Double>?
    /// Smallest accepted source image, height and width.
    public var minImageSize: (height: Int, width: Int)?
    /// Path of the labels file inside the bundle.
    public var labels: String?

    public static func == (lhs: PreprocessingSpec, rhs: PreprocessingSpec) -> Bool {
        lhs.inputName == rhs.inputName && lhs.layout == rhs.layout && lhs.colorOrder == rhs.colorOrder
            && lhs.resize == rhs.resize && lhs.centerCrop?.height == rhs.centerCrop?.height
            && lhs.centerCrop?.width == rhs.centerCrop?.width && lhs.dtype == rhs.dtype && lhs.scale == rhs.scale
            && lhs.mean == rhs.mean && lhs.std == rhs.std && lhs.pixelRange == rhs.pixelRange
            && lhs.minImageSize?.height == rhs.minImageSize?.height
            && lhs.minImageSize?.width == rhs.minImageSize?.width && lhs.labels == rhs.labels
    }

    /// Channels of the produced tensor: 3 for RGB/BGR, 1 for GRAY.
    public var channels: Int { colorOrder == .gray ? 1 : 3 }

    /// Height and width of the produced tensor: the crop if there is one, else the resize.
    public var outputSize: (height: Int, width: Int)? {
        centerCrop ?? resize.map { ($0.height, $0.width) }
    }
}
