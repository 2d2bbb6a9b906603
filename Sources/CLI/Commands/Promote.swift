import ArgumentParser
import Foundation
import RegistryClient

extension Modelctl {
    /// `modelctl promote REF (--stage STAGE [--archive-existing] | --alias ALIAS)`.
    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a version into a stage, or point an alias at it.",
            discussion: """
                Sends the model's revision as If-Match: if somebody else changed the model's stages or aliases \
                since it was read, nothing changes and the command exits with code 4. Prints what changed, from \
                what to what. Undo with 'modelctl rollback'.
                """
        )

        @Argument(
            help: ArgumentHelp("The version to promote.", valueName: "REF"),
            transform: ModelReference.init(parsing:)
        )
        var reference: ModelReference

        @Option(help: ArgumentHelp("The stage: None, Staging, Production, Archived.", valueName: "STAGE"))
        var stage: String?

        @Flag(help: "Move the stage's other versions to Archived in the same change.")
        var archiveExisting = false

        @Option(help: ArgumentHelp("The alias to point at the version.", valueName: "ALIAS"))
        var alias: String?

        @Option(help: ArgumentHelp("A comment recorded in the audit trail.", valueName: "TEXT"))
        var comment: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            guard (stage == nil) != (alias == nil) else {
                throw ValidationError("give exactly one of --stage STAGE or --alias ALIAS")
            }
            if archiveExisting, stage == nil {
                throw ValidationError("--archive-existing goes with --stage")
            }
            if let stage { _ = try ModelReference(parsing: "m/\(stage)") }
            if let alias { _ = try ModelReference(parsing: "m@\(alias)") }
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let version = try await client.version(reference)
                    let model = try await client.model(named: version.model)
                    if let stage {
                        let target =
                            RemoteStage.allCases.first { $0.rawValue.lowercased() == stage.lowercased() } ?? .none
                        let change = try await conflictExplained {
                            try await client.setStage(
                                model: version.model,
                                version: version.version,
                                stage: target,
                                archiveExisting: archiveExisting,
                                comment: comment,
                                ifMatch: model.revision
                            )
                        }
                        if outputOptions.isJSON { return try Terminal.printJSON(change) }
                        if !outputOptions.quiet { Terminal.print(StageChangeText.describe(change)) }
                    } else if let alias {
                        let change = try await conflictExplained {
                            try await client.setAlias(
                                model: version.model,
                                alias: alias,
                                version: version.version,
                                comment: comment,
                                ifMatch: model.revision
                            )
                        }
                        if outputOptions.isJSON { return try Terminal.printJSON(change) }
                        if !outputOptions.quiet { Terminal.print(StageChangeText.describe(change)) }
                    }
                }
            }
        }
    }

    /// `modelctl rollback NAME (--stage STAGE | --alias ALIAS)`.
    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Undo the newest change of a stage or alias that has not been undone.",
            discussion: """
                Repeated rollbacks walk further back. The registry refuses when the state the change produced is \
                no longer in place, and when there is nothing left to undo (exit code 4). Sends If-Match like \
                promote does.
                """
        )

        @Argument(help: ArgumentHelp("The model.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("The stage to roll back.", valueName: "STAGE"))
        var stage: String?

        @Option(help: ArgumentHelp("The alias to roll back.", valueName: "ALIAS"))
        var alias: String?

        @Option(help: ArgumentHelp("A comment recorded in the audit trail.", valueName: "TEXT"))
        var comment: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            guard (stage == nil) != (alias == nil) else {
                throw ValidationError("give exactly one of --stage STAGE or --alias ALIAS")
            }
            try List.checkName(name)
            if let stage { _ = try ModelReference(parsing: "\(name)/\(stage)") }
            if let alias { _ = try ModelReference(parsing: "\(name)@\(alias)") }
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let model: RemoteModel
                    do {
                        model = try await client.model(named: name)
                    } catch let error as RegistryClientError where error.code == .notFound {
                        throw CommandFailure("model '\(name)' does not exist", exitCode: ExitCodes.notFound)
                    }
                    if let stage {
                        let target =
                            RemoteStage.allCases.first { $0.rawValue.lowercased() == stage.lowercased() } ?? .none
                        let change = try await conflictExplained {
                            try await client.rollbackStage(
                                model: name,
                                stage: target,
                                comment: comment,
                                ifMatch: model.revision
                            )
                        }
                        if outputOptions.isJSON { return try Terminal.printJSON(change) }
                        if !outputOptions.quiet { Terminal.print("rolled back: " + StageChangeText.describe(change)) }
                    } else if let alias {
                        let change = try await conflictExplained {
                            try await client.rollbackAlias(
                                model: name,
                                alias: alias,
                                comment: comment,
                                ifMatch: model.revision
                            )
                        }
                        if outputOptions.isJSON { return try Terminal.printJSON(change) }
                        if !outputOptions.quiet { Terminal.print("rolled back: " + StageChangeText.describe(change)) }
                    }
                }
            }
        }
    }
}

/// Turns a stale `If-Match` into a message that says what to do.
func conflictExplained<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as RegistryClientError where error.code == .preconditionFailed {
        throw CommandFailure(
            "the model changed while this command ran (now at revision \(error.currentRevision.map(String.init) ?? "?")); nothing was changed: look at 'modelctl history' and try again",
            exitCode: ExitCodes.conflict
        )
    }
}

/// One-line descriptions of stage and alias changes: `resnet50 Production: 2 → 3 (archived 2)`.
enum StageChangeText {
    static func describe(_ change: RemoteStageChange) -> String {
        func list(_ versions: [Int]) -> String {
            versions.isEmpty ? "none" : versions.map(String.init).joined(separator: ",")
        }
        var text = "\(change.model) \(change.stage.rawValue): \(list(change.from)) → \(list(change.to))"
        let others = change.moves.filter { $0.to != change.stage && $0.from == change.stage }
        if !others.isEmpty {
            text += " (" + others.map { "\($0.version) → \($0.to.rawValue)" }.joined(separator: ", ") + ")"
        }
        return text
    }

    static func describe(_ change: RemoteAliasChange) -> String {
        "\(change.model)@\(change.alias): \(change.from.map(String.init) ?? "none") → \(change.to.map(String.init) ?? "none")"
    }
}
