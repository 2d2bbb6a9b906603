/// Who performs an operation; recorded in every audit event.
///
/// `AuthMiddleware` sets it from the request's token (``Identity/principal``: `user:alice`, `service:ci`,
/// `device:cam-17`); with `--auth none` every caller is ``anonymous``.
public struct Principal: Hashable, Sendable, CustomStringConvertible {
    /// Stable identifier written to the audit trail (`user:alice`, `token:ci-pipeline`, `anonymous`).
    public var id: String

    public init(id: String) {
        self.id = id
    }

    public static let anonymous = Principal(id: "anonymous")
    /// The registry itself (migrations, background maintenance).
    public static let system = Principal(id: "system")

    public var description: String { id }
}
