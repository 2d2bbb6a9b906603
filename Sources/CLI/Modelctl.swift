import ArgumentParser

/// The `modelctl` command: argument parsing, terminal output and exit codes only; the work is in the libraries.
@main
struct Modelctl: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "modelctl",
        abstract: "Model registry, packager and deployment agent.",
        discussion: """
            modelctl keeps every version of your models with their metadata, stages, aliases and audit trail, \
            and serves them over HTTP. Start a registry with 'modelctl serve'. Package a model into a signed, \
            reproducible bundle with 'modelctl package' and check one anywhere with 'modelctl verify'.
            """,
        version: version,
        subcommands: [
            Serve.self, Package.self, Verify.self, Inspect.self, Keys.self, Login.self, List.self, Show.self,
            History.self, Promote.self, Rollback.self, Push.self, Pull.self, WhoAmI.self, Token.self, Role.self,
            Deploy.self, Fleet.self, Agent.self,
        ]
    )
}
