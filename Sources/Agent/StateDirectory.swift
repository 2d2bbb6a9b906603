public import AgentProtocol
public import Foundation

/// What an agent knows about itself, kept in `STATE/agent.json`: the registry, its name and labels, and the key it
/// trusts for desired states (given at enrollment).
public struct AgentIdentity: Codable, Sendable, Equatable {
    public var registry: URL
    public var agent: String
    public var labels: [String: String]
    public var registryKeys: [RegistryPublicKey]

    public init(registry: URL, agent: String, labels: [String: String], registryKeys: [RegistryPublicKey]) {
        self.registry = registry
        self.agent = agent
        self.labels = labels
        self.registryKeys = registryKeys
    }

    enum CodingKeys: String, CodingKey {
        case registry, agent, labels
        case registryKeys = "registry_keys"
    }
}

/// The agent's state directory:
///
/// ```
/// STATE/agent.json             identity (registry, name, labels, trusted registry key)
/// STATE/token                  the device token (0600)
/// STATE/desired-state.json     the last accepted document, exactly as received
/// STATE/accepted.json          its generation and content tag
/// STATE/failed.json            installs that failed, per deployment and rollout (not retried)
/// STATE/blobs/sha256/<hex>     verified blobs (content-addressed cache)
/// STATE/blobs/partial/<hex>    downloads in progress (resumed with Range)
/// STATE/models/                the default install root
/// ```
///
/// Every file is replaced atomically (``Files/writeAtomically(_:to:mode:)``).
public struct StateDirectory: Sendable {
    public let root: URL

    public init(_ root: URL) { self.root = root }

    var identityFile: URL { root.appending(path: "agent.json") }
    var tokenFile: URL { root.appending(path: "token") }
    var documentFile: URL { root.appending(path: "desired-state.json") }
    var acceptedFile: URL { root.appending(path: "accepted.json") }
    var failedFile: URL { root.appending(path: "failed.json") }
    public var blobs: URL { root.appending(path: "blobs") }
    public var defaultInstallRoot: URL { root.appending(path: "models") }

    public var isEnrolled: Bool { Files.exists(identityFile) }

    /// Writes the identity and the device token of a new enrollment. Refuses a directory that has an agent.
    public func saveEnrollment(_ identity: AgentIdentity, token: String) throws {
        try Files.createDirectory(root)
        guard !isEnrolled else {
            throw AgentError(
                .configuration,
                "\(root.path) already holds an enrolled agent (\(identityFile.path)); use another --state-dir or remove it"
            )
        }
        try Files.writeAtomically(Data((token + "\n").utf8), to: tokenFile, mode: 0o600)
        try Files.writeAtomically(try Self.encoder.encode(identity), to: identityFile)
    }

    public func identity() throws -> AgentIdentity {
        guard let data = FileManager.default.contents(atPath: identityFile.path) else {
            throw AgentError(
                .configuration,
                "\(root.path) holds no enrolled agent: run 'modelctl agent enroll' with this --state-dir first"
            )
        }
        do {
            return try Self.decoder.decode(AgentIdentity.self, from: data)
        } catch {
            throw AgentError(.configuration, "\(identityFile.path) is not an agent identity: \(error)")
        }
    }

    public func token() throws -> String {
        guard let data = FileManager.default.contents(atPath: tokenFile.path) else {
            throw AgentError(.configuration, "\(tokenFile.path) is missing: enroll again or pass --token")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The accepted document's generation and tag.
    public struct Accepted: Codable, Sendable, Equatable {
        public var generation: Int64
        public var etag: String
    }

    /// The last accepted document (as received) and its record, or nil.
    public func accepted() -> (SignedDesiredState, Accepted)? {
        guard let data = FileManager.default.contents(atPath: documentFile.path),
            let record = FileManager.default.contents(atPath: acceptedFile.path),
            let envelope = try? SignedDesiredState.decode(data),
            let accepted = try? Self.decoder.decode(Accepted.self, from: record)
        else { return nil }
        return (envelope, accepted)
    }

    /// Records an accepted document: the generation first, so that a crash never leaves a newer document with an
    /// older floor.
    func saveAccepted(_ envelope: SignedDesiredState, _ accepted: Accepted) throws {
        try Files.writeAtomically(try Self.encoder.encode(accepted), to: acceptedFile)
        try Files.writeAtomically(try envelope.encoded(), to: documentFile)
    }

    /// `deployment/rollout/version` of installs that failed.
    func failedInstalls() -> Set<String> {
        guard let data = FileManager.default.contents(atPath: failedFile.path) else { return [] }
        return (try? Self.decoder.decode(Set<String>.self, from: data)) ?? []
    }

    func saveFailedInstalls(_ keys: Set<String>) throws {
        try Files.writeAtomically(try Self.encoder.encode(keys.sorted()), to: failedFile)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    static var decoder: JSONDecoder { JSONDecoder() }
}
