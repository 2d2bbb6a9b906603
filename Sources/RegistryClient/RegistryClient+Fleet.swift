public import AgentProtocol
import AsyncHTTPClient
import Foundation
import NIOHTTP1

// `/api/v1/deployments`, `/api/v1/fleet`, `/api/v1/agents`, `/api/v1/enrollment-tokens`: deployments and the fleet.
//
// Deployments need promoter on their model to create, change, pause, resume or abort (admin to delete) and reader to
// see; a deployment of a model the token may not read is `notFound`. Agents and enrollment tokens need admin on `*`.

extension RegistryClient {
    /// Creates a one-time enrollment token (`POST /api/v1/enrollment-tokens`); its text is in
    /// ``EnrollmentTokenInfo/token``, shown only here.
    ///
    /// - Throws: ``RegistryClientError`` `invalidArgument` (bad label, expiry out of range), `forbidden`.
    public func createEnrollmentToken(_ request: CreateEnrollmentTokenRequest) async throws -> EnrollmentTokenInfo {
        try await json(EnrollmentTokenInfo.self, .POST, "/api/v1/enrollment-tokens", body: request)
    }

    /// Lists enrollment tokens, used and unused (`GET /api/v1/enrollment-tokens`).
    public func enrollmentTokens() async throws -> EnrollmentTokenList {
        try await json(EnrollmentTokenList.self, .GET, "/api/v1/enrollment-tokens")
    }

    /// Revokes an enrollment token (`DELETE /api/v1/enrollment-tokens/{id}`).
    public func revokeEnrollmentToken(id: String) async throws -> EnrollmentTokenInfo {
        try await json(EnrollmentTokenInfo.self, .DELETE, "/api/v1/enrollment-tokens/\(Self.segment(id))")
    }

    /// Every enrolled agent with its deployments (`GET /api/v1/agents`).
    public func agents() async throws -> FleetStatus {
        try await json(FleetStatus.self, .GET, "/api/v1/agents")
    }

    /// Replaces an agent's labels (`PUT /api/v1/agents/{name}/labels`).
    public func setAgentLabels(agent: String, labels: [String: String]) async throws -> AgentStatus {
        try await json(
            AgentStatus.self,
            .PUT,
            "/api/v1/agents/\(Self.segment(agent))/labels",
            body: AgentLabelsRequest(labels: labels)
        )
    }

    /// Removes an agent, its device principal and tokens (`DELETE /api/v1/agents/{name}`).
    public func deleteAgent(_ agent: String) async throws {
        _ = try await exchange(.DELETE, "/api/v1/agents/\(Self.segment(agent))")
    }

    /// Creates a deployment (`POST /api/v1/deployments`).
    ///
    /// - Throws: ``RegistryClientError`` `notFound` when the selector names no READY version, `alreadyExists` for
    ///   a taken name, `invalidArgument`, `forbidden` without promoter on the model.
    public func createDeployment(_ request: CreateDeploymentRequest) async throws -> DeploymentInfo {
        try await json(DeploymentInfo.self, .POST, "/api/v1/deployments", body: request)
    }

    /// Deployments of the models the token may read (`GET /api/v1/deployments`).
    public func deployments() async throws -> DeploymentList {
        try await json(DeploymentList.self, .GET, "/api/v1/deployments")
    }

    /// One deployment with its rollout progress (`GET /api/v1/deployments/{name}`).
    public func deployment(named name: String) async throws -> DeploymentInfo {
        try await json(DeploymentInfo.self, .GET, Self.deploymentPath(name))
    }

    /// Changes a deployment's strategy: widen or narrow a canary, change A/B weights
    /// (`PATCH /api/v1/deployments/{name}`).
    public func changeDeployment(named name: String, _ change: DeploymentChangeRequest) async throws -> DeploymentInfo {
        try await json(DeploymentInfo.self, .PATCH, Self.deploymentPath(name), body: change)
    }

    /// What ``pauseDeployment(named:reason:)``, ``resumeDeployment(named:)`` and ``abortDeployment(named:reason:)``
    /// do.
    public enum DeploymentAction: String, Sendable {
        case pause, resume, abort
    }

    /// Pauses, resumes or aborts a deployment (`POST /api/v1/deployments/{name}/{action}`).
    ///
    /// - Throws: ``RegistryClientError`` `conflict` when the deployment is not in a state the action applies to.
    public func deploymentAction(
        _ action: DeploymentAction,
        named name: String,
        reason: String? = nil
    ) async throws
        -> DeploymentInfo
    {
        try await json(
            DeploymentInfo.self,
            .POST,
            Self.deploymentPath(name) + "/\(action.rawValue)",
            body: DeploymentChangeRequest(reason: reason)
        )
    }

    /// Deletes a deployment (`DELETE /api/v1/deployments/{name}`); agents keep what they run.
    public func deleteDeployment(named name: String) async throws {
        _ = try await exchange(.DELETE, Self.deploymentPath(name))
    }

    /// The fleet: deployments the token may read and the agents they target, or one deployment's
    /// (`GET /api/v1/fleet[?deployment=NAME]`).
    public func fleet(deployment: String? = nil) async throws -> FleetStatus {
        try await json(FleetStatus.self, .GET, "/api/v1/fleet", query: deployment.map { [("deployment", $0)] } ?? [])
    }

    static func deploymentPath(_ name: String) -> String { "/api/v1/deployments/\(segment(name))" }
}
