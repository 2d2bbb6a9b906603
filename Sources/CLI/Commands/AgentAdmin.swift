import AgentProtocol
import ArgumentParser
import Foundation
import RegistryClient

extension Modelctl.Agent {
    /// `modelctl agent token`: one-time enrollment tokens.
    struct EnrollmentToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Create, list and revoke one-time enrollment tokens (admin on '*').",
            subcommands: [Create.self, List.self, Revoke.self]
        )
    }

    /// `modelctl agent list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List enrolled agents with their labels (admin on '*')."
        )

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let agents = try await client.agents()
                    if outputOptions.isJSON { return try Terminal.printJSON(agents.agents) }
                    var table = Table("AGENT", "LABELS", "ENROLLED", "LAST SEEN")
                    let now = Date()
                    for agent in agents.agents {
                        table.add(
                            agent.name,
                            AgentText.labels(agent.labels),
                            Units.relative(agent.enrolledAt, now: now),
                            agent.lastSeen.map { Units.relative($0, now: now) } ?? "never"
                        )
                    }
                    table.print()
                }
            }
        }
    }

    /// `modelctl agent label NAME KEY=VALUE…`.
    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace an agent's labels (admin on '*'); deployments re-target it at once."
        )

        @Argument(help: ArgumentHelp("The agent.", valueName: "NAME"))
        var name: String

        @Argument(help: ArgumentHelp("Its labels (none: remove them all).", valueName: "KEY=VALUE"))
        var labels: [String] = []

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws { _ = try AgentText.parseLabels(labels) }

        func run() async throws {
            try await withExitCodes {
                let parsed = try AgentText.parseLabels(labels)
                try await withRegistry(registryOptions) { client, _ in
                    let agent = try await client.setAgentLabels(agent: name, labels: parsed)
                    if outputOptions.isJSON { return try Terminal.printJSON(agent) }
                    if !outputOptions.quiet { Terminal.print("\(agent.name): \(AgentText.labels(agent.labels))") }
                }
            }
        }
    }

    /// `modelctl agent remove NAME`.
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an agent with its device token (admin on '*'); it can no longer reach the registry."
        )

        @Argument(help: ArgumentHelp("The agent.", valueName: "NAME"))
        var name: String

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    try await client.deleteAgent(name)
                    if outputOptions.isJSON { return try Terminal.printJSON(["removed": name]) }
                    if !outputOptions.quiet { Terminal.print("removed agent \(name)") }
                }
            }
        }
    }
}

extension Modelctl.Agent.EnrollmentToken {
    /// `modelctl agent token create [--label K=V]… [--expires-in DURATION] [--description T]`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a one-time enrollment token.",
            discussion: """
                Text output is the token alone on stdout (TOKEN=$(modelctl agent token create -q)). The token's \
                labels are given to the agent that enrolls with it and win over the labels the agent asks for.
                """
        )

        @Option(
            name: .customLong("label"),
            help: ArgumentHelp("A label the agent gets; repeatable.", valueName: "KEY=VALUE")
        )
        var labels: [String] = []

        @Option(
            help: ArgumentHelp(
                "How long it stays usable: 90m, 12h, 7d (default 24h, at most 30d).",
                valueName: "DURATION"
            )
        )
        var expiresIn: String = "24h"

        @Option(help: ArgumentHelp("Free text shown in 'modelctl agent token list'.", valueName: "TEXT"))
        var description: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            _ = try AgentText.parseLabels(labels)
            _ = try AgentText.seconds(expiresIn)
        }

        func run() async throws {
            try await withExitCodes {
                let request = CreateEnrollmentTokenRequest(
                    labels: try AgentText.parseLabels(labels),
                    description: description,
                    expiresIn: try AgentText.seconds(expiresIn)
                )
                try await withRegistry(registryOptions) { client, _ in
                    let token = try await client.createEnrollmentToken(request)
                    if outputOptions.isJSON { return try Terminal.printJSON(token) }
                    Terminal.print(token.token ?? "")
                    if !outputOptions.quiet {
                        Terminal.note(
                            "enrollment token \(token.id), usable once until \(token.expiresAt.ISO8601Format()); it is shown only now"
                        )
                    }
                }
            }
        }
    }

    /// `modelctl agent token list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrollment tokens, used and unused.")

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let list = try await client.enrollmentTokens()
                    if outputOptions.isJSON { return try Terminal.printJSON(list) }
                    var table = Table("ID", "STATUS", "LABELS", "EXPIRES", "USED BY", "DESCRIPTION")
                    for token in list.tokens {
                        table.add(
                            token.id,
                            token.status,
                            AgentText.labels(token.labels),
                            token.expiresAt.ISO8601Format(),
                            token.usedBy ?? "",
                            token.description
                        )
                    }
                    table.print()
                }
            }
        }
    }

    /// `modelctl agent token revoke ID`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an unused enrollment token.")

        @Argument(help: ArgumentHelp("The token's id (16 hex digits).", valueName: "ID"))
        var id: String

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let token = try await client.revokeEnrollmentToken(id: id)
                    if outputOptions.isJSON { return try Terminal.printJSON(token) }
                    if !outputOptions.quiet { Terminal.print("enrollment token \(token.id) is \(token.status)") }
                }
            }
        }
    }
}

/// Label and duration arguments of the agent commands.
enum AgentText {
    static func parseLabels(_ texts: [String]) throws -> [String: String] {
        var labels: [String: String] = [:]
        for text in texts {
            do {
                let label = try Labels.parse(text)
                guard labels[label.key] == nil else { throw ValidationError("label '\(label.key)' is given twice") }
                labels[label.key] = label.value
            } catch let error as LabelError {
                throw ValidationError(error.description)
            }
        }
        do {
            try Labels.validate(labels)
        } catch {
            throw ValidationError(error.description)
        }
        return labels
    }

    static func labels(_ labels: [String: String]) -> String {
        labels.isEmpty ? "-" : labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// `90m`, `12h`, `7d`, `3600s` in seconds.
    static func seconds(_ text: String) throws -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let factor = units[unit], let count = Int(text.dropLast()), count > 0 else {
            throw ValidationError(
                "invalid duration '\(text)': expected a number followed by s, m, h or d (90m, 12h, 7d)"
            )
        }
        return count * factor
    }
}
