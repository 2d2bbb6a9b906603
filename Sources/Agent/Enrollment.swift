import AgentProtocol
public import Foundation
public import Logging
import RegistryClient

/// `modelctl agent enroll`: exchanges a one-time enrollment token for the agent's device token and stores it, with
/// the registry's key, in the state directory.
public enum Enrollment {
    /// Enrolls `name` and writes `STATE/agent.json` and `STATE/token` (0600).
    ///
    /// - Throws: ``AgentError`` `configuration` when the state directory already holds an agent (checked before the
    ///   token is used); ``RegistryClientError`` from the registry (`unauthorized` for a bad enrollment token,
    ///   `conflict` for a taken name).
    public static func enroll(
        registry: URL,
        enrollmentToken: String,
        name: String,
        labels: [String: String],
        stateDirectory: URL,
        caCertificates: URL? = nil,
        logger: Logger
    ) async throws -> AgentIdentity {
        let state = StateDirectory(stateDirectory)
        guard !state.isEnrolled else {
            throw AgentError(
                .configuration,
                "\(stateDirectory.path) already holds an enrolled agent; use another --state-dir or remove it"
            )
        }
        try Files.createDirectory(stateDirectory)
        let client = RegistryClient(
            configuration: RegistryClientConfiguration(
                baseURL: registry,
                userAgent: RegistryClientConfiguration.userAgent(version: "agent"),
                caCertificates: caCertificates
            ),
            logger: logger
        )
        let response: EnrollmentResponse
        do {
            response = try await client.enroll(
                EnrollmentRequest(enrollmentToken: enrollmentToken, name: name, labels: labels)
            )
            try? await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
        let identity = AgentIdentity(
            registry: registry,
            agent: response.agent,
            labels: response.labels,
            registryKeys: [response.registryKey]
        )
        try state.saveEnrollment(identity, token: response.token)
        return identity
    }
}
