/// Why the agent could not do a step. The CLI turns these into messages and exit codes.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable {
        case configuration
        case refusedDocument
        case download
        case verification
        case install
        case healthCheck
        case diskSpace
        case fileSystem
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
