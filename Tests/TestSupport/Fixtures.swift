import Crypto
public import Foundation

/// Bytes with a known digest, for uploads in tests.
public struct BlobFixture: Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// `count` deterministic pseudo-random bytes (seeded), so runs are repeatable.
    public init(count: Int, seed: UInt64 = 1) {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = UInt8(truncatingIfNeeded: state)
        }
        self.bytes = bytes
    }

    /// An ONNX-looking payload: the protobuf tag of `ir_version` first, then pseudo-random bytes.
    public static func onnx(count: Int = 1024, seed: UInt64 = 1) -> BlobFixture {
        var bytes = BlobFixture(count: count, seed: seed).bytes
        bytes[0] = 0x08
        bytes[1] = 0x07
        return BlobFixture(bytes: bytes)
    }

    /// `sha256:<hex>`.
    public var digest: String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    public var size: Int { bytes.count }
}
