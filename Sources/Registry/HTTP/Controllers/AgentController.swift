import AgentProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle

/// `/api/v1/agent/…`: what agents call with their device token — enrollment (with a one-time enrollment token in
/// the body instead), the long-polled desired state, reports and the blobs of their desired versions.
struct AgentController {
    let fleet: FleetService
    let service: RegistryService
    let authenticator: Authenticator

    func add(to router: Router<RegistryRequestContext>) {
        router.post("/api/v1/agent/enroll", use: enroll)
        router.get("/api/v1/agent/desired-state", use: desiredState)
        router.post("/api/v1/agent/reports", use: report)
        router.get("/api/v1/agent/blobs/:digest", use: blob)
        router.head("/api/v1/agent/blobs/:digest", use: blob)
    }

    @Sendable func enroll(
        _ request: Request,
        context: RegistryRequestContext
    ) async throws -> EditedResponse<
        EnrollmentResponse
    > {
        guard authenticator.mode == .tokens else {
            throw RegistryError(
                .invalidArgument,
                "agents need authentication: this registry runs with --auth none, start it with --auth tokens to enroll agents"
            )
        }
        let body = try await request.decode(as: EnrollmentRequest.self, context: context)
        guard let enrollmentToken = AccessToken(parsing: body.enrollmentToken) else {
            throw Authenticator.unauthorized(
                "the enrollment token is malformed: expected the mctl_… text that 'modelctl agent token create' printed",
                error: "invalid_token"
            )
        }
        try Validation.principalName(body.name)
        try Self.validate(labels: body.labels)
        let deviceToken = AccessToken.generate()
        let agent = try await fleet.store.enroll(
            enrollmentToken: enrollmentToken,
            name: body.name,
            labels: body.labels,
            deviceToken: deviceToken
        )
        context.logger.notice(
            "agent enrolled",
            metadata: ["agent": "\(agent.name)", "enrollment_token": "\(enrollmentToken.id)"]
        )
        return EditedResponse(
            status: .created,
            headers: [.cacheControl: "no-store"],
            response: EnrollmentResponse(
                agent: agent.name,
                labels: agent.labels,
                token: deviceToken.text,
                registryKey: fleet.signingKey.publicKey
            )
        )
    }

    @Sendable func desiredState(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        var plan = try await fleet.currentPlan()
        let agent = try Self.agent(context.identity, plan: plan)
        fleet.seen(agent.id)
        let ifNoneMatch = request.headers[.ifNoneMatch].map { $0.trimmingCharacters(in: ["\"", " "]) }
        let wait = min(
            Duration.seconds(try request.queryInt("wait", default: 30)),
            fleet.maximumWait
        )
        guard wait >= .zero else { throw RegistryError.invalid("invalid wait: expected 0 to 30 seconds") }
        let deadline = ContinuousClock.now + wait
        while true {
            let agentNow = plan.agents[agent.name] ?? agent
            let (signed, tag) = try fleet.signedState(for: agentNow, plan: plan)
            if tag != ifNoneMatch {
                var headers: HTTPFields = [
                    .contentType: "application/json",
                    .eTag: "\"\(tag)\"",
                    .cacheControl: "no-store",
                ]
                headers[HTTPField.Name("Modelctl-Fleet-Generation")!] = String(plan.generation)
                return Response(
                    status: .ok,
                    headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(data: try signed.encoded()))
                )
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || fleet.isStopping {
                return Response(status: .notModified, headers: [.eTag: "\"\(tag)\"", .cacheControl: "no-store"])
            }
            // A graceful shutdown (SIGTERM) ends held polls at once: they answer 304 and the agents poll again.
            await withGracefulShutdownHandler {
                await fleet.waitForGeneration(after: plan.generation, timeout: remaining)
            } onGracefulShutdown: {
                fleet.stopWaiting()
            }
            plan = try await fleet.currentPlan()
            guard plan.agents[agent.name] != nil else {
                throw RegistryError(.forbidden, "agent '\(agent.name)' was removed from the registry")
            }
        }
    }

    @Sendable func report(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let plan = try await fleet.currentPlan()
        let agent = try Self.agent(context.identity, plan: plan)
        fleet.seen(agent.id)
        let report = try await request.decode(as: AgentReport.self, context: context)
        try Validation.text(report.deployment, field: "deployment", maxLength: 64)
        try Validation.modelName(report.model)
        guard report.version > 0, report.rollout >= 0 else {
            throw RegistryError.invalid("invalid report: version must be positive and rollout not negative")
        }
        if let error = report.error { try Validation.text(error, field: "error", maxLength: 4000) }
        if let done = report.bytesDone, done < 0 { throw RegistryError.invalid("invalid bytes_done \(done)") }
        if let total = report.bytesTotal, total < 0 { throw RegistryError.invalid("invalid bytes_total \(total)") }
        if let halted = try await fleet.store.recordReport(agentID: agent.id, report) {
            context.logger.warning(
                "deployment halted",
                metadata: ["deployment": "\(halted.name)", "reason": "\(halted.statusReason ?? "")"]
            )
        }
        return Response(status: .noContent)
    }

    @Sendable func blob(_ request: Request, context: RegistryRequestContext) async throws -> Response {
        let digest = try context.digest()
        let plan = try await fleet.currentPlan()
        let agent = try Self.agent(context.identity, plan: plan)
        let wanted = (plan.desired[agent.id] ?? []).contains { deployment in
            deployment.files.contains { $0.digest == digest.description }
        }
        guard wanted, let size = try await service.blobSize(digest) else {
            throw RegistryError.notFound("blob \(digest) is not part of agent '\(agent.name)''s desired state")
        }
        return try await BlobResponse.make(
            location: service.blobs.blobURL(digest),
            size: size,
            digest: digest,
            request: request,
            context: context
        )
    }

    /// The enrolled agent a device token belongs to.
    static func agent(_ identity: Identity, plan: FleetPlan) throws -> AgentRecord {
        guard identity.isDevice else {
            throw RegistryError(
                .forbidden,
                "\(identity.described) is not an agent: these routes take the device token of an enrolled agent (modelctl agent enroll)"
            )
        }
        guard let agent = plan.agents[identity.name] else {
            throw RegistryError(
                .forbidden,
                "device '\(identity.name)' is not an enrolled agent: enroll it with an enrollment token (modelctl agent enroll)"
            )
        }
        return agent
    }

    static func validate(labels: [String: String]) throws {
        do {
            try Labels.validate(labels)
        } catch {
            throw RegistryError.invalid(error.description)
        }
    }
}
