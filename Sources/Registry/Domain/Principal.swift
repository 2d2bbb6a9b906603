/// Who performs an operation; recorded in every audit event.
///
/// Until authentication is configured every caller is ``anonymous``; the auth layer will fill the request context
/// with the authenticated principal and nothing below the HTTP layer needs to change.
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
