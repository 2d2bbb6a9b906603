import AgentProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `/api/v1/deployments`, `/api/v1/fleet`, `/api/v1/agents`, `/api/v1/enrollment-tokens`: deployments and the fleet
/// as people and pipelines manage them.
///
/// Deployments need promoter on their model to create or change (admin to delete), reader to see. Agents and
/// enrollment tokens need admin on `*`.
struct FleetController {
    let fleet: FleetService
    let authenticator: Authenticator

    var store: any MetadataStore { fleet.store }

    func add(to router: Router<RegistryRequestContext>) {
        router.post("/api/v1/enrollment-tokens", use: createEnrollmentToken)
        router.get("/api/v1/enrollment-tokens", use: listEnrollmentTokens)
        router.delete("/api/v1/enrollment-tokens/:id", use: revokeEnrollmentToken)
        router.get("/api/v1/agents", use: listAgents)
        router.put("/api/v1/agents/:agent/labels", use: setAgentLabels)
        router.delete("/api/v1/agents/:agent", use: deleteAgent)
        router.post("/api/v1/deployments", use: createDeployment)
        router.get("/api/v1/deployments", use: listDeployments)
        router.get("/api/v1/deployments/:deployment", use: getDeployment)
        router.patch("/api/v1/deployments/:deployment", use: changeStrategy)
        router.delete("/api/v1/deployments/:deployment", use: deleteDeployment)
        router.post("/api/v1/deployments/:deployment/pause", use: pause)
        router.post("/api/v1/deployments/:deployment/resume", use: resume)
        router.post("/api/v1/deployments/:deployment/abort", use: abort)
        router.get("/api/v1/fleet", use: fleetStatus)
    }

    // MARK: Enrollment tokens

    @Sendable func createEnrollmentToken(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> EditedResponse<EnrollmentTokenInfo>
    {
        let body = try await request.decode(as: CreateEnrollmentTokenRequest.self, context: context)
        let labels = body.labels ?? [:]
        try AgentController.validate(labels: labels)
        try Validation.text(body.description ?? "", field: "description", maxLength: 1000)
        let seconds = body.expiresIn ?? 24 * 3600
        guard (60...(30 * 24 * 3600)).contains(seconds) else {
            throw RegistryError.invalid(
                "invalid expires_in \(seconds): expected 60 to 2592000 seconds (30 days)"
            )
        }
        let token = AccessToken.generate()
        let now = Date()
        let record = try await store.createEnrollmentToken(
            token,
            labels: labels,
            description: body.description ?? "",
            expiresAt: now.addingTimeInterval(TimeInterval(seconds)),
            actor: context.principal
        )
        context.logger.notice("enrollment token created", metadata: ["enrollment_token": "\(record.id)"])
        var info = Self.info(record, now: now)
        info.token = token.text
        return EditedResponse(status: .created, headers: [.cacheControl: "no-store"], response: info)
    }

    @Sendable func listEnrollmentTokens(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> EnrollmentTokenList
    {
        let now = Date()
        return EnrollmentTokenList(tokens: try await store.enrollmentTokens().map { Self.info($0, now: now) })
    }

    @Sendable func revokeEnrollmentToken(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> EnrollmentTokenInfo
    {
        let id = try context.string("id")
        guard AccessToken.isValidID(id) else {
            throw RegistryError.invalid(
                "invalid enrollment token id '\(Validation.printable(id))': expected the 16 hex digits after 'mctl_'"
            )
        }
        return Self.info(try await store.revokeEnrollmentToken(id: id, actor: context.principal), now: Date())
    }

    static func info(_ record: EnrollmentTokenRecord, now: Date) -> EnrollmentTokenInfo {
        EnrollmentTokenInfo(
            id: record.id,
            labels: record.labels,
            description: record.description,
            status: record.status(at: now).rawValue,
            createdBy: record.createdBy,
            createdAt: record.createdAt,
            expiresAt: record.expiresAt,
            usedAt: record.usedAt,
            usedBy: record.usedBy,
            token: nil
        )
    }

    // MARK: Agents

    @Sendable func listAgents(_ request: Request, context: RegistryRequestContext) async throws -> FleetStatus {
        try await status(deployment: nil, context: context)
    }

    @Sendable func setAgentLabels(_ request: Request, context: RegistryRequestContext) async throws -> AgentStatus {
        let name = try context.string("agent")
        try Validation.principalName(name)
        let body = try await request.decode(as: AgentLabelsRequest.self, context: context)
        try AgentController.validate(labels: body.labels)
        let agent = try await store.setAgentLabels(named: name, labels: body.labels, actor: context.principal)
        return AgentStatus(
            name: agent.name,
            labels: agent.labels,
            enrolledAt: agent.enrolledAt,
            lastSeen: agent.lastSeen,
            deployments: []
        )
    }

    @Sendable func deleteAgent(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let name = try context.string("agent")
        try Validation.principalName(name)
        try await store.deleteAgent(named: name, actor: context.principal)
        // Its token goes with it: forget the cached credentials so that the next request is refused at once.
        authenticator.invalidate()
        return Response(status: .noContent)
    }

    // MARK: Deployments

    @Sendable func createDeployment(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> EditedResponse<DeploymentInfo>
    {
        let body = try await request.decode(as: CreateDeploymentRequest.self, context: context)
        try Self.validateName(body.name)
        try Validation.modelName(body.model)
        try context.identity.require(.promoter, on: body.model)
        let selector = try VersionSelector(kind: body.selectorKind, value: body.selector)
        let target: LabelSelector
        do {
            target = try LabelSelector(parsing: body.target ?? "")
        } catch {
            throw RegistryError.invalid(error.description)
        }
        let strategy = try Self.strategy(
            body.strategy ?? "all",
            percent: body.percent,
            otherKind: body.otherSelectorKind,
            other: body.otherSelector
        )
        if let check = body.healthCheck {
            try Validation.text(check.command, field: "health_check.command", maxLength: 4000)
            guard !check.command.isEmpty, (1...3600).contains(check.timeoutSeconds) else {
                throw RegistryError.invalid(
                    "invalid health check: the command must not be empty and timeout_seconds must be 1 to 3600 (got \(check.timeoutSeconds))"
                )
            }
        }
        if let threshold = body.failureThreshold, !(0...100).contains(threshold) {
            throw RegistryError.invalid("invalid failure_threshold \(threshold): expected a percentage from 0 to 100")
        }
        let deployment = try await store.createDeployment(
            NewDeployment(
                name: body.name,
                model: body.model,
                selector: selector,
                target: target,
                strategy: strategy,
                healthCheck: body.healthCheck,
                failureThreshold: body.failureThreshold
            ),
            actor: context.principal
        )
        return EditedResponse(
            status: .created,
            headers: [.location: "/api/v1/deployments/\(deployment.name)"],
            response: try await info(deployment)
        )
    }

    @Sendable func listDeployments(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws
        -> DeploymentList
    {
        let snapshot = try await store.fleetSnapshot()
        let plan = FleetPlan(snapshot)
        return DeploymentList(
            deployments: snapshot.deployments.filter { context.identity.can(.reader, on: $0.model) }
                .map { Self.info($0, snapshot: snapshot, plan: plan) }
        )
    }

    @Sendable func getDeployment(_ request: Request, context: RegistryRequestContext) async throws -> DeploymentInfo {
        let deployment = try await readable(context, role: .reader)
        return try await info(deployment)
    }

    @Sendable func changeStrategy(_ request: Request, context: RegistryRequestContext) async throws -> DeploymentInfo {
        let deployment = try await readable(context, role: .promoter)
        let body = try await request.decode(as: DeploymentChangeRequest.self, context: context)
        let strategy = try Self.strategy(
            body.strategy ?? deployment.strategy.name,
            percent: body.percent,
            otherKind: body.otherSelectorKind,
            other: body.otherSelector,
            current: deployment.strategy
        )
        return try await info(
            try await store.changeDeployment(named: deployment.name, .strategy(strategy), actor: context.principal)
        )
    }

    @Sendable func pause(_ request: Request, context: RegistryRequestContext) async throws -> DeploymentInfo {
        try await change(request, context) { .pause(reason: $0) }
    }

    @Sendable func resume(_ request: Request, context: RegistryRequestContext) async throws -> DeploymentInfo {
        try await change(request, context) { _ in .resume }
    }

    @Sendable func abort(_ request: Request, context: RegistryRequestContext) async throws -> DeploymentInfo {
        try await change(request, context) { .abort(reason: $0) }
    }

    @Sendable func deleteDeployment(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let deployment = try await readable(context, role: .admin)
        try await store.deleteDeployment(named: deployment.name, actor: context.principal)
        return Response(status: .noContent)
    }

    private func change(
        _ request: Request,
        _ context: RegistryRequestContext,
        _ make: (String?) -> DeploymentChange
    ) async throws -> DeploymentInfo {
        let deployment = try await readable(context, role: .promoter)
        var reason: String?
        if let length = request.headers[.contentLength], length != "0" {
            reason = try await request.decode(as: DeploymentChangeRequest.self, context: context).reason
        }
        if let reason { try Validation.text(reason, field: "reason", maxLength: 1000) }
        return try await info(
            try await store.changeDeployment(named: deployment.name, make(reason), actor: context.principal)
        )
    }

    /// The deployment of the path, when the caller holds `role` on its model. A deployment of a model the caller may
    /// not read is "not found" for it.
    private func readable(_ context: RegistryRequestContext, role: Role) async throws -> Deployment {
        let name = try context.string("deployment")
        try Self.validateName(name)
        let deployment = try await store.deployment(named: name)
        guard context.identity.can(.reader, on: deployment.model) else {
            throw RegistryError.notFound("deployment '\(name)' does not exist")
        }
        try context.identity.require(role, on: deployment.model)
        return deployment
    }

    // MARK: Fleet

    @Sendable func fleetStatus(_ request: Request, context: RegistryRequestContext) async throws -> FleetStatus {
        let name = request.uri.queryParameters.get("deployment")
        if let name { try Self.validateName(name) }
        return try await status(deployment: name, context: context)
    }

    /// The fleet as the caller may see it: deployments of models it reads, and the agents they target (every agent
    /// for an administrator).
    private func status(deployment name: String?, context: RegistryRequestContext) async throws -> FleetStatus {
        let snapshot = try await store.fleetSnapshot()
        let plan = FleetPlan(snapshot)
        var deployments = snapshot.deployments.filter { context.identity.can(.reader, on: $0.model) }
        if let name {
            deployments = deployments.filter { $0.name == name }
            guard !deployments.isEmpty else { throw RegistryError.notFound("deployment '\(name)' does not exist") }
        }
        let pending = fleet.pendingLastSeen()
        let everyone = name == nil && context.identity.isAdministrator
        var agents: [AgentStatus] = []
        for agent in snapshot.agents {
            let concerned = deployments.filter { deployment in
                deployment.target.matches(agent.labels) || snapshot.states[deployment.name]?[agent.id] != nil
            }
            guard everyone || !concerned.isEmpty else { continue }
            let lastSeen = [agent.lastSeen, pending[agent.id]].compactMap { $0 }.max()
            agents.append(
                AgentStatus(
                    name: agent.name,
                    labels: agent.labels,
                    enrolledAt: agent.enrolledAt,
                    lastSeen: lastSeen,
                    deployments: concerned.map { deployment in
                        let state = snapshot.states[deployment.name]?[agent.id]
                        return AgentDeploymentStatus(
                            deployment: deployment.name,
                            model: deployment.model,
                            desiredVersion: plan.assignments[deployment.name]?[agent.id],
                            installedVersion: state?.activeVersion,
                            step: state?.step.rawValue,
                            stepVersion: state?.version,
                            rollout: state?.rollout,
                            bytesDone: state?.bytesDone,
                            bytesTotal: state?.bytesTotal,
                            lastError: state?.error,
                            updatedAt: state?.updatedAt
                        )
                    }
                )
            )
        }
        return FleetStatus(
            generation: snapshot.generation,
            deployments: deployments.map { Self.info($0, snapshot: snapshot, plan: plan) },
            agents: agents
        )
    }

    // MARK: Shapes

    private func info(_ deployment: Deployment) async throws -> DeploymentInfo {
        let snapshot = try await store.fleetSnapshot()
        let current = snapshot.deployments.first { $0.name == deployment.name } ?? deployment
        return Self.info(current, snapshot: snapshot, plan: FleetPlan(snapshot))
    }

    static func info(_ deployment: Deployment, snapshot: FleetSnapshot, plan: FleetPlan) -> DeploymentInfo {
        let states = (snapshot.states[deployment.name] ?? [:]).values.filter {
            $0.rollout == deployment.rollout && $0.version == deployment.targetVersion
        }
        let assigned = (plan.assignments[deployment.name] ?? [:]).values.filter { $0 == deployment.targetVersion }
        var other: String?
        if case .ab(_, let selector) = deployment.strategy { other = selector.description }
        return DeploymentInfo(
            name: deployment.name,
            model: deployment.model,
            selector: deployment.selector.description,
            target: deployment.target.description,
            strategy: deployment.strategy.name,
            percent: deployment.strategy.percent,
            otherSelector: other,
            healthCheck: deployment.healthCheck,
            failureThreshold: deployment.failureThreshold,
            status: deployment.status.rawValue,
            statusReason: deployment.statusReason,
            rollout: deployment.rollout,
            targetVersion: deployment.targetVersion,
            baselineVersion: deployment.baselineVersion,
            otherVersion: deployment.otherVersion,
            progress: RolloutProgress(
                targeted: snapshot.agents.filter { deployment.target.matches($0.labels) }.count,
                assigned: assigned.count,
                active: states.filter { $0.step == .active }.count,
                failed: states.filter { $0.step.isFailure }.count,
                inProgress: states.filter { !$0.step.isFinal }.count
            ),
            createdBy: deployment.createdBy,
            createdAt: deployment.createdAt,
            updatedAt: deployment.updatedAt
        )
    }

    static func validateName(_ name: String) throws {
        guard Validation.isToken(name, maxLength: 64, extra: "._-") else {
            throw RegistryError.invalid(
                "invalid deployment name '\(Validation.printable(name))': use 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit"
            )
        }
    }

    static func strategy(
        _ name: String,
        percent: Int?,
        otherKind: String?,
        other: String?,
        current: DeploymentStrategy? = nil
    ) throws -> DeploymentStrategy {
        func share(_ what: String) throws -> Int {
            guard let percent = percent ?? (current.map(\.percent)) else {
                throw RegistryError.invalid("the \(what) strategy needs percent (1 to 100)")
            }
            guard (1...100).contains(percent) else {
                throw RegistryError.invalid("invalid percent \(percent): expected 1 to 100")
            }
            return percent
        }
        switch name {
        case "all":
            return .all
        case "canary":
            return .canary(percent: try share("canary"))
        case "ab":
            let selector: VersionSelector
            if let otherKind, let other {
                selector = try VersionSelector(kind: otherKind, value: other)
            } else if case .ab(_, let existing) = current {
                selector = existing
            } else {
                throw RegistryError.invalid(
                    "the ab strategy needs the B side: other_selector_kind (version, alias, stage) and other_selector"
                )
            }
            return .ab(percent: try share("ab"), other: selector)
        default:
            throw RegistryError.invalid(
                "invalid strategy '\(Validation.printable(name))': expected one of all, canary, ab"
            )
        }
    }
}
