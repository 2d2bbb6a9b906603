import AgentProtocol
import Foundation
import Testing

@Suite struct DesiredStateSignatureTests {
    let key = RegistrySigningKey.generate()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func state(agent: String = "cam-1", generation: Int64 = 5, expiresIn: TimeInterval = 3600) -> DesiredState {
        DesiredState(
            agent: agent,
            generation: generation,
            issuedAt: now,
            expiresAt: now.addingTimeInterval(expiresIn),
            deployments: [
                DesiredDeployment(
                    deployment: "plant-3",
                    rollout: 1,
                    model: "detector",
                    version: 7,
                    label: nil,
                    files: [
                        DesiredFile(path: "model.onnx", size: 3, digest: "sha256:" + String(repeating: "a", count: 64))
                    ],
                    healthCheck: HealthCheck(command: "./check.sh", timeoutSeconds: 30)
                )
            ]
        )
    }

    @Test func aSignedDocumentVerifiesAndRoundTripsThroughItsJSON() throws {
        let envelope = try SignedDesiredState(signing: state(), with: key)
        let decoded = try SignedDesiredState.decode(try envelope.encoded())
        let verifier = DesiredStateVerifier(trustedKeys: [key.publicKey], agent: "cam-1")
        let verified = try verifier.verify(decoded, acceptedGeneration: 5, now: now)
        #expect(verified == state())
    }

    @Test func everyKindOfBadDocumentIsRefusedWithItsReason() throws {
        let verifier = DesiredStateVerifier(trustedKeys: [key.publicKey], agent: "cam-1")
        var envelope = try SignedDesiredState(signing: state(), with: key)

        var unsigned = envelope
        unsigned.signatures = []
        #expect(throws: DesiredStateError.unsigned) { try verifier.verify(unsigned, acceptedGeneration: nil, now: now) }

        let other = RegistrySigningKey.generate()
        let foreign = try SignedDesiredState(signing: state(), with: other)
        #expect(throws: DesiredStateError.untrustedKey(keyIDs: [other.keyID])) {
            try verifier.verify(foreign, acceptedGeneration: nil, now: now)
        }

        var tampered = envelope
        var payload = String(decoding: tampered.payload, as: UTF8.self)
        payload = payload.replacingOccurrences(of: "\"version\":7", with: "\"version\":8")
        tampered.payload = Data(payload.utf8)
        #expect(throws: DesiredStateError.badSignature(keyID: key.keyID)) {
            try verifier.verify(tampered, acceptedGeneration: nil, now: now)
        }

        #expect(throws: DesiredStateError.rollback(generation: 5, accepted: 6)) {
            try verifier.verify(envelope, acceptedGeneration: 6, now: now)
        }
        let later = now.addingTimeInterval(3601)
        #expect(throws: DesiredStateError.expired(expiresAt: now.addingTimeInterval(3600), now: later)) {
            try verifier.verify(envelope, acceptedGeneration: nil, now: later)
        }
        let otherAgent = DesiredStateVerifier(trustedKeys: [key.publicKey], agent: "cam-2")
        #expect(throws: DesiredStateError.wrongAgent(document: "cam-1", agent: "cam-2")) {
            try otherAgent.verify(envelope, acceptedGeneration: nil, now: now)
        }
        envelope.payloadType = "application/json"
        #expect(throws: DesiredStateError.self) { try verifier.verify(envelope, acceptedGeneration: nil, now: now) }
    }

    @Test func theContentTagIgnoresGenerationAndTimesButNotWhatToRun() {
        let a = state(generation: 5)
        var b = state(generation: 9, expiresIn: 99)
        #expect(a.contentTag == b.contentTag)
        b.deployments[0].version = 8
        #expect(a.contentTag != b.contentTag)
    }

    @Test func canariesWidenWithoutLosingAgents() {
        let agents = (0..<200).map { "agent-\($0)" }
        let ranked = Rendezvous.ranked(agents, deployment: "d1")
        let ten = Set(ranked.prefix(Rendezvous.share(of: 200, percent: 10)))
        let quarter = Set(ranked.prefix(Rendezvous.share(of: 200, percent: 25)))
        #expect(ten.count == 20 && quarter.count == 50 && ten.isSubset(of: quarter))
        #expect(Rendezvous.ranked(agents.reversed(), deployment: "d1") == ranked)
        #expect(Rendezvous.ranked(agents, deployment: "d2") != ranked)
        #expect(Rendezvous.share(of: 3, percent: 1) == 1)
        #expect(Rendezvous.share(of: 0, percent: 50) == 0)
    }

    @Test func labelSelectorsParseMatchAndNameBadTerms() throws {
        let selector = try LabelSelector(parsing: "site=plant-3, gpu!=none")
        #expect(selector.description == "site=plant-3,gpu!=none")
        #expect(selector.matches(["site": "plant-3", "gpu": "jetson"]))
        #expect(!selector.matches(["site": "plant-3", "gpu": "none"]))
        #expect(!selector.matches(["site": "plant-4"]))
        #expect(try LabelSelector(parsing: "").matches([:]))
        #expect(throws: LabelError.self) { try LabelSelector(parsing: "site") }
        #expect(throws: LabelError.self) { try LabelSelector(parsing: "Site=x") }
        #expect(throws: LabelError.self) { try LabelSelector(parsing: "site=a b") }
        #expect(throws: LabelError.self) { try LabelSelector(parsing: "site=x,,gpu=y") }
    }
}
