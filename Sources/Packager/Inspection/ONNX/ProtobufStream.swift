import Foundation

/// A streaming reader of the protobuf wire format over a file.
///
/// It reads through a fixed 64 KiB window and skips unwanted fields by seeking, so inspecting a multi-gigabyte model
/// reads only the small messages it needs (names, shapes, dims) and never holds tensor data in memory. Nested
/// messages are read within a length limit; reading past a limit or past the end of the file throws.
final class ProtobufStream {
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    struct Failure: Error {
        var reason: String
        var offset: Int64
    }

    private let handle: FileHandle
    private var window = Data()
    private var windowStart: Int64 = 0
    private var windowOffset = 0
    /// Absolute offset of the next byte.
    private(set) var position: Int64 = 0
    /// End of the message being read (absolute offset).
    private(set) var limit: Int64
    private let size: Int64

    init(handle: FileHandle, size: Int64) {
        self.handle = handle
        self.size = size
        self.limit = size
    }

    var atEnd: Bool { position >= limit }

    /// Runs `body` with the limit set to the next `length` bytes, then continues after them.
    func withinMessage<T>(length: Int64, _ body: () throws -> T) throws -> T {
        let end = position + length
        guard length >= 0, end <= limit else {
            throw Failure(reason: "a field is longer than its message", offset: position)
        }
        let saved = limit
        limit = end
        let result = try body()
        try skip(end - position)
        limit = saved
        return result
    }

    /// The next field's number and wire type, or `nil` at the end of the current message.
    func nextTag() throws -> (field: UInt64, wireType: WireType)? {
        guard !atEnd else { return nil }
        let key = try readVarint()
        guard let wireType = WireType(rawValue: key & 7), key >> 3 > 0 else {
            throw Failure(reason: "invalid field key \(key)", offset: position)
        }
        return (key >> 3, wireType)
    }

    func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            let byte = try readByte()
            result |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return result }
        }
        throw Failure(reason: "a varint is longer than 10 bytes", offset: position)
    }

    func readLength() throws -> Int64 {
        let length = try readVarint()
        guard length <= UInt64(limit - position) else {
            throw Failure(reason: "a length of \(length) runs past the end of its message", offset: position)
        }
        return Int64(length)
    }

    /// A length-delimited string of at most `maxLength` bytes (longer ones are an error: names are short).
    func readString(maxLength: Int64 = 1 << 20) throws -> String {
        let length = try readLength()
        guard length <= maxLength else {
            throw Failure(reason: "a string of \(length) bytes is too long", offset: position)
        }
        return String(decoding: try readBytes(Int(length)), as: UTF8.self)
    }

    /// Skips a field's value of the given wire type.
    func skipField(_ wireType: WireType) throws {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: try skip(8)
        case .fixed32: try skip(4)
        case .lengthDelimited: try skip(try readLength())
        case .startGroup, .endGroup: throw Failure(reason: "groups are not used by ONNX", offset: position)
        }
    }

    func skip(_ count: Int64) throws {
        guard count >= 0, position + count <= limit else {
            throw Failure(reason: "the file ends inside a field", offset: position)
        }
        let buffered = Int64(window.count - windowOffset)
        if count <= buffered {
            windowOffset += Int(count)
        } else {
            window = Data()
            windowOffset = 0
            windowStart = position + count
            try handle.seek(toOffset: UInt64(windowStart))
        }
        position += count
    }

    private func readByte() throws -> UInt8 {
        guard position < limit else { throw Failure(reason: "the file ends inside a field", offset: position) }
        if windowOffset >= window.count { try refill() }
        let byte = window[window.startIndex + windowOffset]
        windowOffset += 1
        position += 1
        return byte
    }

    private func readBytes(_ count: Int) throws -> Data {
        var result = Data(capacity: count)
        while result.count < count {
            if windowOffset >= window.count { try refill() }
            let take = min(count - result.count, window.count - windowOffset)
            result.append(window[(window.startIndex + windowOffset)..<(window.startIndex + windowOffset + take)])
            windowOffset += take
            position += Int64(take)
        }
        return result
    }

    private func refill() throws {
        windowStart = position
        window = try handle.read(upToCount: 64 * 1024) ?? Data()
        windowOffset = 0
        guard !window.isEmpty else { throw Failure(reason: "the file ends inside a field", offset: position) }
    }
}
