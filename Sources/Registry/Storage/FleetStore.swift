public import AgentProtocol
public import Foundation

/// Durable agents, enrollment tokens, deployments and what agents report.
///
/// Every change that can alter an agent's desired state raises the fleet generation in the same transaction
/// (triggers of `migrations/sqlite/0004_deployments.sql`).
public protocol FleetStore: Sendable {
    func createEnrollmentToken(
        _ token: AccessToken,
        labels: [String: String],
        description: String,
        expiresAt: Date,
        actor: Principal
    ) async throws -> EnrollmentTokenRecord
    func enrollmentTokens() async throws -> [EnrollmentTokenRecord]
    /// Revokes an unused enrollment token; `notFound` for an unknown id.
    func revokeEnrollmentToken(id: String, actor: Principal) async throws -> EnrollmentTokenRecord
    /// Uses a one-time enrollment token: creates the device principal `name` with `deviceToken` and its agent, with
    /// the token's labels over the asked ones, and marks the enrollment token used — all in one transaction.
    ///
    /// - Throws: `unauthenticated` for an unknown, wrong, used, expired or revoked enrollment token (one message for
    ///   all, so a guesser learns nothing); `alreadyExists` when a principal of that name exists.
    func enroll(
        enrollmentToken: AccessToken,
        name: String,
        labels: [String: String],
        deviceToken: AccessToken
    ) async throws -> AgentRecord
    func agents() async throws -> [AgentRecord]
    func agent(named name: String) async throws -> AgentRecord
    /// Replaces an agent's labels.
    func setAgentLabels(named name: String, labels: [String: String], actor: Principal) async throws -> AgentRecord
    /// Removes an agent with its device principal and tokens.
    func deleteAgent(named name: String, actor: Principal) async throws
    /// Records when agents were last heard from (batched by the caller).
    func touchAgents(_ seen: [Int64: Date]) async throws

    func createDeployment(_ deployment: NewDeployment, actor: Principal) async throws -> Deployment
    func deployments() async throws -> [Deployment]
    func deployment(named name: String) async throws -> Deployment
    func changeDeployment(named name: String, _ change: DeploymentChange, actor: Principal) async throws -> Deployment
    func deleteDeployment(named name: String, actor: Principal) async throws

    /// The current fleet generation.
    func fleetGeneration() async throws -> Int64
    /// Everything desired states are computed from, in one read. Deployments whose selector now resolves to
    /// another version first start a new rollout (one write, audited as `deployment.rollout` by `system`).
    func fleetSnapshot() async throws -> FleetSnapshot
    /// Stores an agent's report. A failure that takes the deployment's failed share above its threshold pauses it
    /// (`deployment.halted`), in the same transaction.
    ///
    /// - Returns: the deployment when this report halted it.
    /// - Throws: `notFound` for an unknown deployment.
    func recordReport(agentID: Int64, _ report: AgentReport) async throws -> Deployment?
}
