import AgentProtocol
import ArgumentParser
import Foundation
import Registry
import RegistryClient

extension Modelctl {
    /// `modelctl deploy`: deployments of model versions to agents.
    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a model version to agents, and manage deployments.",
            discussion: """
                'modelctl deploy REF --target SELECTOR' creates a deployment (see 'modelctl deploy create --help'). \
                A deployment that follows an alias or a stage starts a new rollout whenever it moves (promote, \
                rollback). Creating and changing need promoter on the model, deleting needs admin.
                """,
            subcommands: [
                Create.self, List.self, Show.self, Set.self, Pause.self, Resume.self, Abort.self, Delete.self,
            ],
            defaultSubcommand: Create.self
        )
    }
}

extension Modelctl.Deploy {
    /// `modelctl deploy [create] REF --target SELECTOR [--strategy all|canary:PCT|ab:PCT --other REF] …`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a deployment.",
            discussion: """
                REF is NAME@ALIAS or NAME/STAGE (followed as it moves) or NAME:VERSION (pinned). --target selects \
                agents by label: 'site=plant-3,gpu!=none' (every term must hold; \"\" for every agent). \
                --strategy canary:PCT gives the version to PCT % of the targeted agents, chosen by rendezvous \
                hashing so the same agents stay in as the canary widens ('modelctl deploy set NAME --strategy \
                canary:50'); the others keep the version of the previous rollout. ab:PCT gives REF to PCT % and \
                --other REF to the rest. --failure-threshold PCT halts (pauses) the rollout when more than PCT % \
                of the agents that started it failed. --health-check runs on each agent in the new version's \
                directory before it is switched to; a failure keeps the previous version.
                """
        )

        @Argument(
            help: ArgumentHelp("The version: NAME@ALIAS, NAME/STAGE or NAME:VERSION.", valueName: "REF"),
            transform: ModelReference.init(parsing:)
        )
        var reference: ModelReference

        @Option(help: ArgumentHelp("Agents by label, such as site=plant-3,gpu=jetson.", valueName: "SELECTOR"))
        var target: String

        @Option(help: ArgumentHelp("all (default), canary:PCT or ab:PCT.", valueName: "STRATEGY"))
        var strategy: String = "all"

        @Option(help: ArgumentHelp("For ab: the B side, a reference to the same model.", valueName: "REF"))
        var other: String?

        @Option(
            help: ArgumentHelp(
                "The deployment's name (default: MODEL-ALIAS, MODEL-STAGE or MODEL-VERSION).",
                valueName: "NAME"
            )
        )
        var name: String?

        @Option(
            help: ArgumentHelp("A shell command run in the new version's directory before switching.", valueName: "CMD")
        )
        var healthCheck: String?

        @Option(help: ArgumentHelp("Seconds the health check may take (1-3600, default 60).", valueName: "SECONDS"))
        var healthTimeout: Int = 60

        @Option(help: ArgumentHelp("Halt when more than PCT % of the agents that started failed.", valueName: "PCT"))
        var failureThreshold: Int?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            do {
                _ = try LabelSelector(parsing: target)
            } catch {
                throw ValidationError(error.description)
            }
            _ = try DeploymentArguments.selector(reference)
            let parsed = try DeploymentArguments.strategy(strategy)
            if parsed.name == "ab", other == nil { throw ValidationError("--strategy ab:PCT needs --other REF") }
            if parsed.name != "ab", other != nil { throw ValidationError("--other goes with --strategy ab:PCT") }
            if let other {
                let reference = try ModelReference(parsing: other)
                guard reference.model == self.reference.model else {
                    throw ValidationError("--other \(other) names another model than \(self.reference.model)")
                }
                _ = try DeploymentArguments.selector(reference)
            }
            guard (1...3600).contains(healthTimeout) else {
                throw ValidationError("invalid --health-timeout \(healthTimeout): expected 1 to 3600 seconds")
            }
            if let failureThreshold, !(0...100).contains(failureThreshold) {
                throw ValidationError("invalid --failure-threshold \(failureThreshold): expected 0 to 100")
            }
        }

        func run() async throws {
            try await withExitCodes {
                let selector = try DeploymentArguments.selector(reference)
                let parsed = try DeploymentArguments.strategy(strategy)
                let otherSelector = try other.map { try DeploymentArguments.selector(try ModelReference(parsing: $0)) }
                let request = CreateDeploymentRequest(
                    name: name ?? DeploymentArguments.defaultName(reference),
                    model: reference.model,
                    selectorKind: selector.kind,
                    selector: selector.value,
                    target: target,
                    strategy: parsed.name,
                    percent: parsed.percent,
                    otherSelectorKind: otherSelector?.kind,
                    otherSelector: otherSelector?.value,
                    healthCheck: healthCheck.map { HealthCheck(command: $0, timeoutSeconds: healthTimeout) },
                    failureThreshold: failureThreshold
                )
                try await withRegistry(registryOptions) { client, _ in
                    let deployment = try await client.createDeployment(request)
                    if outputOptions.isJSON { return try Terminal.printJSON(deployment) }
                    if !outputOptions.quiet { DeploymentText.show(deployment) }
                }
            }
        }
    }

    /// `modelctl deploy list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the deployments of the models you may read.")

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let list = try await client.deployments()
                    if outputOptions.isJSON { return try Terminal.printJSON(list) }
                    var table = Table("NAME", "MODEL", "TARGET", "STRATEGY", "STATUS", "VERSION", "ACTIVE")
                    for deployment in list.deployments {
                        table.add(
                            deployment.name,
                            deployment.model + deployment.selector,
                            deployment.target.isEmpty ? "(all agents)" : deployment.target,
                            DeploymentText.strategy(deployment),
                            deployment.status,
                            deployment.targetVersion.map(String.init) ?? "-",
                            "\(deployment.progress.active)/\(deployment.progress.assigned)"
                        )
                    }
                    table.print()
                }
            }
        }
    }

    /// `modelctl deploy show NAME`.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a deployment and its rollout progress.")

        @Argument(help: ArgumentHelp("The deployment.", valueName: "NAME"))
        var name: String

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let deployment = try await client.deployment(named: name)
                    if outputOptions.isJSON { return try Terminal.printJSON(deployment) }
                    DeploymentText.show(deployment)
                }
            }
        }
    }

    /// `modelctl deploy set NAME --strategy canary:PCT|ab:PCT [--other REF]`.
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a deployment's strategy: widen or narrow a canary, change A/B weights.",
            discussion: """
                A canary keeps its agents as it widens. all ↔ canary changes are allowed; an A/B split stays an \
                A/B split.
                """
        )

        @Argument(help: ArgumentHelp("The deployment.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("all, canary:PCT or ab:PCT.", valueName: "STRATEGY"))
        var strategy: String

        @Option(help: ArgumentHelp("For ab: a new B side (a reference to the same model).", valueName: "REF"))
        var other: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            _ = try DeploymentArguments.strategy(strategy)
            if let other { _ = try DeploymentArguments.selector(try ModelReference(parsing: other)) }
        }

        func run() async throws {
            try await withExitCodes {
                let parsed = try DeploymentArguments.strategy(strategy)
                let otherSelector = try other.map { try DeploymentArguments.selector(try ModelReference(parsing: $0)) }
                try await withRegistry(registryOptions) { client, _ in
                    let deployment = try await client.changeDeployment(
                        named: name,
                        DeploymentChangeRequest(
                            strategy: parsed.name,
                            percent: parsed.percent,
                            otherSelectorKind: otherSelector?.kind,
                            otherSelector: otherSelector?.value
                        )
                    )
                    if outputOptions.isJSON { return try Terminal.printJSON(deployment) }
                    if !outputOptions.quiet { DeploymentText.show(deployment) }
                }
            }
        }
    }

    /// `modelctl deploy pause NAME [--reason TEXT]`.
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a rollout: agents that started keep the new version, nobody else gets it."
        )

        @Argument(help: ArgumentHelp("The deployment.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("Why, recorded in the audit trail.", valueName: "TEXT"))
        var reason: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await DeploymentArguments.act(.pause, name, reason, registryOptions, outputOptions)
        }
    }

    /// `modelctl deploy resume NAME`.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused or halted rollout.")

        @Argument(help: ArgumentHelp("The deployment.", valueName: "NAME"))
        var name: String

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await DeploymentArguments.act(.resume, name, nil, registryOptions, outputOptions)
        }
    }

    /// `modelctl deploy abort NAME [--reason TEXT]`.
    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Abort a rollout: every agent goes back to the previous rollout's version."
        )

        @Argument(help: ArgumentHelp("The deployment.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("Why, recorded in the audit trail.", valueName: "TEXT"))
        var reason: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await DeploymentArguments.act(.abort, name, reason, registryOptions, outputOptions)
        }
    }

    /// `modelctl deploy delete NAME`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a deployment; its agents keep running what they have."
        )

        @Argument(help: ArgumentHelp("The deployment.", valueName: "NAME"))
        var name: String

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    try await client.deleteDeployment(named: name)
                    if outputOptions.isJSON { return try Terminal.printJSON(["deleted": name]) }
                    if !outputOptions.quiet { Terminal.print("deleted deployment \(name)") }
                }
            }
        }
    }
}

/// Parsing and printing shared by the deployment commands.
enum DeploymentArguments {
    /// The registry's selector for a reference; a bare NAME is refused (a deployment follows something explicit).
    static func selector(_ reference: ModelReference) throws -> VersionSelector {
        switch reference {
        case .latest(let model):
            throw ValidationError(
                "'\(model)' names no version to deploy: use \(model)@ALIAS or \(model)/STAGE (followed as they move) or \(model):VERSION"
            )
        case .version(_, let number): return .version(number)
        case .alias(_, let alias): return .alias(alias)
        case .stage(_, let stage):
            guard stage == .staging || stage == .production else {
                throw ValidationError("a deployment follows Staging or Production, not \(stage.rawValue)")
            }
            return .stage(stage)
        }
    }

    /// `all`, `canary:PCT`, `ab:PCT`.
    static func strategy(_ text: String) throws -> (name: String, percent: Int?) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("all", 1): return ("all", nil)
        case ("canary", 2), ("ab", 2):
            guard let percent = Int(parts[1]), (1...100).contains(percent) else {
                throw ValidationError("invalid percentage in --strategy \(text): expected 1 to 100")
            }
            return (parts[0], percent)
        default:
            throw ValidationError("invalid --strategy '\(text)': expected all, canary:PCT or ab:PCT")
        }
    }

    static func defaultName(_ reference: ModelReference) -> String {
        let suffix: String
        switch reference {
        case .latest: suffix = "latest"
        case .version(_, let number): suffix = String(number)
        case .alias(_, let alias): suffix = alias
        case .stage(_, let stage): suffix = stage.rawValue.lowercased()
        }
        let raw = "\(reference.model)-\(suffix)"
        let allowed = raw.unicodeScalars.map { scalar -> String in
            CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._-".unicodeScalars.contains(scalar)
                ? String(scalar) : "-"
        }.joined()
        return String(allowed.prefix(64))
    }

    static func act(
        _ action: RegistryClient.DeploymentAction,
        _ name: String,
        _ reason: String?,
        _ registryOptions: RegistryOptions,
        _ outputOptions: OutputOptions
    ) async throws {
        try await withExitCodes {
            try await withRegistry(registryOptions) { client, _ in
                let deployment = try await client.deploymentAction(action, named: name, reason: reason)
                if outputOptions.isJSON { return try Terminal.printJSON(deployment) }
                if !outputOptions.quiet { DeploymentText.show(deployment) }
            }
        }
    }
}

/// How people read a deployment.
enum DeploymentText {
    static func strategy(_ deployment: DeploymentInfo) -> String {
        switch deployment.strategy {
        case "canary": "canary \(deployment.percent) %"
        case "ab": "A/B \(deployment.percent) % / \(100 - deployment.percent) % (B \(deployment.otherSelector ?? "?"))"
        default: "all"
        }
    }

    static func show(_ deployment: DeploymentInfo) {
        let progress = deployment.progress
        var lines = [
            "deployment \(deployment.name): \(deployment.model)\(deployment.selector) → \(deployment.target.isEmpty ? "every agent" : deployment.target)",
            "  strategy   \(strategy(deployment))",
            "  status     \(deployment.status)" + (deployment.statusReason.map { " (\($0))" } ?? ""),
            "  rollout    \(deployment.rollout): version \(deployment.targetVersion.map(String.init) ?? "-")"
                + (deployment.baselineVersion.map { ", previous \($0)" } ?? ""),
            "  progress   \(progress.active) active, \(progress.inProgress) in progress, \(progress.failed) failed of \(progress.assigned) given the version (\(progress.targeted) agents targeted)",
        ]
        if let check = deployment.healthCheck {
            lines.append("  health     \(check.command) (timeout \(check.timeoutSeconds) s)")
        }
        if let threshold = deployment.failureThreshold { lines.append("  halts at   more than \(threshold) % failed") }
        for line in lines { Terminal.print(line) }
    }
}
