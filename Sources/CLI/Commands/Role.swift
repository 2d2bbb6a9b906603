import ArgumentParser
import Foundation
import Registry
import RegistryClient

extension Modelctl {
    /// `modelctl role`: role bindings of principals.
    struct Role: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant, revoke and list the roles of principals.",
            discussion: """
                Roles, each including the ones before it: reader (get, list, download), writer (+ push, update \
                metadata), promoter (+ stages, aliases, rollback), admin (+ delete models; on '*', tokens and \
                roles). A role holds on the models matching a pattern: '*', a model name, or a name with * \
                wildcards such as 'vision-*'; a principal's strongest matching role counts. Every subcommand needs a \
                token with admin on '*'.
                """,
            subcommands: [Grant.self, Revoke.self, List.self]
        )
    }
}

extension Modelctl.Role {
    /// `modelctl role grant PRINCIPAL ROLE [--models PATTERN]`.
    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a principal a role on the models matching a pattern.",
            discussion: """
                Replaces the role the principal had on that same pattern, and prints the change: \
                ci: reader → writer on vision-*. Devices hold no roles: they read the models given with \
                'modelctl token create --kind device --model M'.
                """
        )

        @Argument(help: ArgumentHelp("A user or service account.", valueName: "PRINCIPAL"))
        var principal: String

        @Argument(help: ArgumentHelp("reader, writer, promoter or admin.", valueName: "ROLE"))
        var role: String

        @Option(
            help: ArgumentHelp(
                "The models: '*', a model name, or a name with * wildcards such as 'vision-*'.",
                valueName: "PATTERN"
            )
        )
        var models: String = "*"

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            try AuthArguments.checkPrincipal(principal)
            _ = try RoleText.parseRole(role)
            try RoleText.checkPattern(models)
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let change = try await client.grantRole(
                        principal: principal,
                        role: try RoleText.parseRole(role),
                        pattern: models
                    )
                    if outputOptions.isJSON { return try Terminal.printJSON(change) }
                    if !outputOptions.quiet { Terminal.print(RoleText.describe(change)) }
                }
            }
        }
    }

    /// `modelctl role revoke PRINCIPAL [--models PATTERN]`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a principal's role on a pattern.",
            discussion: """
                PATTERN must be the one the role was granted on ('modelctl role list' shows them). The registry \
                refuses to remove the last admin role on '*' of a principal with an active token (exit code 4).
                """
        )

        @Argument(help: ArgumentHelp("The principal.", valueName: "PRINCIPAL"))
        var principal: String

        @Option(help: ArgumentHelp("The pattern the role was granted on.", valueName: "PATTERN"))
        var models: String = "*"

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            try AuthArguments.checkPrincipal(principal)
            try RoleText.checkPattern(models)
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let change = try await client.revokeRole(principal: principal, pattern: models)
                    if outputOptions.isJSON { return try Terminal.printJSON(change) }
                    if !outputOptions.quiet { Terminal.print(RoleText.describe(change)) }
                }
            }
        }
    }

    /// `modelctl role list [PRINCIPAL]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List principals with their kind, roles (or a device's models) and active tokens."
        )

        @Argument(help: ArgumentHelp("Only this principal.", valueName: "PRINCIPAL"))
        var principal: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            if let principal { try AuthArguments.checkPrincipal(principal) }
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let principals: [RemotePrincipal]
                    if let principal {
                        let one = try await client.principal(named: principal)
                        if outputOptions.isJSON { return try Terminal.printJSON(one) }
                        principals = [one]
                    } else {
                        let list = try await client.listPrincipals()
                        if outputOptions.isJSON { return try Terminal.printJSON(list) }
                        principals = list.principals
                    }
                    guard !outputOptions.quiet else { return }
                    var table = Table("NAME", "KIND", "ROLES", "TOKENS")
                    for principal in principals {
                        let access =
                            principal.kind == .device
                            ? "models: " + ((principal.models ?? []).joined(separator: ", ")).orDash
                            : RoleText.describe(principal.roles)
                        table.add(principal.name, principal.kind.rawValue, access, String(principal.activeTokens))
                    }
                    table.print()
                }
            }
        }
    }
}

/// Roles and role changes in arguments and text output.
enum RoleText {
    /// A role name; a usage error naming the value and the roles otherwise.
    static func parseRole(_ text: String) throws -> RemoteRole {
        guard let role = RemoteRole(rawValue: text) else {
            throw ValidationError(
                "invalid role '\(Validation.printable(text))': expected one of \(RemoteRole.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return role
    }

    /// A model pattern (`*`, `vision-*`, `resnet50`); a usage error naming the value otherwise.
    static func checkPattern(_ text: String) throws {
        do {
            _ = try ModelPattern(parsing: text)
        } catch {
            throw ValidationError(
                error.message.replacingOccurrences(of: "invalid model pattern", with: "invalid --models")
            )
        }
    }

    /// `writer on vision-*, reader on *`: strongest role first, then by pattern; `none` without bindings.
    static func describe(_ bindings: [RemoteRoleBinding]) -> String {
        guard !bindings.isEmpty else { return "none" }
        return bindings.sorted { $0.role != $1.role ? $0.role > $1.role : $0.pattern < $1.pattern }
            .map { "\($0.role.rawValue) on \($0.pattern)" }
            .joined(separator: ", ")
    }

    /// `ci: reader → writer on vision-*`, `ci: writer → none on vision-*`, `ci: writer on * (unchanged)`.
    static func describe(_ change: RemoteRoleChange) -> String {
        if let from = change.from, from == change.to {
            return "\(change.principal): \(from.rawValue) on \(change.pattern) (unchanged)"
        }
        let from = change.from?.rawValue ?? "none"
        let to = change.to?.rawValue ?? "none"
        return "\(change.principal): \(from) → \(to) on \(change.pattern)"
    }
}
