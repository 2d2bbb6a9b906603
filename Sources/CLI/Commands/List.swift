import ArgumentParser
import Foundation
import Registry
import RegistryClient

extension Modelctl {
    /// `modelctl list [NAME]`: models, or the versions of one model.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List models, or the versions of one model.",
            discussion: """
                Without NAME: every model with its latest version and aliases. With NAME: its versions, newest \
                first, with label, status, stage, aliases, format, size and age.
                """
        )

        @Argument(help: ArgumentHelp("A model name.", valueName: "NAME"))
        var name: String?

        @Option(help: ArgumentHelp("At most this many rows (1-1000).", valueName: "N"))
        var limit: Int = 100

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            guard (1...1000).contains(limit) else {
                throw ValidationError("invalid limit \(limit): expected 1 to 1000")
            }
            if let name { try Self.checkName(name) }
        }

        /// A model name (not a reference): a usage error naming the value otherwise.
        static func checkName(_ name: String) throws {
            do {
                try Validation.modelName(name)
            } catch {
                throw ValidationError(error.message)
            }
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    if let name {
                        let page: RemoteVersionPage
                        do {
                            page = try await client.listVersions(model: name, limit: limit)
                        } catch let error as RegistryClientError where error.code == .notFound {
                            throw CommandFailure("model '\(name)' does not exist", exitCode: ExitCodes.notFound)
                        }
                        if outputOptions.isJSON { return try Terminal.printJSON(page) }
                        guard !outputOptions.quiet else { return }
                        var table = Table("VERSION", "LABEL", "STATUS", "STAGE", "ALIASES", "FORMAT", "SIZE", "CREATED")
                        for version in page.versions {
                            table.add(
                                String(version.version),
                                version.label ?? "-",
                                version.status.rawValue,
                                version.stage.rawValue,
                                version.aliases.sorted().joined(separator: ",").orDash,
                                version.format ?? "-",
                                Units.bytes(version.files.reduce(0) { $0 + $1.size }),
                                Units.relative(version.createdAt)
                            )
                        }
                        table.print()
                        if page.nextPageToken != nil { Terminal.note("(more versions: raise --limit)") }
                    } else {
                        let page = try await client.listModels(limit: limit)
                        if outputOptions.isJSON { return try Terminal.printJSON(page) }
                        guard !outputOptions.quiet else { return }
                        var table = Table("NAME", "LATEST", "ALIASES", "UPDATED")
                        for model in page.models {
                            let aliases = model.aliases.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                            table.add(
                                model.name,
                                model.latestVersion.map(String.init) ?? "-",
                                aliases.joined(separator: ",").orDash,
                                Units.relative(model.updatedAt)
                            )
                        }
                        table.print()
                        if page.nextPageToken != nil { Terminal.note("(more models: raise --limit)") }
                    }
                }
            }
        }
    }

    /// `modelctl show REF`: one version in full.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one version: status, stage, aliases, files, metrics, parameters, tags, lineage.",
            discussion: "REF is NAME, NAME:VERSION, NAME@ALIAS, NAME/STAGE or a models:/ URI."
        )

        @Argument(
            help: ArgumentHelp("The version to show.", valueName: "REF"),
            transform: ModelReference.init(parsing:)
        )
        var reference: ModelReference

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let version = try await client.version(reference)
                    if outputOptions.isJSON { return try Terminal.printJSON(version) }
                    guard !outputOptions.quiet else { return }
                    Terminal.print("\(version.model):\(version.version)\(version.label.map { " (\($0))" } ?? "")")
                    var table = Table("", "")
                    table.add("status", version.status.rawValue + (version.failureReason.map { ": \($0)" } ?? ""))
                    table.add("stage", version.stage.rawValue)
                    table.add("aliases", version.aliases.sorted().joined(separator: ", ").orDash)
                    table.add("format", version.format ?? "-")
                    table.add("created", "\(Units.relative(version.createdAt)) by \(version.createdBy)")
                    if !version.description.isEmpty { table.add("description", version.description) }
                    if let run = version.lineage.runID { table.add("run", run) }
                    for (key, value) in version.metrics.sorted(by: { $0.key < $1.key }) {
                        table.add("metric", "\(key) = \(value)")
                    }
                    for (key, value) in version.params.sorted(by: { $0.key < $1.key }) {
                        table.add("param", "\(key) = \(value)")
                    }
                    for (key, value) in version.tags.sorted(by: { $0.key < $1.key }) {
                        table.add("tag", "\(key) = \(value)")
                    }
                    for line in table.lines().dropFirst() { Terminal.print("  " + line) }
                    var files = Table("  PATH", "ROLE", "SIZE", "DIGEST")
                    for file in version.files {
                        files.add(
                            "  " + file.path,
                            file.role ?? "-",
                            Units.bytes(file.size),
                            String(file.digest.prefix(19)) + "…"
                        )
                    }
                    files.print()
                }
            }
        }
    }

    /// `modelctl history NAME`: the audit trail, newest first.
    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model's audit trail, newest first: who changed what, when, from what to what."
        )

        @Argument(help: ArgumentHelp("The model.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("At most this many events (1-1000).", valueName: "N"))
        var limit: Int = 50

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            guard (1...1000).contains(limit) else {
                throw ValidationError("invalid limit \(limit): expected 1 to 1000")
            }
            try List.checkName(name)
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let page: AuditPage
                    do {
                        page = try await client.history(model: name, limit: limit)
                    } catch let error as RegistryClientError where error.code == .notFound {
                        throw CommandFailure("model '\(name)' does not exist", exitCode: ExitCodes.notFound)
                    }
                    if outputOptions.isJSON { return try Terminal.printJSON(page) }
                    guard !outputOptions.quiet else { return }
                    var table = Table("ID", "WHEN", "ACTOR", "EVENT", "VERSION", "CHANGE", "COMMENT")
                    for event in page.events {
                        let change = [
                            event.subject, [event.from, event.to].compactMap { $0 }.joined(separator: " → "),
                        ]
                        .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
                        table.add(
                            String(event.id),
                            Units.relative(event.at),
                            event.actor,
                            event.kind,
                            event.version.map(String.init) ?? "-",
                            change.orDash,
                            (event.comment ?? "") + (event.revertsEventID.map { " (undoes \($0))" } ?? "")
                        )
                    }
                    table.print()
                }
            }
        }
    }
}

extension String {
    /// `-` for an empty string, for table cells.
    var orDash: String { isEmpty ? "-" : self }
}
