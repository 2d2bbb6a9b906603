import AgentProtocol
import ArgumentParser
import Foundation
import RegistryClient

extension Modelctl {
    /// `modelctl fleet [DEPLOYMENT]`.
    struct Fleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show agents: installed and desired versions, state, last seen, last error; rollout progress.",
            discussion: """
                Without DEPLOYMENT: every deployment you may read and the agents they target (every agent for an \
                administrator). With it: that deployment's agents only.
                """
        )

        @Argument(help: ArgumentHelp("Only this deployment.", valueName: "DEPLOYMENT"))
        var deployment: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let fleet = try await client.fleet(deployment: deployment)
                    if outputOptions.isJSON { return try Terminal.printJSON(fleet) }
                    for info in fleet.deployments {
                        let progress = info.progress
                        Terminal.print(
                            "\(info.name): \(info.model)\(info.selector) rollout \(info.rollout) → version \(info.targetVersion.map(String.init) ?? "-"), \(info.status)"
                                + (info.statusReason.map { " (\($0))" } ?? "")
                                + "; \(progress.active)/\(progress.assigned) active, \(progress.inProgress) in progress, \(progress.failed) failed"
                        )
                    }
                    if !fleet.deployments.isEmpty { Terminal.print("") }
                    var table = Table("AGENT", "DEPLOYMENT", "INSTALLED", "DESIRED", "STATE", "LAST SEEN", "LAST ERROR")
                    let now = Date()
                    for agent in fleet.agents {
                        let seen = agent.lastSeen.map { Units.relative($0, now: now) } ?? "never"
                        if agent.deployments.isEmpty { table.add(agent.name, "-", "-", "-", "-", seen, "") }
                        for entry in agent.deployments {
                            var state = entry.step ?? "waiting"
                            if entry.step == "downloading", let done = entry.bytesDone, let total = entry.bytesTotal {
                                state += " \(Units.bytes(done))/\(Units.bytes(total))"
                            }
                            table.add(
                                agent.name,
                                entry.deployment,
                                entry.installedVersion.map(String.init) ?? "-",
                                entry.desiredVersion.map(String.init) ?? "-",
                                state,
                                seen,
                                entry.lastError.map { String($0.prefix(80)) } ?? ""
                            )
                        }
                    }
                    table.print()
                }
            }
        }
    }
}
