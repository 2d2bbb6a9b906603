public import Foundation

extension PreprocessingSpec {
    static let fields: Set<String> = [
        "input_name", "layout", "color_order", "resize", "center_crop", "dtype", "scale", "mean", "std", "pixel_range",
        "min_image_size", "labels",
    ]

    /// Parses and validates a JSON spec.
    ///
    /// - Throws: ``PackagerError`` `invalidArgument` naming the field and what it accepts.
    public static func parse(_ data: Data) throws -> PreprocessingSpec {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PackagerError.invalid("the preprocessing spec must be a JSON object")
        }
        if let unknown = Set(object.keys).subtracting(fields).sorted().first {
            throw PackagerError.invalid(
                "preprocessing spec: unknown field '\(unknown)'; known fields: \(fields.sorted().joined(separator: ", "))"
            )
        }
        func fail(_ field: String, _ expected: String) -> PackagerError {
            let value = object[field].map { "\($0)" } ?? "missing"
            return PackagerError.invalid("preprocessing spec: field '\(field)' is \(value): expected \(expected)")
        }
        func choice<T: RawRepresentable & CaseIterable>(_ field: String, _ type: T.Type, default value: T?) throws -> T
        where T.RawValue == String {
            guard let raw = object[field] else {
                if let value { return value }
                throw fail(field, "one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let text = raw as? String, let parsed = T(rawValue: text) else {
                throw fail(field, "one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return parsed
        }
        func size(_ field: String, in source: [String: Any]? = nil, name: String? = nil) throws -> (Int, Int)? {
            let label = name ?? field
            guard let raw = (source ?? object)[field] else { return nil }
            let numbers =
                (raw as? [NSNumber])?.map(\.doubleValue) ?? (raw as? NSNumber).map { [$0.doubleValue, $0.doubleValue] }
            guard let numbers, numbers.count == 2, numbers.allSatisfy({ $0 >= 1 && $0 <= 65_536 && $0 == $0.rounded() })
            else {
                throw PackagerError.invalid(
                    "preprocessing spec: field '\(label)' is \(raw): expected [height, width] or one size, whole numbers from 1 to 65536"
                )
            }
            return (Int(numbers[0]), Int(numbers[1]))
        }
        func numbers(_ field: String) throws -> [Double]? {
            guard let raw = object[field] else { return nil }
            guard let values = (raw as? [NSNumber])?.map(\.doubleValue), values.allSatisfy(\.isFinite) else {
                throw fail(field, "a list of numbers")
            }
            return values
        }

        var spec = PreprocessingSpec(
            inputName: nil,
            layout: try choice("layout", Layout.self, default: nil),
            colorOrder: try choice("color_order", ColorOrder.self, default: .rgb),
            resize: nil,
            centerCrop: nil,
            dtype: try choice("dtype", DataType.self, default: .float32),
            scale: 1,
            mean: nil,
            std: nil,
            pixelRange: nil,
            minImageSize: nil,
            labels: nil
        )
        if let raw = object["input_name"] {
            guard let name = raw as? String, !name.isEmpty else { throw fail("input_name", "a non-empty string") }
            spec.inputName = name
        }
        if let raw = object["resize"] {
            guard let resize = raw as? [String: Any] else {
                throw fail("resize", "an object with size, interpolation, keep_aspect")
            }
            if let unknown = Set(resize.keys).subtracting(["size", "interpolation", "keep_aspect"]).sorted().first {
                throw PackagerError.invalid(
                    "preprocessing spec: unknown field 'resize.\(unknown)'; known: size, interpolation, keep_aspect"
                )
            }
            guard let (height, width) = try size("size", in: resize, name: "resize.size") else {
                throw PackagerError.invalid(
                    "preprocessing spec: field 'resize.size' is missing: expected [height, width]"
                )
            }
            let interpolation =
                try (resize["interpolation"]).map { raw -> Interpolation in
                    guard let text = raw as? String, let value = Interpolation(rawValue: text) else {
                        throw PackagerError.invalid(
                            "preprocessing spec: field 'resize.interpolation' is \(raw): expected one of \(Interpolation.allCases.map(\.rawValue).joined(separator: ", "))"
                        )
                    }
                    return value
                } ?? .bilinear
            guard resize["keep_aspect"] == nil || resize["keep_aspect"] is Bool else {
                throw PackagerError.invalid("preprocessing spec: field 'resize.keep_aspect' must be true or false")
            }
            spec.resize = Resize(
                height: height,
                width: width,
                interpolation: interpolation,
                keepAspect: resize["keep_aspect"] as? Bool ?? false
            )
        }
        spec.centerCrop = try size("center_crop").map { (height: $0.0, width: $0.1) }
        spec.minImageSize = try size("min_image_size").map { (height: $0.0, width: $0.1) }
        if let raw = object["scale"] {
            guard let value = (raw as? NSNumber)?.doubleValue, value.isFinite, value > 0 else {
                throw fail("scale", "a positive number such as 0.00392156862745098 (1/255)")
            }
            spec.scale = value
        }
        spec.mean = try numbers("mean")
        spec.std = try numbers("std")
        for (field, values) in [("mean", spec.mean), ("std", spec.std)] {
            if let values, values.count != spec.channels {
                throw PackagerError.invalid(
                    "preprocessing spec: field '\(field)' has \(values.count) values but color_order \(spec.colorOrder.rawValue) has \(spec.channels) channel(s)"
                )
            }
        }
        if let std = spec.std, std.contains(where: { $0 <= 0 }) {
            throw fail("std", "positive numbers (each channel is divided by its std)")
        }
        if let range = try numbers("pixel_range") {
            guard range.count == 2, range[0] < range[1] else {
                throw fail("pixel_range", "[low, high] with low < high")
            }
            spec.pixelRange = range[0]...range[1]
        }
        if let raw = object["labels"] {
            guard let path = raw as? String, BundlePath.problem(with: path) == nil else {
                throw fail("labels", "a relative path inside the bundle, such as labels/imagenet.txt")
            }
            spec.labels = path
        }
        if let crop = spec.centerCrop, let resize = spec.resize, !resize.keepAspect,
            crop.height > resize.height || crop.width > resize.width
        {
            throw PackagerError.invalid(
                "preprocessing spec: center_crop \(crop.height)x\(crop.width) is larger than resize.size \(resize.height)x\(resize.width)"
            )
        }
        guard spec.outputSize != nil else {
            throw PackagerError.invalid("preprocessing spec: give resize or center_crop so the tensor size is known")
        }
        return spec
    }
}
