public import AgentProtocol
public import Foundation

/// Every agent's desired deployments for one fleet generation, computed from a ``FleetSnapshot``.
///
/// Per deployment, the agents whose labels match its target are ranked by rendezvous score; the strategy says how
/// many get the target version (all; the canary share; the A side of an A/B split) and what the others get (the
/// baseline; the B side). A paused deployment gives the target only to the agents that had started it; an aborted
/// one gives everyone the baseline; an agent whose install of the target failed gets the baseline. When several
/// deployments of one model target an agent, the most recently created one wins. No entry is made when the version
/// to send is unknown (a first rollout's baseline).
public struct FleetPlan: Sendable {
    public let generation: Int64
    public let agents: [String: AgentRecord]
    /// Agent id → its desired deployments, sorted by model.
    public let desired: [Int64: [DesiredDeployment]]
    /// Deployment name → agent id → the version it is given (agents matching the deployment's target only).
    public let assignments: [String: [Int64: Int]]

    public init(_ snapshot: FleetSnapshot) {
        generation = snapshot.generation
        agents = Dictionary(snapshot.agents.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var chosen: [Int64: [String: (deployment: Deployment, entry: DesiredDeployment)]] = [:]
        var assignments: [String: [Int64: Int]] = [:]
        for deployment in snapshot.deployments {
            let matching = snapshot.agents.filter { deployment.target.matches($0.labels) }
            let byName = Dictionary(matching.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
            let ranked = Rendezvous.ranked(matching.map(\.name), deployment: deployment.name)
            let share = Rendezvous.share(of: ranked.count, percent: deployment.strategy.percent)
            let members = snapshot.members[deployment.name] ?? []
            let states = snapshot.states[deployment.name] ?? [:]
            for (rank, name) in ranked.enumerated() {
                guard let agentID = byName[name] else { continue }
                let version = Self.version(
                    for: deployment,
                    inShare: rank < share,
                    isMember: members.contains(agentID),
                    state: states[agentID]
                )
                guard let version, let files = snapshot.versions[deployment.model]?[version] else { continue }
                assignments[deployment.name, default: [:]][agentID] = version
                let entry = DesiredDeployment(
                    deployment: deployment.name,
                    rollout: deployment.rollout,
                    model: deployment.model,
                    version: version,
                    label: files.label,
                    files: files.files,
                    healthCheck: deployment.healthCheck
                )
                if let existing = chosen[agentID]?[deployment.model],
                    (existing.deployment.createdAt, existing.deployment.name) > (deployment.createdAt, deployment.name)
                {
                    continue
                }
                chosen[agentID, default: [:]][deployment.model] = (deployment, entry)
            }
        }
        desired = chosen.mapValues { models in models.values.map(\.entry).sorted { $0.model < $1.model } }
        self.assignments = assignments
    }

    /// The version a matching agent gets from `deployment`, or nil for none.
    static func version(
        for deployment: Deployment,
        inShare: Bool,
        isMember: Bool,
        state: AgentDeploymentState?
    ) -> Int? {
        let target = deployment.targetVersion
        let baseline = deployment.baselineVersion
        var version: Int?
        switch deployment.strategy {
        case .all: version = target
        case .canary: version = inShare ? target : baseline
        case .ab: version = inShare ? target : deployment.otherVersion
        }
        switch deployment.status {
        case .aborted:
            return baseline
        case .paused where version == target && !isMember:
            version = baseline
        case .active, .paused:
            break
        }
        if let state, state.step.isFailure, state.rollout == deployment.rollout, state.version == version,
            version == target
        {
            return baseline
        }
        return version
    }

    /// The document for one agent (its deployments, this generation, valid from `now` for `validity`).
    public func desiredState(for agent: AgentRecord, now: Date, validity: TimeInterval) -> DesiredState {
        DesiredState(
            agent: agent.name,
            generation: generation,
            issuedAt: now,
            expiresAt: now.addingTimeInterval(validity),
            deployments: desired[agent.id] ?? []
        )
    }
}
