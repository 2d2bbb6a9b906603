import ArgumentParser
import Foundation

extension Modelctl {
    /// `modelctl login URL [--token TOKEN]`: stores the registry and token in the user's config file.
    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a registry URL and API token for later commands.",
            discussion: """
                Writes $XDG_CONFIG_HOME/modelctl/config.toml (or ~/.config/modelctl/config.toml) with mode 0600. \
                Without --token, the token is read from the first line of standard input, so it does not end up in \
                the shell history: echo "$TOKEN" | modelctl login https://models.example.com. Flags and the \
                MODELCTL_REGISTRY / MODELCTL_TOKEN variables take precedence over the stored login.
                """
        )

        @Argument(help: ArgumentHelp("The registry's URL.", valueName: "URL"))
        var url: String

        @Option(help: ArgumentHelp("The API token; read from standard input when omitted.", valueName: "TOKEN"))
        var token: String?

        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            _ = try RegistryOptions.parseURL(url, origin: "the URL argument")
            if let token, token.isEmpty || token.contains(where: \.isWhitespace) {
                throw ValidationError("invalid token: it must be non-empty and contain no whitespace")
            }
        }

        func run() async throws {
            let registry = try RegistryOptions.parseURL(url, origin: "the URL argument")
            var token = self.token
            if token == nil, !Terminal.isTerminal(.standardInput) {
                token = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces)
                if token?.isEmpty == true { token = nil }
            }
            let location = try UserConfig.location(environment: ProcessInfo.processInfo.environment)
            try UserConfig(registry: registry.absoluteString, token: token).save(to: location)
            if outputOptions.isJSON {
                try Terminal.printJSON(
                    LoginOutput(registry: registry.absoluteString, config: location.path, token: token != nil)
                )
            } else if !outputOptions.quiet {
                Terminal.print("logged in to \(registry.absoluteString)\(token == nil ? " (no token)" : "")")
                Terminal.print("stored in \(location.path) (mode 0600)")
            }
        }
    }

    struct LoginOutput: Encodable {
        var registry: String
        var config: String
        var token: Bool
    }
}
