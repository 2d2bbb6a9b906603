import ArgumentParser
import Foundation
import RegistryClient

extension Modelctl {
    /// `modelctl whoami`: who the token acts for and what it may do.
    struct WhoAmI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "whoami",
            abstract:
                "Show who the token acts for: principal, kind, token id and expiry, roles (or a device's models).",
            discussion: """
                Any valid token may ask. Exits with code 7 when the registry refuses the token (missing, unknown, \
                expired or revoked), so 'modelctl whoami -q' checks a token. Says 'authentication is off' when the \
                registry runs with --auth none.
                """
        )

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, resolved in
                    let identity = try await client.whoami()
                    if outputOptions.isJSON { return try Terminal.printJSON(identity) }
                    guard !outputOptions.quiet else { return }
                    for line in Self.lines(identity, registry: resolved.url.absoluteString) { Terminal.print(line) }
                }
            }
        }

        /// The text output: one `KEY  VALUE` row per fact.
        static func lines(_ identity: RemoteWhoAmI, registry: String, now: Date = Date()) -> [String] {
            if identity.authenticationIsOff {
                return [
                    "authentication is off: \(registry) runs with --auth none and treats every caller as an administrator"
                ]
            }
            var table = Table("", "")
            table.add("principal", identity.principal)
            table.add("kind", identity.kind?.rawValue ?? "-")
            table.add("id", identity.id)
            if let token = identity.token {
                table.add("token", "\(token.id), \(TokenText.expiry(token.expiresAt, now: now))")
            }
            if identity.kind == .device {
                table.add("models", (identity.models ?? []).joined(separator: ", ").orDash)
            } else {
                table.add("roles", RoleText.describe(identity.roles))
            }
            table.add("registry", registry)
            return Array(table.lines().dropFirst())
        }
    }
}
