/// The Dead Simple Signing Envelope (DSSE v1) pieces that model signatures use.
///
/// A DSSE signature does not cover the payload alone but its pre-authentication encoding (PAE), which binds the
/// payload type: `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths as ASCII decimal byte counts.
public enum DSSE {
    /// The payload type of an in-toto statement, the only one model signatures use.
    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    /// The bytes a DSSE signature covers for `payload` of type `payloadType`.
    ///
    /// - Parameters:
    ///   - payloadType: The envelope's payload type.
    ///   - payload: The payload bytes exactly as carried in the envelope (never re-serialised).
    /// - Returns: The PAE bytes, to be signed or verified with the curve's own hash (not pre-hashed).
    public static func preAuthenticationEncoding(
        payloadType: String = inTotoPayloadType,
        payload: some Collection<UInt8>
    )
        -> [UInt8]
    {
        let type = Array(payloadType.utf8)
        var bytes = Array("DSSEv1 \(type.count) ".utf8)
        bytes += type
        bytes += Array(" \(payload.count) ".utf8)
        bytes += payload
        return bytes
    }
}
